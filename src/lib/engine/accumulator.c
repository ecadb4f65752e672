/* SPDX-License-Identifier: MIT */
/* Lock-free window accumulator; see accumulator.h for the theory. */
#include "engine/accumulator.h"

#define LOW32 VMP_ACC_LOW32

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

static void acc_lock(struct vmp_acc *a)
{
	while (atomic_flag_test_and_set_explicit(&a->lock, memory_order_acquire))
		cpu_relax();
}

static void acc_unlock(struct vmp_acc *a)
{
	atomic_flag_clear_explicit(&a->lock, memory_order_release);
}

/* Move the packed word into the wide counters. Caller holds the lock. */
static void fold_locked(struct vmp_acc *a, uint64_t extra_s, uint64_t extra_r)
{
	uint64_t x = atomic_exchange_explicit(&a->packed, 0, memory_order_acq_rel);
	uint64_t ws = atomic_load_explicit(&a->wide_s, memory_order_relaxed);
	uint64_t wr = atomic_load_explicit(&a->wide_r, memory_order_relaxed);
	atomic_store_explicit(&a->wide_s, ws + (x >> 32) + extra_s, memory_order_relaxed);
	atomic_store_explicit(&a->wide_r, wr + (x & LOW32) + extra_r, memory_order_relaxed);
}

uint64_t vmp__acc_add_slow(struct vmp_acc *a, uint64_t s, uint64_t r)
{
	acc_lock(a);
	fold_locked(a, s, r);
	uint64_t total = atomic_load_explicit(&a->wide_s, memory_order_relaxed) +
			 (atomic_load_explicit(&a->packed, memory_order_relaxed) >> 32);
	acc_unlock(a);
	return total;
}

bool vmp__acc_drain(struct vmp_acc *a, uint64_t ul_mask, uint64_t *s, uint64_t *r)
{
	acc_lock(a);
	fold_locked(a, 0, 0);
	uint64_t ts = atomic_load_explicit(&a->wide_s, memory_order_relaxed);
	uint64_t tr = atomic_load_explicit(&a->wide_r, memory_order_relaxed);
	bool taken = (ts & ul_mask) != 0;
	if (taken) {
		atomic_store_explicit(&a->wide_s, 0, memory_order_relaxed);
		atomic_store_explicit(&a->wide_r, 0, memory_order_relaxed);
	}
	acc_unlock(a);
	if (taken) {
		*s = ts & ul_mask;
		*r = tr & ul_mask;
	}
	return taken;
}
