#!/bin/sh
# Build (if needed) and run every benchmark, printing their figures.
#
#   bench/run-all.sh                 # uses ./build, sets it up if missing
#   BUILD_DIR=/tmp/b bench/run-all.sh
#   VMP_BENCH_SCALE=0.2 bench/run-all.sh   # quick smoke run; 5 = steadier
#
# Exits non-zero only if a build or a benchmark fails for real (an error),
# never because a goal was missed: see the "verdict:" lines.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
benches="bench_account bench_latency bench_replay bench_memory bench_sources v2_fidelity debounce_report bench_daemon_rss"

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$src"
fi
# Where each lives in the build tree (bench_daemon_rss is declared beside
# the daemon, at the top).
path_of() {
	case $1 in
	bench_daemon_rss) echo "$1" ;;
	*) echo "bench/$1" ;;
	esac
}
targets=
for b in $benches; do
	targets="$targets $(path_of "$b")"
done
# shellcheck disable=SC2086 # word splitting of $targets is intended
ninja -C "$build" $targets src/daemon/vmpressured

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0
for b in $benches; do
	echo "=== $b"
	case $b in
	bench_replay) set -- "$src/tests/data" ;;
	v2_fidelity) set -- "$src/tests/data/v2" "$build/bench" ;;
	debounce_report) set -- "$src/tests/data" "$build/bench" ;;
	bench_daemon_rss) set -- "$build/src/daemon/vmpressured" "$src/tests/data" ;;
	*) set -- ;;
	esac
	{ "$build/$(path_of "$b")" "$@"; echo $? >"$tmp/rc"; } | tee "$tmp/$b.out"
	rc=$(cat "$tmp/rc")
	if [ "$rc" != 0 ]; then
		echo "*** $b failed with exit status $rc (an error, not a missed goal)" >&2
		status=1
	fi
	echo
done

echo "=== summary"
for b in $benches; do
	grep '^verdict:' "$tmp/$b.out" | sed "s/^/$b: /" || true
done
exit $status
