#!/bin/sh
# Fuzzing longer: every fuzz target for FUZZ_LONG_SECONDS (600) through
# fuzz/run.sh, the grown corpus kept (FUZZ_KEEP) and merged back into
# fuzz/corpus/<name>/ with libFuzzer's -merge=1 (only inputs that add
# coverage; review and commit them).
#
#   bench/fuzz_long.sh              # 9 targets x 10 min: 90 minutes
#   FUZZ_LONG_SECONDS=60 bench/fuzz_long.sh
#   FUZZ_LONG_MERGE=no bench/fuzz_long.sh   # keep, do not touch fuzz/corpus
#
# A benchmark: it prints run.sh's line per target, the corpus before and
# after (files per target: the baseline), and a verdict: line; it exits 0
# whatever it found (the reproducers are in build-fuzz/fuzz-artifacts/),
# 2 if the fuzz build failed, 77 without clang. POSIX sh.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${FUZZ_LONG_SECONDS:-600}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets="fuzz_args fuzz_trace fuzz_request fuzz_http fuzz_debounce fuzz_mpwatch fuzz_exec_spec fuzz_samples fuzz_fcsamples"
keep=${FUZZ_KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/vmp-fuzz-keep.XXXXXX")}
mkdir -p "$keep"

count() { # directory: its files
	[ -d "$1" ] && find "$1" -type f | wc -l | tr -d ' ' || echo 0
}

echo "fuzz_long: $secs s a target, corpus kept in $keep"
before=
for t in $targets; do
	before="$before $(count "$root/fuzz/corpus/${t#fuzz_}")"
done

# shellcheck disable=SC2086 # target names have no spaces
FUZZ_KEEP=$keep FUZZ_BUILD_DIR=$build sh "$root/fuzz/run.sh" "$secs" $targets
status=$?
case $status in
2 | 77) exit $status ;;
esac

echo "corpus (files: seed corpus -> grown in this run -> fuzz/corpus after the merge):"
set -- $before
for t in $targets; do
	name=${t#fuzz_}
	seeds=$1
	shift
	grown=$(count "$keep/$name")
	if [ "${FUZZ_LONG_MERGE:-yes}" != no ] && [ -d "$keep/$name" ]; then
		mkdir -p "$root/fuzz/corpus/$name"
		"$build/fuzz/$t" -merge=1 "$root/fuzz/corpus/$name" "$keep/$name" >"$keep/$name.merge.log" 2>&1 ||
			echo "  $t: the merge failed (log: $keep/$name.merge.log)"
	fi
	echo "  $t: $seeds -> $grown -> $(count "$root/fuzz/corpus/$name")"
done
echo "baseline: the seed corpus of fuzz/corpus/ (the first number above)"
if [ $status -eq 0 ]; then
	echo "verdict: no crash, leak, timeout or out-of-memory in 8 targets x $secs s"
else
	echo "verdict: FOUND a crash, leak, timeout or out-of-memory (above; reproducers in $build/fuzz-artifacts/)"
fi
exit 0
