# Sourced by the shell tests: TAP on stdout. ok/no count and print one
# check; check runs a command whose success is the check; skip skips the
# whole test ("1..0 # SKIP why", exit 0) before any check ran; wait_for
# polls a file for a pattern; tap_scratch [MODE] makes $T, a scratch
# directory, and traps the test's end: tap_cleanup kills (and waits for)
# the processes the test added to $pids, then removes $T (kept with
# KEEP=1), and a signal makes the test exit 1; tap_done prints the plan
# (and, given a name, a summary comment) and exits 0 only if no check
# failed.
# Sourced as `. "$(dirname "$0")/../lib/tap.sh"`: meson runs the tests by
# their path.
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
check() { # description, then a command whose success is the check
	d=$1
	shift
	if "$@"; then ok "$d"; else no "$d"; fi
}
skip() {
	echo "1..0 # SKIP $1"
	exit 0
}
skip_one() { # description, why: one check skipped, the rest go on
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
wait_for() { # file pattern [tries of 10 ms: 1000, 10 s]
	i=0
	while [ $i -lt "${3:-1000}" ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
		i=$((i + 1))
	done
	return 1
}
tap_scratch() { # [mode of $T]
	T=$(mktemp -d)
	[ -z "${1:-}" ] || chmod "$1" "$T"
	pids=
	trap tap_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}
tap_cleanup() { # a test that traps EXIT itself calls this from its trap
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
tap_done() { # [name]
	echo "1..$n"
	[ -z "${1:-}" ] || echo "# $1: $n checks, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
