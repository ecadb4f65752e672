#!/bin/sh
# Install what building and testing vmpressure needs on Debian, and only
# what is missing (an up-to-date machine costs one dpkg query).
#   deps.sh build   compiler, meson, ninja        (to build and run)
#   deps.sh test    + clang and its sanitizer/libFuzzer runtime, socat and
#                   mandoc (the documentation tests: examples, man lint), what
#                   the package suite needs (dpkg-buildpackage's build-essential
#                   and debhelper, mmdebstrap for the chroot, lintian), and
#                   promtool (from Debian's prometheus package, extracted
#                   into .deps/, see below), and libsystemd 254 from
#                   bookworm-backports unpacked into .deps/libsystemd/ (below)
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
# The sd-event part of the mpwatch test (tests/daemon/test_mpwatch.c) needs
# sd_event_add_memory_pressure(), new in systemd 254; Debian 12 has 252.
# bookworm-backports carries 254, but installing its libsystemd0 would
# replace the library every service on the machine links: so its
# libsystemd0 and libsystemd-dev are downloaded with a private apt
# configuration (its own sources.list, lists, cache and an empty dpkg
# status under .deps/apt/, the host's apt state untouched) and unpacked
# into .deps/libsystemd/, which the test compiles its client against. The
# mirror is the one the host's own apt sources name for its Debian
# release. A failure here only warns: the test then skips that part,
# saying so.
debian_mirror() { # prints "URI SIGNED-BY" of the host's entry for suite $1
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$1" '
			function flush() {
				if (deb && insuite && on && uri != "") { print uri, key; found = 1; exit }
				deb = insuite = 0; on = 1; uri = key = ""
			}
			BEGIN { on = 1 }
			/^#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { next }
			{ k = tolower($1); sub(/:$/, "", k) }
			k == "types" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			k == "uris" { uri = $2 }
			k == "suites" { for (i = 2; i <= NF; i++) if ($i == suite) insuite = 1 }
			k == "enabled" && tolower($2) == "no" { on = 0 }
			k == "signed-by" && $2 ~ /^\// { key = $2 }
			END { if (!found) flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v suite="$1" '
			$1 != "deb" { next }
			{ key = ""; i = 2 }
			$2 ~ /^\[/ { for (; i <= NF; i++) { if ($i ~ /^\[?signed-by=/) { key = $i; sub(/^\[?signed-by=/, "", key); sub(/\]$/, "", key) } if ($i ~ /\]$/) { i++; break } } }
			$(i + 1) == suite { print $i, key; exit }' "$f"
	done
}
fetch_libsystemd() {
	dst=$root/.deps/libsystemd
	grep -qs sd_event_add_memory_pressure "$dst/usr/include/systemd/sd-event.h" && [ -e "$dst/lib/libsystemd.so" ] && return 0
	pkg-config --atleast-version=254 libsystemd 2>/dev/null && return 0 # meson builds the client itself
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || { echo "deps.sh: no VERSION_CODENAME in /etc/os-release" >&2; return 1; }
	# shellcheck disable=SC2046 # "URI [KEYRING]", neither has spaces
	set -- $(debian_mirror "$codename" | head -n 1)
	[ $# -ge 1 ] || { echo "deps.sh: no Debian entry for $codename in /etc/apt/sources*" >&2; return 1; }
	apt=$root/.deps/apt
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" || return 1
	: >"$apt/status"
	echo "deb ${2:+[signed-by=$2] }$1 $codename-backports main" >"$apt/sources.list"
	set -- -q -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts="$apt/parts" \
		-o Dir::State="$apt" -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status" \
		-o Dir::Cache="$apt/cache" -o APT::Sandbox::User="$(id -un)"
	apt-get "$@" update >"$apt/update.log" 2>&1 || { echo "deps.sh: apt-get update of $codename-backports failed (see $apt/update.log)" >&2; return 1; }
	tmp=$(mktemp -d "$root/.deps/dl.XXXXXX") || return 1
	if ! (cd "$tmp" && apt-get "$@" download "libsystemd0/$codename-backports" "libsystemd-dev/$codename-backports" >"$apt/download.log" 2>&1); then
		echo "deps.sh: apt-get download libsystemd0 libsystemd-dev from $codename-backports failed (see $apt/download.log)" >&2
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$dst.new" && mkdir -p "$dst.new" || return 1
	for deb in "$tmp"/*.deb; do
		dpkg-deb -x "$deb" "$dst.new" || { rm -rf "$tmp" "$dst.new"; return 1; }
	done
	rm -rf "$tmp"
	so=
	for f in "$dst.new"/usr/lib/*/libsystemd.so; do [ -e "$f" ] && so=$f; done
	if [ -z "$so" ] || ! grep -qs sd_event_add_memory_pressure "$dst.new/usr/include/systemd/sd-event.h"; then
		echo "deps.sh: the $codename-backports libsystemd has no sd_event_add_memory_pressure()" >&2
		rm -rf "$dst.new"
		return 1
	fi
	if ldd "$so" | grep "not found" >&2; then
		echo "deps.sh: the $codename-backports libsystemd needs libraries this machine lacks" >&2
		rm -rf "$dst.new"
		return 1
	fi
	rel=${so#"$dst.new/"}
	ln -s "${rel%/*}" "$dst.new/lib" || return 1 # the test needs no multiarch triplet
	rm -rf "$dst" && mv "$dst.new" "$dst"
}
want="gcc libc6-dev meson ninja-build pkg-config"
[ "${1:-build}" = test ] && want="$want socat mandoc"
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
if [ "${1:-build}" = test ] && ! fetch_libsystemd; then
	echo "deps.sh: no libsystemd >= 254 in .deps/libsystemd; the mpwatch test skips its sd-event part" >&2
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
