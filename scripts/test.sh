#!/bin/sh
# Build vmpressure and run the whole test suite: the plain build with the
# VM suite (a real kernel under qemu), the package suite (the .debs in a
# Debian 12 chroot) and the plot suite (headless Chromium), again under
# ASan+UBSan and under TSan, and a short run of every fuzzer. Ends with one line:
# "N passed, N failed".
#
#   scripts/test.sh            everything
#   FUZZ_SECONDS=5 scripts/test.sh   shorter fuzzing (default 20 s a target)
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
sh scripts/deps.sh test || { echo "test.sh: cannot install the build dependencies"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
failures=""
note() { # name, status
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $1"
	fi
}

# Count meson's per-test results from its JSON log.
count_meson() { # builddir, label
	python3 - "$1/meson-logs/testlog.json" "$2" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
}

run_build() { # label, builddir, meson setup options...
	label=$1
	dir=$2
	shift 2
	echo "=== $label: configure and build ($dir)"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; note "$label-build" 1; return; }
	fi
	if ! ninja -C "$dir" >"$dir.ninja.log" 2>&1; then
		cat "$dir.ninja.log"
		note "$label-build" 1
		return
	fi
	echo "=== $label: tests"
	meson test -C "$dir" --print-errorlogs --no-suite vm --no-suite package --no-suite plot $MESON_TEST_ARGS
	tally "$label" "$dir"
}

# A heavy suite, in the plain build only: suite name, what it is.
run_suite() {
	echo "=== $1: $2"
	meson test -C build --suite "$1" --print-errorlogs
	tally "$1" build
}

# Add the last meson test run of a build dir to the totals: label, builddir.
tally() {
	set -- "$1" $(count_meson "$2" "$1")
	echo "=== $1: $2 passed, $3 failed, $4 skipped"
	passed=$((passed + $2))
	failed=$((failed + $3))
	[ "$3" -eq 0 ] || failures="$failures $1"
}

MESON_TEST_ARGS=${MESON_TEST_ARGS:-}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

run_build "default" build

# The real kernel as the judge: Debian's kernel under qemu (tests/vm/README.md).
# It skips, with its reason, where qemu or the kernel package cannot be had.
run_suite vm "Debian's kernels under qemu, four configurations and a resident boot (about 20 minutes on the 2-core machine)"
# The Debian packages built, installed in a clean Debian 12 chroot and run
# (tests/package). It skips, with its reason, without root or a mirror.
run_suite package "the .debs in a clean Debian 12 chroot (about a minute)"
# vmpressure plot's SVGs rendered by headless Chromium (tests/plot). It
# skips, with its reason, where chromium cannot be installed.
sh scripts/deps.sh plot || echo "test.sh: chromium could not be installed; the plot suite will skip"
run_suite plot "the plots in headless Chromium"
run_build "asan+ubsan" build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
run_build "tsan" build-tsan -Db_sanitize=thread -Db_lundef=false

if [ -x fuzz/run.sh ]; then
	echo "=== fuzzing, ${FUZZ_SECONDS:-20} s a target"
	sh fuzz/run.sh "${FUZZ_SECONDS:-20}"
	note fuzz $?
fi

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
