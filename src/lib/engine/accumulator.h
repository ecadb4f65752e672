/* SPDX-License-Identifier: MIT */
/*
 * The window accumulator: the (scanned, reclaimed) pair that vmpressure()
 * adds to on every reclaim pass, from any number of threads at once.
 *
 * The kernel guards the pair with a spinlock. We want the hot path to cost
 * one atomic add, and the pair to stay consistent: an evaluation
 * must never see a call's scanned without its reclaimed. So the common
 * case packs both into one 64-bit word, scanned in the high half and
 * reclaimed in the low half, and a single fetch-add moves both at once.
 *
 * Rare cases take a short spinlock and use two full 64-bit counters
 * (`wide`), which keep the kernel's modular unsigned-long arithmetic:
 *  - a call with scanned or reclaimed >= 2^16 (FAST_MAX) goes there
 *    directly;
 *  - a thread whose add leaves either packed half at >= 2^31 (FOLD) folds
 *    the packed word into `wide`. Each packed add is < 2^16, so a half can
 *    only carry over if 2^15 threads add between the crossing and the fold:
 *    far more threads than any process runs.
 * The total is always wide + packed, modulo 2^64, exactly as the kernel's
 * counters would hold it.
 */
#ifndef VMP_ACCUMULATOR_H
#define VMP_ACCUMULATOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vmp_acc {
	_Alignas(64) _Atomic uint64_t packed;
	_Atomic uint64_t wide_s; /* written under lock; read racily for the window check */
	_Atomic uint64_t wide_r;
	atomic_flag lock;
};

#define VMP_ACC_INIT {0, 0, 0, ATOMIC_FLAG_INIT}

#define VMP_ACC_FAST_MAX (UINT64_C(1) << 16)
#define VMP_ACC_FOLD (UINT64_C(1) << 31)
#define VMP_ACC_LOW32 UINT64_C(0xffffffff)

/* The rare cases, out of line: wide values and folding. */
uint64_t vmp__acc_add_slow(struct vmp_acc *a, uint64_t s, uint64_t r);

/* Add a sample; returns the scanned total right after the add (the kernel's
 * post-add snapshot, R-6). Inline: this is the whole hot path. */
static inline uint64_t vmp__acc_add(struct vmp_acc *a, uint64_t s, uint64_t r)
{
	if (__builtin_expect((s | r) < VMP_ACC_FAST_MAX, 1)) {
		uint64_t d = (s << 32) | r;
		uint64_t post = atomic_fetch_add_explicit(&a->packed, d, memory_order_relaxed) + d;
		if (__builtin_expect((post >> 32) < VMP_ACC_FOLD && (post & VMP_ACC_LOW32) < VMP_ACC_FOLD, 1))
			return (post >> 32) + atomic_load_explicit(&a->wide_s, memory_order_relaxed);
		s = r = 0; /* already added: only fold */
	}
	return vmp__acc_add_slow(a, s, r);
}

/* Take the whole pair and zero it, unless the scanned total is 0:
 * then nothing is taken and false is returned. ul_mask is the emulated
 * unsigned long (all ones for 64-bit). */
bool vmp__acc_drain(struct vmp_acc *a, uint64_t ul_mask, uint64_t *s,
		   uint64_t *r);

#endif
