#!/bin/sh
# `meson install` as a packager runs it: DESTDIR staging of this build, then
# every file in its conventional place, nothing outside the prefix but the
# systemd unit and /etc, the unit pointing at the installed daemon, and the
# installed libvmpressure.pc building the README's embedding example against
# the installed library, shared and static.
#
# usage: test_install.sh MESON BUILDDIR README PREFIX BINDIR SBINDIR LIBDIR
#                        INCLUDEDIR MANDIR SYSCONFDIR UNITDIR-OPTION SANITIZE
# (the directories as meson's options give them; UNITDIR-OPTION is
# -Dsystemdsystemunitdir, empty for the default; SANITIZE is b_sanitize).
# CC is the build's compiler. TAP on stdout.
set -u
MESON=$1 B=$2 README=$3 PREFIX=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
D=$T/dest
. "$(dirname "$0")/../lib/tap.sh"
abs() { # a meson directory option: relative ones are below the prefix
	case $1 in /*) echo "$1" ;; *) echo "$PREFIX/$1" ;; esac
}
BIN=$(abs "$5") SBIN=$(abs "$6") LIB=$(abs "$7") INC=$(abs "$8") MAN=$(abs "$9")
shift 9
ETC=$(abs "$1") UNITOPT=$2 SAN=$3
# Where the unit belongs (meson_options.txt): for a /usr install systemd's
# own directory, else below the prefix, which systemd also reads for
# /usr/local.
if [ -n "$UNITOPT" ]; then
	UNIT=$UNITOPT
elif [ "$PREFIX" = /usr ]; then
	UNIT=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
	[ -n "$UNIT" ] || UNIT=/lib/systemd/system
else
	UNIT=$PREFIX/lib/systemd/system
fi

if ! "$MESON" install -C "$B" --no-rebuild --quiet --destdir "$D" >"$T/install.log" 2>&1; then
	echo "not ok 1 - meson install --destdir"
	sed 's/^/# /' "$T/install.log"
	echo "1..1"
	exit 1
fi
ok "meson install --destdir $D"

for f in "$BIN/vmpressure" "$SBIN/vmpressured"; do
	check "$f: installed, executable" test -x "$D$f"
done
check "$LIB/libvmpressure.so.1: a link to the versioned library" \
	test -L "$D$LIB/libvmpressure.so.1" -a -f "$D$LIB/libvmpressure.so.1.0.0"
check "$LIB/libvmpressure.so: the link to build against" test -L "$D$LIB/libvmpressure.so"
check "$LIB/libvmpressure.a: the static library" test -f "$D$LIB/libvmpressure.a"
check "$INC/vmpressure.h" test -f "$D$INC/vmpressure.h"
check "$LIB/pkgconfig/libvmpressure.pc" test -f "$D$LIB/pkgconfig/libvmpressure.pc"
for f in man1/vmpressure.1 man3/libvmpressure.3 man8/vmpressured.8; do
	check "$MAN/$f" test -f "$D$MAN/$f"
done
if [ "$UNITOPT" = no ]; then
	check "no systemd unit with -Dsystemdsystemunitdir=no" \
		test -z "$(find "$D" -name vmpressured.service)"
else
	u=$D$UNIT/vmpressured.service
	check "$UNIT/vmpressured.service" test -f "$u"
	check "the unit starts the installed daemon" grep -q "^ExecStart=$SBIN/vmpressured\( \|\$\)" "$u"
	check "... with the options of its EnvironmentFile" \
		grep -q "^ExecStart=$SBIN/vmpressured .*\$VMPRESSURED_OPTIONS" "$u"
	check "the unit reads $ETC/default/vmpressured if present" \
		grep -qx "EnvironmentFile=-$ETC/default/vmpressured" "$u"
	check "no @variable@ left in the unit" sh -c "! grep -q '@[a-z]*@' '$u'"
fi

# Everything else below the prefix: a stray absolute install_dir shows here.
(cd "$D" && find . ! -type d | sed 's|^\.||') >"$T/files"
sed 's/^/# installed: /' "$T/files"
outside=$(grep -v -e "^$PREFIX/" -e "^$UNIT/" -e "^$ETC/" "$T/files")
check "every file below $PREFIX, $UNIT or $ETC" test -z "$outside"
[ -z "$outside" ] || echo "$outside" | sed 's/^/# outside: /'

# The shared library exports the public API only (vmp_*, versioned by
# src/lib/libvmpressure.map), which the Debian symbols file relies on.
if command -v nm >/dev/null; then
	nm -D --defined-only "$D$LIB/libvmpressure.so.1" | awk '{print $3}' >"$T/syms"
	check "the library exports vmp_* symbols" grep -q '^vmp_' "$T/syms"
	check "... and nothing but vmp_*@@VMPRESSURE_* and the version nodes" \
		sh -c "! grep -v -e '^vmp_[a-z0-9_]*@@VMPRESSURE_[0-9.]*\$' -e '^VMPRESSURE_[0-9.]*\$' '$T/syms'"
	grep -v '^vmp_[a-z0-9_]*@@VMPRESSURE_[0-9.]*$' "$T/syms" | grep -v '^VMPRESSURE_' | sed 's/^/# unexpected export: /'
	# The static archive has the internal cross-file functions too: each
	# is vmp__* (DEVELOPERS.md, "Names"), never in a public family.
	nm -g --defined-only "$D$LIB/libvmpressure.a" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u >"$T/asyms"
	sed 's/@@.*//' "$T/syms" | grep '^vmp_' | sort -u >"$T/public"
	grep -v -x -f "$T/public" "$T/asyms" | grep -v '^vmp__' | grep -v '^__' >"$T/stray"
	check "libvmpressure.a: every global symbol public (exported by the .so) or vmp__* internal" \
		sh -c "test -s '$T/asyms' && ! test -s '$T/stray'"
	sed 's/^/# neither public nor vmp__: /' "$T/stray"
fi

# The README's embedding example, built the way the README says, against
# the staged library only (PKG_CONFIG_LIBDIR: not a copy installed for real).
awk '/^## The library/ { lib = 1 } lib && /^```c$/ { on = 1; next }
     on && /^```$/ { exit } on { print }' "$README" >"$T/demo.c"
check "README: an embedding example in its library section" test -s "$T/demo.c"
want=$(sed -n 's|.*/\* .*prints "\([^"]*\)".*|\1|p' "$T/demo.c" | head -n 1)
san=
[ "$SAN" = none ] || [ -z "$SAN" ] || san="-fsanitize=$SAN"
export PKG_CONFIG_LIBDIR="$D$LIB/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
if pc=$(pkg-config --cflags --libs libvmpressure 2>"$T/pc.err"); then
	ok "pkg-config --cflags --libs libvmpressure: $pc"
else
	no "pkg-config finds the staged libvmpressure.pc"
	sed 's/^/# /' "$T/pc.err"
fi
pcs=$(pkg-config --static --cflags --libs libvmpressure 2>/dev/null | sed 's/-lvmpressure/-l:libvmpressure.a/')
# shellcheck disable=SC2086
if ${CC:-cc} $san -o "$T/demo" "$T/demo.c" $pc 2>"$T/cc.err"; then
	ok "the example compiles and links with \$(pkg-config --cflags --libs libvmpressure)"
	LD_LIBRARY_PATH="$D$LIB" "$T/demo" >"$T/out" 2>&1
	check "it runs (exit 0)" [ $? -eq 0 ]
	check "... against the staged libvmpressure.so.1" \
		sh -c "LD_LIBRARY_PATH='$D$LIB' ldd '$T/demo' | grep -q '$D$LIB/libvmpressure.so.1'"
	if [ -n "$want" ]; then
		check "... and prints what the README says: $want" grep -qxF "$want" "$T/out"
	fi
else
	no "the example compiles and links against the staged library"
	sed 's/^/# /' "$T/cc.err"
fi
# shellcheck disable=SC2086
if ${CC:-cc} $san -o "$T/demo-static" "$T/demo.c" $pcs 2>"$T/cc.err"; then
	ok "the example links the static library with pkg-config --static"
	"$T/demo-static" >"$T/out" 2>&1
	rc=$?
	check "the static program runs (exit 0)" [ "$rc" -eq 0 ]
	check "... without libvmpressure.so" sh -c "! ldd '$T/demo-static' | grep -q libvmpressure"
	if [ -n "$want" ]; then
		check "... and prints: $want" grep -qxF "$want" "$T/out"
	fi
else
	no "the example links the static library"
	sed 's/^/# /' "$T/cc.err"
fi

tap_done
