/* SPDX-License-Identifier: MIT */
/*
 * A recorded cgroup v2 run (v2study.h) as a `vmpressure record` file would
 * hold it: its groups and listeners, every 100 ms sample as sample lines
 * (docs/vmptrace.md "Samples"), and, with truth, the kernel's counts as
 * `expect` records, so that `vmpressure estimate --check` compares an
 * estimate with the kernel. No engine calls: estimate needs none.
 */
#ifndef VMP_V2RECORD_H
#define VMP_V2RECORD_H

#include "v2study.h"

/* fn gets the text in pieces; -EINVAL if a sample cannot be written. */
int v2s_recording(const struct v2s_run *run, bool truth, vmp_record_fn fn, void *arg);

#endif
