#!/bin/sh
# The Debian packages, end to end: build them from a copy of the tree with
# dpkg-buildpackage (debian/), check what each holds, lintian, then install
# them with dpkg in a clean minimal Debian 12 chroot (mmdebstrap, from the
# Debian mirror this machine's apt uses) and run the installed programs
# there; purge them at the end.
#
# usage: test_package.sh SOURCE_ROOT PROJECT_VERSION
#
# Heavy (root, a chroot, the network): its own suite `package`, run only in
# the plain build by scripts/test.sh. Skips, saying why, when not root,
# when the tools are missing (scripts/deps.sh test installs them) or when
# the chroot cannot be made (no mirror reachable). Everything lives in one
# temporary directory, removed with the chroot's /proc unmounted however
# the test ends. TAP on stdout.
set -u
SRC=$1 VERSION=$2
SUITE=bookworm # Debian 12
# meson test's own environment points at the build tree; the package
# build and the chroot must not see it.
unset LD_LIBRARY_PATH MESON_TESTTHREADS

. "$(dirname "$0")/../lib/tap.sh"
[ "$(id -u)" = 0 ] || skip "not root (a chroot needs it)"
for t in dpkg-buildpackage dh mmdebstrap chroot mount; do
	command -v "$t" >/dev/null || skip "$t not installed (scripts/deps.sh test installs it)"
done

T=$(mktemp -d /tmp/vmp-package.XXXXXX)
R=$T/root
cleanup() {
	if [ -d "$R/proc" ] && mountpoint -q "$R/proc" 2>/dev/null; then
		umount "$R/proc" 2>/dev/null || umount -l "$R/proc"
	fi
	# --one-file-system: never into a mount that failed to go.
	rm -rf --one-file-system "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

diag() { sed 's/^/# /' "$@"; }

# --- build, in a copy: the worktree gets no obj-*/ nor debian/tmp -----
mkdir "$T/vmpressure"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked and new files, not what .gitignore names (build trees)
	(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf -) | tar -C "$T/vmpressure" -xf -
else
	tar -C "$SRC" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$T/vmpressure" -xf -
fi
check "a copy of the source tree" test -f "$T/vmpressure/debian/control"

cl=$(cd "$T/vmpressure" && dpkg-parsechangelog -S Version)
check "debian/changelog is at the project's version ($cl, meson $VERSION)" [ "${cl%%-*}" = "$VERSION" ]

# nocheck: the project's own suites are run by scripts/test.sh.
if (cd "$T/vmpressure" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	no "dpkg-buildpackage -us -uc -b"
	tail -n 40 "$T/build.log" | diag
	tap_done
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=$T/libvmpressure1_${cl}_$arch.deb
dev=$T/libvmpressure-dev_${cl}_$arch.deb
bin=$T/vmpressure_${cl}_$arch.deb
for d in "$lib" "$dev" "$bin"; do
	check "built $(basename "$d")" test -f "$d"
done

# --- what each package holds ---------------------------------------
has() { # deb, path (as dpkg-deb -c prints it, without the leading .)
	dpkg-deb -c "$1" | awk '{print $6}' | grep -qxF ".$2"
}
for f in /usr/lib/$ma/libvmpressure.so.1 /usr/lib/$ma/libvmpressure.so.1.0.0; do
	check "libvmpressure1: $f" has "$lib" "$f"
done
check "libvmpressure1: nothing to build with" sh -c "! dpkg-deb -c '$lib' | grep -qE 'include/|\\.a\$|\\.pc\$|libvmpressure\\.so\$'"
check "libvmpressure1: a symbols file" sh -c "dpkg-deb -I '$lib' symbols | grep -q '^ vmp_ctx_new@VMPRESSURE_1 '"
# A new version node in libvmpressure.map needs its line in
# debian/libvmpressure1.symbols; dpkg-gensymbols only warns.
check "debian/libvmpressure1.symbols covers every exported symbol" \
	sh -c "! grep -q 'dpkg-gensymbols: warning' '$T/build.log'"
grep -A20 'dpkg-gensymbols: warning' "$T/build.log" | diag
for f in /usr/include/vmpressure.h /usr/lib/$ma/libvmpressure.so /usr/lib/$ma/libvmpressure.a \
	/usr/lib/$ma/pkgconfig/libvmpressure.pc /usr/share/man/man3/libvmpressure.3.gz; do
	check "libvmpressure-dev: $f" has "$dev" "$f"
done
for f in /usr/bin/vmpressure /usr/sbin/vmpressured /usr/share/man/man1/vmpressure.1.gz \
	/usr/share/man/man8/vmpressured.8.gz /lib/systemd/system/vmpressured.service \
	/etc/default/vmpressured /usr/share/doc/vmpressure/copyright; do
	check "vmpressure: $f" has "$bin" "$f"
done
check "vmpressure: /etc/default/vmpressured is a conffile" \
	sh -c "dpkg-deb -I '$bin' conffiles | grep -qx /etc/default/vmpressured"
check "vmpressure depends on libvmpressure1" \
	sh -c "dpkg-deb -f '$bin' Depends | grep -q 'libvmpressure1 (>= '"

# The README's example against the .deb's header, .pc and library.
mkdir "$T/x"
dpkg-deb -x "$lib" "$T/x" && dpkg-deb -x "$dev" "$T/x"
awk '/^## The library/ { lib = 1 } lib && /^```c$/ { on = 1; next }
     on && /^```$/ { exit } on { print }' "$SRC/README.md" >"$T/demo.c"
# shellcheck disable=SC2046
if PKG_CONFIG_LIBDIR=$T/x/usr/lib/$ma/pkgconfig PKG_CONFIG_SYSROOT_DIR=$T/x \
	cc -o "$T/demo" "$T/demo.c" $(PKG_CONFIG_LIBDIR=$T/x/usr/lib/$ma/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$T/x pkg-config --cflags --libs libvmpressure) 2>"$T/cc.err"; then
	LD_LIBRARY_PATH=$T/x/usr/lib/$ma "$T/demo" >"$T/demo.out" 2>&1
	check "the README example builds against libvmpressure-dev and runs" [ $? -eq 0 -a -s "$T/demo.out" ]
else
	no "the README example builds against libvmpressure-dev"
	diag "$T/cc.err"
fi

if command -v lintian >/dev/null; then
	# info tags may stay; errors and warnings may not
	lintian --fail-on error,warning "$T"/vmpressure_"${cl}"_"$arch".changes >"$T/lintian.log" 2>&1
	check "lintian: no errors or warnings" [ $? -eq 0 ]
	grep -v '^running with root' "$T/lintian.log" | diag
else
	echo "# lintian not installed: not run"
fi

# --- a clean Debian 12, from the mirror this machine's apt uses -------
mirror=$(apt-get indextargets --format '$(REPO_URI) $(ORIGIN) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
	awk '$2 == "Debian" && $3 !~ /-/ && $4 == "deb" { print $1; exit }')
if [ -z "$mirror" ]; then # no package lists yet: read the sources files
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }
		     $1 == "URIs:" { print $2; exit }' | grep -v security | head -n 1)
fi
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian # mmdebstrap's own default
echo "# chroot: $SUITE minbase from $mirror"
if ! mmdebstrap --mode=root --variant=minbase --quiet "$SUITE" "$R" "deb $mirror $SUITE main" >"$T/mmdebstrap.log" 2>&1; then
	tail -n 5 "$T/mmdebstrap.log" | diag
	n=$((n + 1))
	echo "ok $n - install and run in a clean $SUITE # SKIP cannot create the chroot (no network or mirror?)"
	tap_done
fi
ok "mmdebstrap: a minimal $SUITE chroot"

mkdir -p "$R/tmp/debs"
cp "$lib" "$dev" "$bin" "$R/tmp/debs/"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
if in_root dpkg -i /tmp/debs/libvmpressure1_"$cl"_"$arch".deb /tmp/debs/libvmpressure-dev_"$cl"_"$arch".deb \
	/tmp/debs/vmpressure_"$cl"_"$arch".deb >"$T/dpkg.log" 2>&1; then
	ok "dpkg -i the three packages"
else
	# a dependency minbase lacks: let apt fetch it
	diag "$T/dpkg.log"
	cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
	if in_root sh -c 'apt-get update -qq && apt-get install -f -y -qq --no-install-recommends' >"$T/apt.log" 2>&1; then
		ok "dpkg -i, then apt-get install -f for the dependencies"
	else
		no "dpkg -i the three packages (and apt-get install -f)"
		diag "$T/apt.log"
	fi
fi
for p in libvmpressure1 libvmpressure-dev vmpressure; do
	check "dpkg: $p installed" sh -c "chroot '$R' dpkg-query -W -f='\${Status}' $p | grep -qx 'install ok installed'"
done
# Not started in a chroot: the postinst starts it only under a running systemd.
inside=""
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && inside="$inside ${p#/proc/}"
done
check "the install left no process running in the chroot" [ -z "$inside" ]

mount -t proc proc "$R/proc"
check "/proc mounted in the chroot" mountpoint -q "$R/proc"

in_root vmpressure --version >"$T/out" 2>&1
check "vmpressure --version exits 0" [ $? -eq 0 ]
check "... and names version $VERSION" grep -q "vmpressure $VERSION" "$T/out"
diag "$T/out"
check "vmpressure uses the installed libvmpressure.so.1" \
	sh -c "chroot '$R' ldd /usr/bin/vmpressure | grep -q 'libvmpressure.so.1 => /.*/$ma/libvmpressure.so.1'"
out=$(in_root vmpressure calc 2 1 2>&1)
check "vmpressure calc 2 1 prints '66 medium' (got '$out')" [ "$out" = "66 medium" ]
in_root vmpressure watch --source machine --timeout 1 >"$T/out" 2>"$T/err"
rc=$?
diag "$T/out" "$T/err"
check "vmpressure watch --source machine --timeout 1 exits 0" [ $rc -eq 0 ]
check "... watching the machine source" grep -q "machine source" "$T/err"
check "... and ends with its summary" grep -qE "^vmpressure: /: [0-9]+ notifications in " "$T/err"
in_root vmpressured --help >"$T/out" 2>&1
check "vmpressured --help exits 0" [ $? -eq 0 ]
check "... and prints its usage" grep -q "^usage: vmpressured" "$T/out"
u=$R/lib/systemd/system/vmpressured.service
check "the unit starts /usr/sbin/vmpressured with the /etc/default options" \
	sh -c "grep -q '^ExecStart=/usr/sbin/vmpressured .*\$VMPRESSURED_OPTIONS' '$u' &&
	       grep -qx 'EnvironmentFile=-/etc/default/vmpressured' '$u' &&
	       grep -q '^VMPRESSURED_OPTIONS=' '$R/etc/default/vmpressured'"

umount "$R/proc"
in_root dpkg --purge vmpressure libvmpressure-dev libvmpressure1 >"$T/purge.log" 2>&1
check "dpkg --purge the three packages" [ $? -eq 0 ]
check "... leaves none of their files" sh -c "! ls -d '$R/usr/sbin/vmpressured' '$R/etc/default/vmpressured' \
	'$R/usr/lib/$ma/libvmpressure.so.1' '$R/lib/systemd/system/vmpressured.service' 2>/dev/null"

tap_done
