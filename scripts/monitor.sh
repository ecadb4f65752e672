#!/bin/sh
# Build vmpressure and watch this machine's memory pressure live, with no
# configuration: the whole machine, every level, until Ctrl-C.
# Extra arguments go to `vmpressure watch` (see `vmpressure watch --help`).
# Only the `vmpressure` command is built (not the tests, benchmarks or the
# daemon), and each step says what it does: the first run takes a minute.
set -eu
cd "$(dirname "$0")/.."
say() { echo "monitor.sh: $*" >&2; }
say "checking the build dependencies (scripts/deps.sh build)"
sh scripts/deps.sh build
if [ ! -f build/build.ninja ]; then
	say "configuring build/ (meson setup build)"
	log=$(mktemp)
	meson setup build >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
	rm -f "$log"
fi
say "building the vmpressure command (ninja -C build vmpressure)"
# On a terminal ninja keeps its progress on one line ([n/N] and the file).
ninja -C build vmpressure >&2
say "starting ./build/vmpressure watch $*"
exec ./build/vmpressure watch "$@"
