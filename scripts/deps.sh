#!/bin/sh
# Install what building and testing vmpressure needs on Debian, and only
# what is missing (an up-to-date machine costs one dpkg query).
#   deps.sh build   compiler, meson, ninja        (to build and run)
#   deps.sh test    + clang and its sanitizer/libFuzzer runtime, and what
#                   the package suite needs (dpkg-buildpackage's build-essential
#                   and debhelper, mmdebstrap for the chroot, lintian)
set -eu
want="gcc libc6-dev meson ninja-build pkg-config"
[ "${1:-build}" = test ] && want="$want clang libclang-rt-14-dev python3"
[ "${1:-build}" = test ] && want="$want build-essential debhelper dpkg-dev mmdebstrap lintian"
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
