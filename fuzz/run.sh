#!/bin/sh
# Build the libFuzzer targets and run each for a while on its seed corpus.
#
#   fuzz/run.sh [SECONDS [TARGET...]]
#
# SECONDS per target (default 30); TARGETs default to fuzz_args fuzz_trace
# fuzz_request fuzz_http fuzz_debounce fuzz_mpwatch fuzz_exec_spec fuzz_samples
# fuzz_fcsamples.
# The build directory is $FUZZ_BUILD_DIR, default build-fuzz/ in the source
# root; it is configured (CC=clang meson setup ... -Dfuzz=true
# -Db_lundef=false) if it does not exist yet. Each target works on a
# scratch copy of fuzz/corpus/<name>/, so the repository is not touched;
# crash/leak/timeout reproducers go to $FUZZ_ARTIFACTS/<target>/ (default
# <build dir>/fuzz-artifacts), and with FUZZ_KEEP=DIR the grown corpus is
# copied to DIR/<name>/ (to fold new seeds in with -merge=1).
#
# Prints one summary line per target; exits 1 if any target found a crash,
# a leak, a timeout or went out of memory, 2 if the build failed, and 77
# (meson's "skipped") if clang is not installed. POSIX sh.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-30}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- fuzz_args fuzz_trace fuzz_request fuzz_http fuzz_debounce fuzz_mpwatch fuzz_exec_spec fuzz_samples \
	fuzz_fcsamples
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}

case $secs in
'' | *[!0-9]* | 0) echo "usage: fuzz/run.sh [SECONDS [TARGET...]]" >&2; exit 64 ;;
esac
cc=${CC:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz/run.sh: $cc not found: libFuzzer needs clang; skipped" >&2
	exit 77
fi

# ---- build ---------------------------------------------------------------
log=$(mktemp "${TMPDIR:-/tmp}/vmp-fuzz-build.XXXXXX") || exit 2
build_targets=
for t in "$@"; do build_targets="$build_targets fuzz/$t"; done
(
	set -e
	if [ ! -f "$build/build.ninja" ]; then
		CC=$cc meson setup "$build" "$root" -Dfuzz=true -Db_lundef=false
	elif ! ninja -C "$build" -t query "fuzz/$1" >/dev/null 2>&1; then
		meson configure "$build" -Dfuzz=true -Db_lundef=false
	fi
	# shellcheck disable=SC2086 # target names have no spaces
	ninja -C "$build" $build_targets
) >"$log" 2>&1
if [ $? -ne 0 ]; then
	tail -n 40 "$log" >&2
	echo "fuzz/run.sh: building the fuzz targets in $build failed" >&2
	rm -f "$log"
	exit 2
fi
rm -f "$log"

# ---- run -----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/vmp-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

field() { # name, libFuzzer status line: the number after "name: "
	printf '%s\n' "$2" | sed -n "s/.* $1: \\([0-9][0-9a-zA-Z/]*\\).*/\\1/p"
}

failed=0
for t in "$@"; do
	name=${t#fuzz_}
	exe=$build/fuzz/$t
	corpus=$work/$name
	mkdir -p "$corpus" "$artifacts/$t"
	[ -d "$here/corpus/$name" ] && cp -R "$here/corpus/$name/." "$corpus/"
	dict=
	[ -f "$here/$name.dict" ] && dict=$here/$name.dict
	case $t in
	fuzz_args) max_len=64 ;;
	fuzz_http) max_len=16384 ;;
	*) max_len=65536 ;;
	esac

	t0=$(date +%s)
	"$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
		-print_final_stats=1 -artifact_prefix="$artifacts/$t/" ${dict:+"-dict=$dict"} \
		"$corpus" >"$work/$t.log" 2>&1
	status=$?
	elapsed=$(($(date +%s) - t0))

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.* cov: ' "$work/$t.log" | tail -n 1)
	if [ -n "${FUZZ_KEEP:-}" ]; then
		mkdir -p "$FUZZ_KEEP/$name"
		cp -R "$corpus/." "$FUZZ_KEEP/$name/"
	fi
	if [ $status -eq 0 ]; then
		result=ok
	else
		result="FAILED (exit $status)"
		failed=1
	fi
	printf '%s: %s, %s execs in %ss (%s/s), cov %s, ft %s, corpus %s\n' "$t" "$result" \
		"${execs:-?}" "$elapsed" "${rate:-?}" "$(field cov "$last")" "$(field ft "$last")" \
		"$(field corp "$last")"
	if [ $status -ne 0 ]; then
		# The sanitizer or libFuzzer report, and where the reproducer went.
		grep -nE 'ERROR:|SUMMARY:|runtime error|Test unit written|check failed|fuzz_(args|trace|request|http|debounce|mpwatch|exec_spec|samples):' \
			"$work/$t.log" | head -n 20 | sed 's/^/    /'
		cp "$work/$t.log" "$artifacts/$t/last-run.log"
		echo "    full log: $artifacts/$t/last-run.log (reproduce: $exe <artifact>)"
	fi
done
exit $failed
