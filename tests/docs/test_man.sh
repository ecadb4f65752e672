#!/bin/sh
# The man pages lint clean and render what they mean.
#
#   test_man.sh MANDIR
#
# Each page through `mandoc -T lint -W style` (every message, style included,
# is a failure: a "fill mode already disabled" style note is how a missing
# .fi shows) and through groff as man(1) renders it, at 80 columns with every
# warning on (`man --warnings=all`: "cannot adjust line" and the like); a
# tool that is missing skips its checks, saying so (scripts/deps.sh test
# installs mandoc). Then what once rendered wrong in vmpressured(8): the
# example after the metrics one outside its code block, FILES' quoted
# options, exit status 69 said once.
. "$(dirname "$0")/../lib/tap.sh"
M=$1
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
pages=$(ls "$M"/*.[1-8] 2>/dev/null)
[ -n "$pages" ] || skip "no man pages in $M"
for p in $pages; do
	name=${p##*/}
	if command -v mandoc >/dev/null; then
		mandoc -T lint -W style "$p" >"$T/lint" 2>&1
		check "$name: mandoc -T lint -W style says nothing" [ ! -s "$T/lint" ]
		sed 's/^/# /' "$T/lint"
	else
		ok "$name: mandoc -T lint # SKIP no mandoc (apt-get install mandoc)"
	fi
	if command -v man >/dev/null && command -v groff >/dev/null; then
		MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings=all -E UTF-8 -l "$p" >"$T/$name.txt" 2>"$T/warn"
		check "$name: man --warnings=all renders it without a warning" [ ! -s "$T/warn" ] && [ -s "$T/$name.txt" ]
		sed 's/^/# /' "$T/warn"
	else
		ok "$name: groff's warnings # SKIP no man/groff"
	fi
done
d=$T/vmpressured.8.txt
if [ -s "$d" ]; then
	col -b <"$d" >"$T/d"
	check "vmpressured(8): FILES quotes the options as written" grep -qF 'VMPRESSURED_OPTIONS="--source v2"' "$T/d"
	tr -s ' \n' '  ' <"$T/d" >"$T/flat"
	check "vmpressured(8): exit status 69 names the v1 controller once" \
		[ "$(grep -o 'controller, no cgroup v2' "$T/flat" | wc -l)" -eq 1 ]
	# The example after the metrics one is prose again, at the text's indent.
	check "vmpressured(8): the drop-caches example's paragraph is not in a code block" \
		grep -qE '^       Drop +the +page +cache' "$T/d"
fi
tap_done man
