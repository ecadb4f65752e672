/* SPDX-License-Identifier: MIT */
/* The runner's internals that tests reach (through the static library). */
#ifndef VMP_ACTIONS_EXEC_H
#define VMP_ACTIONS_EXEC_H

#include "vmpressure.h"

/* Learn of exits by polling waitid() from now on, as where pidfd_open()
 * does not exist (kernels before 5.3): so that path is tested too. */
void vmp__exec_no_pidfd(vmp_exec *x);

#endif
