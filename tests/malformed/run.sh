#!/bin/sh
# Malformed-trace tests of `vmpressure replay` (docs/vmptrace.md: "Malformed
# input: a message naming the line number on standard error, exit status 2,
# nothing printed on standard output").
#
#   tests/malformed/run.sh [VMPRESSURE]
#
# VMPRESSURE (argument, else environment variable, else build/vmpressure
# below the source root) is the CLI binary. For every `<file> <line>` entry
# of MANIFEST it runs `$VMPRESSURE replay <dir>/<file>` and requires exit
# status 2, empty stdout, and `<dir>/<file>:<line>:` in stderr, where stderr
# is one printable line (control bytes of the input must come out escaped);
# and the same again with --events --check (events are held back).
# Every valid/*.vmpt must replay with exit status 0 and empty stderr, and,
# where valid/NAME.out exists, print exactly that on stdout.
#
# Output: `ok N - ...` / `not ok N - ...` per check, the TAP plan `1..N`,
# then `P passed, F failed`;
# exit status 1 if anything failed. POSIX sh.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${VMPRESSURE:-$root/build/vmpressure}}
if [ ! -x "$bin" ]; then
	echo "not ok 1 - vmpressure binary '$bin' is missing (build first, or set VMPRESSURE)"
	echo "0 passed, 1 failed"
	exit 1
fi
have_timeout=
command -v timeout >/dev/null 2>&1 && have_timeout=1
replay() { # [options] file: stdout/stderr to $tmp/out, $tmp/err; returns the status
	if [ -n "$have_timeout" ]; then
		timeout 20 "$bin" replay "$@" >"$tmp/out" 2>"$tmp/err"
	else
		"$bin" replay "$@" >"$tmp/out" 2>"$tmp/err"
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmp-malformed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
passed=0
failed=0
why=
because() {
	why="$why
#   $1"
}
report() { # description; uses and clears $why
	n=$((n + 1))
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "ok $n - $1"
		return
	fi
	failed=$((failed + 1))
	echo "not ok $n - $1$why"
	[ -s "$tmp/err" ] && echo "#   stderr: $(head -c 400 "$tmp/err" | cat -v)"
	[ -s "$tmp/out" ] && echo "#   stdout: $(head -c 400 "$tmp/out" | cat -v)"
	why=
}

while read -r file line extra; do
	case $file in '' | '#'*) continue ;; esac
	path=$here/$file
	: >"$tmp/out"
	: >"$tmp/err"
	case $line in '' | 0* | *[!0-9]*) because "MANIFEST: '$line' is not a line number" ;; esac
	[ -n "$extra" ] && because "MANIFEST: extra text '$extra'"
	[ -f "$path" ] || because "no such file"
	if [ -z "$why" ]; then
		replay "$path"
		status=$?
		[ "$status" -eq 2 ] || because "exit status $status, expected 2"
		[ -s "$tmp/out" ] && because "stdout is not empty"
		grep -qF -e "$path:$line:" "$tmp/err" || because "stderr does not name '$path:$line:'"
		# One line of printable text: control bytes of the input must be escaped.
		[ "$(wc -l <"$tmp/err")" -eq 1 ] || because "stderr is not exactly one line"
		LC_ALL=C grep -q '[^[:print:]]' "$tmp/err" && because "stderr has unprintable bytes"
		# Events delivered before the bad line are held back: still no output.
		mv "$tmp/err" "$tmp/err1"
		replay --events --check "$path"
		status=$?
		[ "$status" -eq 2 ] || because "with --events --check: exit status $status, expected 2"
		[ -s "$tmp/out" ] && because "with --events --check: stdout is not empty"
		cmp -s "$tmp/err" "$tmp/err1" || because "with --events --check: another message"
		mv "$tmp/err1" "$tmp/err"
	fi
	report "$file: error at line $line"
done <"$here/MANIFEST"

for path in "$here"/valid/*.vmpt; do
	[ -e "$path" ] || continue
	name=valid/${path##*/}
	replay "$path"
	status=$?
	[ "$status" -eq 0 ] || because "exit status $status, expected 0"
	[ -s "$tmp/err" ] && because "stderr is not empty"
	if [ -f "${path%.vmpt}.out" ] && ! cmp -s "${path%.vmpt}.out" "$tmp/out"; then
		because "stdout differs from ${name%.vmpt}.out"
	fi
	report "$name: valid"
done

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$n" -gt 0 ]
