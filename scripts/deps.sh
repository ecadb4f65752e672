#!/bin/sh
# Install what building and testing vmpressure needs on Debian, and only
# what is missing (an up-to-date machine costs one dpkg query).
#   deps.sh build   compiler, meson, ninja        (to build and run)
#   deps.sh test    + clang and its sanitizer/libFuzzer runtime, what
#                   the package suite needs (dpkg-buildpackage's build-essential
#                   and debhelper, mmdebstrap for the chroot, lintian), and
#                   promtool (from Debian's prometheus package, extracted
#                   into .deps/, see below)
#   deps.sh plot    chromium alone: the plot suite renders SVGs headless
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

# promtool checks vmpressured's metrics (tests/daemon/promtool.sh). It comes
# in the `prometheus` package, whose installation also starts a Prometheus
# server on port 9090: so the package is downloaded (apt-get download) and
# only its promtool extracted into .deps/prometheus/. A failure here only
# warns: the metrics tests then skip their promtool checks, saying so.
fetch_promtool() {
	command -v promtool >/dev/null 2>&1 && return 0
	[ -x "$root/.deps/prometheus/usr/bin/promtool" ] && return 0
	mkdir -p "$root/.deps/prometheus" || return 1
	tmp=$(mktemp -d "$root/.deps/dl.XXXXXX") || return 1
	chmod 755 "$tmp" # apt's _apt user downloads into it when it can
	if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
		$SUDO apt-get update -qq >/dev/null 2>&1 || true
		(cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1) || { rm -rf "$tmp"; return 1; }
	fi
	dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$root/.deps/prometheus" ./usr/bin/promtool
	rc=$?
	rm -rf "$tmp"
	[ $rc -eq 0 ] && "$root/.deps/prometheus/usr/bin/promtool" --version >/dev/null 2>&1
}
want="gcc libc6-dev meson ninja-build pkg-config"
[ "${1:-build}" = test ] && want="$want clang libclang-rt-14-dev python3"
[ "${1:-build}" = test ] && want="$want build-essential debhelper dpkg-dev mmdebstrap lintian"
[ "${1:-build}" = plot ] && want="chromium"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
SUDO=
[ "$(id -u)" != 0 ] && command -v sudo >/dev/null && SUDO=sudo
if [ "${1:-build}" = test ] && ! fetch_promtool; then
	echo "deps.sh: cannot fetch promtool (apt-get download prometheus); the metrics tests skip their promtool checks" >&2
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
	command -v sudo >/dev/null || { echo "deps.sh: need root to install:$missing" >&2; exit 1; }
fi
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
