#!/bin/sh
# Install what building and testing vmpressure needs on Debian, and only
# what is missing (an up-to-date machine costs one dpkg query).
#   deps.sh build   compiler, meson, ninja        (to build and run)
#   deps.sh test    + clang and its sanitizer/libFuzzer runtime
#   deps.sh plot    chromium alone: the plot suite renders SVGs headless
set -eu
want="gcc libc6-dev meson ninja-build pkg-config"
[ "${1:-build}" = test ] && want="$want clang libclang-rt-14-dev python3"
[ "${1:-build}" = plot ] && want="chromium"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
	command -v sudo >/dev/null || { echo "deps.sh: need root to install:$missing" >&2; exit 1; }
else
	SUDO=
fi
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
