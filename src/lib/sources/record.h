/* SPDX-License-Identifier: MIT */
/*
 * The recorder (internal, record.c): a tap (tap.h) that writes what it
 * sees as vmptrace text, with the estimator's inputs as sample comment
 * lines (samples.h). vmp_source_record() puts one on a source;
 * vmp_estimate_run() (estimate.c) on the estimator it runs offline.
 */
#ifndef VMP_RECORD_H
#define VMP_RECORD_H

#include "vmpressure.h"
#include "sources/tap.h"

struct vmp_recorder;

/* Nothing is written until vmp__recorder_start(). */
int vmp__recorder_new(struct vmp_recorder **out, vmp_record_fn fn, void *arg);
const struct vmp_tap *vmp__recorder_tap(struct vmp_recorder *rec);
/* flags: VMP_TAP_F_* of what is recorded; t0_ns is subtracted from the
 * calls' times. Writes the root's `group` record. */
void vmp__recorder_start(struct vmp_recorder *rec, unsigned flags, uint64_t t0_ns);
/* A `listen` record (and the `group` records it needs). */
void vmp__recorder_listen(struct vmp_recorder *rec, unsigned id, vmp_group *g, vmp_level level,
			 vmp_mode mode);
/* A `# sample-gone` line. */
void vmp__recorder_gone(struct vmp_recorder *rec, const char *path);
void vmp__recorder_expect(struct vmp_recorder *rec, unsigned id, uint64_t count);
/* Nothing more is written; the first error, or 0. */
int vmp__recorder_end(struct vmp_recorder *rec);
int vmp__recorder_err(const struct vmp_recorder *rec);
/* vmp__record_free() (source.h) frees it. */

#endif
