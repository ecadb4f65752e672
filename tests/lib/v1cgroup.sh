# Sourced by the live cgroup v1 tests: TAP helpers (tap.sh), and one memory cgroup
# of their own below the cgroup the test runs in, removed however the test
# ends. Set V1_NAME (the cgroup's name prefix) and V1_SUBDIRS (children the
# test may create, removed first) before sourcing. Skips (TAP "1..0 # SKIP")
# when not root, without a v1 memory controller, or when a cgroup cannot be
# created. Defines: parent, CG (its path), CGREL (relative to the hierarchy's
# root), T (a temporary directory), pids (killed at the end), v1_limit, and
# ok, no, check, wait_for.
. "$(dirname "$0")/../lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root to create memory cgroups"
mnt=/sys/fs/cgroup/memory
[ -f "$mnt/cgroup.event_control" ] || skip "no cgroup v1 memory controller at $mnt"
rel=$(sed -n 's/^[0-9]*:memory:\(.*\)$/\1/p' /proc/self/cgroup | head -n 1)
[ -n "$rel" ] || skip "no memory line in /proc/self/cgroup"
[ "$rel" = / ] && rel=
parent=$mnt$rel
name=$V1_NAME-$$
CG=$parent/$name
CGREL=${rel#/}
CGREL=${CGREL:+$CGREL/}$name
mkdir "$CG" 2>/dev/null || skip "cannot create a memory cgroup below $parent"
T=$(mktemp -d "${TMPDIR:-/var/tmp}/$V1_NAME.XXXXXX") || { rmdir "$CG"; skip "no temporary directory"; }

pids=
v1_cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	# Nothing may be left in the cgroups: move stragglers to our own.
	for g in $(for s in $V1_SUBDIRS; do echo "$CG/$s"; done) "$CG"; do
		if [ -d "$g" ]; then
			for t in $(cat "$g/cgroup.procs" 2>/dev/null); do echo "$t" >"$parent/cgroup.procs" 2>/dev/null; done
			rmdir "$g" 2>/dev/null
		fi
	done
	rm -rf "$T"
}
trap v1_cleanup EXIT
trap 'exit 1' INT TERM HUP
v1_limit() { # size [cgroup: $CG]; fails if the memory limit cannot be set
	# memory+swap too where swap is accounted: anonymous memory past the
	# limit then means the OOM killer, not swap.
	echo "$1" >"${2:-$CG}/memory.limit_in_bytes" || return 1
	[ ! -f "${2:-$CG}/memory.memsw.limit_in_bytes" ] || echo "$1" >"${2:-$CG}/memory.memsw.limit_in_bytes" 2>/dev/null
	return 0
}

