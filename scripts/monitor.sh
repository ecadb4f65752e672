#!/bin/sh
# Build vmpressure and watch this machine's memory pressure live, with no
# configuration: the whole machine, every level, until Ctrl-C.
# Extra arguments go to `vmpressure watch` (see `vmpressure watch --help`).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec ./build/vmpressure watch "$@"
