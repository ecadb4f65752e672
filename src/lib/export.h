/* SPDX-License-Identifier: MIT */
#ifndef VMP_EXPORT_H
#define VMP_EXPORT_H
/* Marks the public API; everything else is hidden (-fvisibility=hidden),
 * and libvmpressure.map lists the same names for the shared library. */
#define VMP_EXPORT __attribute__((visibility("default")))
#endif
