/* SPDX-License-Identifier: MIT */
/*
 * Who may subscribe to a cgroup (docs/protocol.md): a client whose peer
 * credentials could read the cgroup's directory. The daemon runs as root
 * and could read anything, so it asks the question on the client's behalf,
 * with the classic Unix rule: the owner class (user, else group, else
 * other) decides, one class only, and uid 0 always may. A pure function,
 * so that the rule itself is tested without creating users.
 *
 * Why the directory: its mode is what the cgroup's owner (systemd, a
 * container runtime, a delegated user) chose as visibility of that cgroup;
 * pressure events leak how hard a workload is pushing its memory.
 */
#include "daemon.h"

bool vmpd_may_read(const struct stat *st, uid_t uid, gid_t gid, const gid_t *groups,
		   size_t ngroups)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return st->st_mode & S_IRUSR;
	bool member = st->st_gid == gid;
	for (size_t i = 0; i < ngroups && !member; i++)
		member = groups[i] == st->st_gid;
	if (member)
		return st->st_mode & S_IRGRP;
	return st->st_mode & S_IROTH;
}
