/* SPDX-License-Identifier: MIT */
/*
 * Who may subscribe to a cgroup (docs/protocol.md): a client whose peer
 * credentials could read the cgroup's directory. The daemon runs as root
 * and could read anything, so it asks the question on the client's behalf,
 * with the classic Unix rule: the owner class (user, else group, else
 * other) decides, one class only, and uid 0 always may.
 *
 * "Could read" is what the kernel's path lookup would let that process do:
 * search (x) permission on every directory from the cgroup root down to the
 * cgroup's parent, and read (r) permission on the cgroup itself. The walk
 * stops at the first directory the peer may not search, and the answer
 * there is EACCES whether or not anything exists below it, as the kernel's
 * own lookup answers: otherwise a 0700 directory would tell anybody which
 * names it holds. A missing component is ENOENT only when the peer could
 * have found that out itself. Symbolic links below the root are not
 * followed (a cgroup file system has none; in a fixture tree they would let
 * a name point outside the root).
 *
 * Two steps, so that the rule is tested without creating users and the
 * directories are stat()ed once for any number of peers: vmpd_chain_load()
 * takes the owner and mode of each directory on the way (I/O), and
 * vmpd_chain_check() / vmpd_chain_visible() decide for one set of
 * credentials (pure). The control socket's subscriptions (client.c), the
 * redaction of `origin` (subscriptions.c) and the memory-pressure endpoints
 * (mpwatch.c) all use these.
 *
 * Why the directory: its mode is what the cgroup's owner (systemd, a
 * container runtime, a delegated user) chose as visibility of that cgroup;
 * pressure events leak how hard a workload is pushing its memory.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* The mode bits of the class that decides for these credentials. */
static unsigned class_bits(mode_t mode, uid_t owner, gid_t group, const struct vmpd_cred *cr)
{
	if (owner == cr->uid)
		return (mode >> 6) & 7;
	bool member = group == cr->gid;
	for (size_t i = 0; i < cr->ngroups && !member; i++)
		member = cr->groups[i] == group;
	if (member)
		return (mode >> 3) & 7;
	return mode & 7;
}

static bool may(const struct vmpd_perm *p, const struct vmpd_cred *cr, unsigned want)
{
	if (cr->uid == 0)
		return true;
	return (class_bits(p->mode, p->uid, p->gid, cr) & want) == want;
}

bool vmpd_may_read(const struct stat *st, uid_t uid, gid_t gid, const gid_t *groups,
		   size_t ngroups)
{
	struct vmpd_cred cr = {uid, gid, groups, ngroups};
	struct vmpd_perm p = {st->st_mode, st->st_uid, st->st_gid};
	return may(&p, &cr, 4);
}

int vmpd_chain_load(struct vmpd_chain *ch, const char *root, const char *cgroup)
{
	ch->n = 0;
	ch->ncomp = 0;
	ch->err = 0;
	/* Where each component ends in `cgroup` (the root: 0). */
	const char *p = cgroup;
	while (*p == '/')
		p++;
	ch->end[0] = 0;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (ch->ncomp + 1 >= VMPD_CHAIN_MAX) {
			ch->err = -ENAMETOOLONG;
			return ch->err;
		}
		ch->ncomp++;
		ch->end[ch->ncomp] = (size_t)(p + len - cgroup);
		p += len;
		while (*p == '/')
			p++;
	}
	struct stat st;
	if (stat(root, &st) != 0) {
		ch->err = -errno;
		return ch->err;
	}
	if (!S_ISDIR(st.st_mode)) {
		ch->err = -ENOTDIR;
		return ch->err;
	}
	ch->perm[0] = (struct vmpd_perm){st.st_mode, st.st_uid, st.st_gid};
	ch->n = 1;
	char path[VMPD_LINE_MAX + 4096];
	int len = snprintf(path, sizeof(path), "%s/", root);
	if (len < 0 || (size_t)len >= sizeof(path)) {
		ch->err = -ENAMETOOLONG;
		return ch->err;
	}
	for (size_t i = 1; i <= ch->ncomp; i++) {
		size_t cl = ch->end[i];
		if ((size_t)len + cl >= sizeof(path)) {
			ch->err = -ENAMETOOLONG;
			return ch->err;
		}
		memcpy(path + len, cgroup, cl);
		path[len + cl] = 0;
		if (lstat(path, &st) != 0) {
			ch->err = -errno;
			return ch->err;
		}
		if (!S_ISDIR(st.st_mode)) {
			ch->err = -ENOTDIR;
			return ch->err;
		}
		ch->perm[i] = (struct vmpd_perm){st.st_mode, st.st_uid, st.st_gid};
		ch->n = i + 1;
	}
	return 0;
}

int vmpd_chain_check(const struct vmpd_chain *ch, const struct vmpd_cred *cr)
{
	/* Every directory loaded before the target, or before the one that
	 * failed, is on the way: search permission on each. */
	size_t ways = ch->err ? ch->n : ch->n - 1;
	for (size_t i = 0; i < ways; i++)
		if (!may(&ch->perm[i], cr, 1))
			return -EACCES;
	if (ch->err)
		return ch->err == -ENOTDIR ? -ENOENT : ch->err;
	return may(&ch->perm[ch->n - 1], cr, 4) ? 0 : -EACCES;
}

size_t vmpd_chain_visible(const struct vmpd_chain *ch, size_t from, const struct vmpd_cred *cr)
{
	size_t best = from;
	if (from >= ch->n)
		return ch->end[from <= ch->ncomp ? from : ch->ncomp];
	for (size_t j = 0; j < from; j++)
		if (!may(&ch->perm[j], cr, 1))
			return ch->end[from];
	for (size_t k = from; k < ch->n; k++) {
		if (!may(&ch->perm[k], cr, 4))
			break;
		best = k;
		if (!may(&ch->perm[k], cr, 1))
			break;
	}
	return ch->end[best];
}

int vmpd_cgroup_access(const char *root, const char *cgroup, const struct vmpd_cred *cr)
{
	struct vmpd_chain ch;
	vmpd_chain_load(&ch, root, cgroup);
	return vmpd_chain_check(&ch, cr);
}
