#!/bin/sh
# The vmpressure command line, as a user runs it: the replay contract of
# docs/vmptrace.md (output, --check, --events, exit codes), calc, help.
# usage: test_cli.sh VMPRESSURE DATADIR
set -u
V=$1
D=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
. "$(dirname "$0")/../lib/tap.sh"

# replay --check on every trace: exit 0, counts for every listener
for f in "$D"/*.vmpt; do
	b=$(basename "$f")
	"$V" replay --check "$f" >"$T/out" 2>"$T/err"
	check "$b: replay --check exits 0" [ $? -eq 0 ]
	check "$b: one '<id> <count>' line per listener" \
		[ "$(grep -c '^listen ' "$f")" -eq "$(grep -cE '^[0-9]+ [0-9]+$' "$T/out")" ]
	check "$b: no mismatch" [ "$(grep -c mismatch "$T/out")" -eq 0 ]
done

f=$D/file1.vmpt
# the counts equal the expect records, in ascending id order
"$V" replay "$f" >"$T/counts"
grep '^expect ' "$f" | cut -d' ' -f2,3 | sort -n >"$T/expect"
check "replay prints exactly the kernel's counts" cmp -s "$T/counts" "$T/expect"

# a changed expect record: exit 1 and the mismatch named
sed 's/^expect 3 \([0-9]*\)$/expect 3 999/' "$f" >"$T/bad.vmpt"
"$V" replay --check "$T/bad.vmpt" >"$T/out" 2>/dev/null
check "--check with a wrong expect exits 1" [ $? -eq 1 ]
check "--check names the mismatch" grep -qE '^mismatch 3 got [0-9]+ expected 999$' "$T/out"

# --events: '<t> <listener> <level>' lines, one per notification
"$V" replay --events --quiet "$f" >"$T/ev"
check "--events lines have the documented form" \
	sh -c "! grep -vqE '^[0-9]+\\.[0-9]+ [0-9]+ (low|medium|critical)$' '$T/ev'"
total=$(awk '{s += $2} END {print s}' "$T/counts")
check "--events prints one line per counted notification ($total)" [ "$(wc -l <"$T/ev")" -eq "$total" ]
check "--events times are the kernel's work records" \
	sh -c "cut -d' ' -f1 '$T/ev' | sort -u | while read t; do grep -q \"^work \$t \" '$f' || exit 1; done"
awk '$2 == 7' "$T/ev" >"$T/ev7"
check "listener 7's events are all critical" sh -c "! grep -qv ' critical$' '$T/ev7'"

# standard input
"$V" replay - <"$f" >"$T/stdin"
check "FILE - reads standard input" cmp -s "$T/stdin" "$T/counts"

# malformed input: line number on stderr, exit 2, nothing on stdout
printf 'group / -\nlisten 0 / low\nvmpressure 1.0 / 1 12x 0 0xca\n' >"$T/m.vmpt"
"$V" replay --events "$T/m.vmpt" >"$T/out" 2>"$T/err"
check "malformed: exit 2" [ $? -eq 2 ]
check "malformed: nothing on stdout" [ ! -s "$T/out" ]
check "malformed: stderr names file and line 3" grep -q "m.vmpt:3:" "$T/err"
check "malformed: stderr shows the bad bytes" grep -q "'12x'" "$T/err"
"$V" replay "$T/missing.vmpt" >/dev/null 2>"$T/err"
check "unreadable file: exit 74" [ $? -eq 74 ]
check "unreadable file: the path is named" grep -q "missing.vmpt" "$T/err"
"$V" replay >/dev/null 2>&1
check "replay without FILE: usage, exit 64" [ $? -eq 64 ]
"$V" replay --bogus "$f" >/dev/null 2>&1
check "unknown option: exit 64" [ $? -eq 64 ]

# calc: the kernel's arithmetic
c() { [ "$("$V" calc "$@" 2>/dev/null)" = "$EXPECT" ]; }
EXPECT="66 medium" check "calc 2 1" c 2 1
EXPECT="95 critical" check "calc 514 26" c 514 26
EXPECT="60 medium" check "calc 514 206" c 514 206
EXPECT="0 low" check "calc 512 600" c 512 600
EXPECT="90 medium" check "calc 4e9 3e9 wraps" c 4000000000 3000000000
EXPECT="78 medium" check "calc --32 100000 50000" c --32 100000 50000
EXPECT="16588798627436629 critical" check "calc --no-guard 512 600" c --no-guard 512 600
EXPECT="100 critical" check "calc: scale wraps to 0 is defined" c 18446744073709551615 1
"$V" calc 0 5 >/dev/null 2>&1
check "calc 0 5: exit 2" [ $? -eq 2 ]
"$V" calc 1x 5 >/dev/null 2>"$T/err"
check "calc 1x: exit 2" [ $? -eq 2 ]
check "calc 1x: names the argument" grep -q "'1x'" "$T/err"
"$V" calc 18446744073709551616 1 >/dev/null 2>&1
check "calc 2^64: exit 2" [ $? -eq 2 ]
"$V" calc 1 >/dev/null 2>&1
check "calc with one number: exit 64" [ $? -eq 64 ]

# watch --debounce on a recorded trace: transitions only, alternating,
# ending at the highest level the raw stream reached
"$V" watch aa --no-daemon --trace "$D/anon1.vmpt" --speed 0 --timeout 1 --json >"$T/raw" 2>/dev/null
"$V" watch aa --no-daemon --trace "$D/anon1.vmpt" --speed 0 --timeout 1 --json --debounce=dwell=0s >"$T/db" 2>"$T/dberr"
secs() { sed -n 's/.*"time":"[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z".*/\1 \2 \3/p' "$1" | awk '{ print $1 * 3600 + $2 * 60 + $3 }'; }
span=$(secs "$T/raw" | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%d", (b - a) * 1000 }')
check "--trace --speed 0: event times keep the trace's own spacing (anon1 spans 3.1 s: ${span} ms)" \
	[ "$span" -ge 3000 -a "$span" -le 3200 ]
check "--debounce prints only transitions" sh -c "[ -s '$T/db' ] && ! grep -qv '\"event\":\"transition\"' '$T/db'"
check "--debounce: fewer transitions than notifications" [ "$(wc -l <"$T/db")" -lt "$(wc -l <"$T/raw")" ]
check "--debounce: each transition starts where the last ended" sh -c "
	prev=none; ok=1
	for l in \$(sed 's/.*\"from\":\"\\([a-z]*\\)\",\"to\":\"\\([a-z]*\\)\".*/\\1:\\2/' '$T/db'); do
		[ \"\${l%%:*}\" = \"\$prev\" ] || ok=0; prev=\${l#*:}
	done; [ \$ok = 1 ]"
check "--debounce reaches the highest raw level" sh -c "
	top=\$(grep -o '\"level\":\"critical\"' '$T/raw' >/dev/null && echo critical || (grep -q '\"level\":\"medium\"' '$T/raw' && echo medium || echo low))
	grep -q \"\\\"to\\\":\\\"\$top\\\"\" '$T/db'"
check "--debounce: a summary of transitions on standard error" grep -q "transitions (to none" "$T/dberr"
"$V" watch aa --no-daemon --trace "$D/anon1.vmpt" --debounce=enter=0 >/dev/null 2>"$T/err"
check "--debounce with a bad config: exit 2" [ $? -eq 2 ]
check "--debounce with a bad config names the byte" grep -q "byte 6: enter '0'" "$T/err"

# help and version
"$V" --help >"$T/out"
check "--help exits 0 and lists the commands" grep -q "replay" "$T/out"
"$V" replay --help >"$T/out"
check "replay --help describes --check" grep -q -- "--check" "$T/out"
"$V" version >"$T/out"
check "version" grep -q "^vmpressure " "$T/out"
"$V" frobnicate >/dev/null 2>&1
check "unknown command: exit 64" [ $? -eq 64 ]

# errors a newcomer meets: one line that quotes what was typed, then where
# the options are; never the whole help
for cmd in watch record estimate replay calc plot; do
	"$V" $cmd --bogus >"$T/out" 2>"$T/err"
	rc=$?
	check "$cmd --bogus: exit 64" [ $rc -eq 64 ]
	check "$cmd --bogus: exactly two lines on stderr" [ "$(wc -l <"$T/err")" -eq 2 ]
	check "$cmd --bogus: the option quoted" \
		[ "$(sed -n 1p "$T/err")" = "vmpressure $cmd: unknown option '--bogus'" ]
	check "$cmd --bogus: where the options are" \
		[ "$(sed -n 2p "$T/err")" = "(vmpressure $cmd --help lists the options)" ]
	check "$cmd --bogus: nothing on stdout" [ ! -s "$T/out" ]
done
"$V" frobnicate >/dev/null 2>"$T/err"
check "unknown command: one line and where the commands are" \
	[ "$(cat "$T/err")" = "vmpressure: unknown command 'frobnicate'
(vmpressure help lists the commands)" ]
"$V" watch --level Medium --no-daemon >/dev/null 2>"$T/err"
check "watch --level Medium: exit 2" [ $? -eq 2 ]
check "watch --level Medium: quotes what was typed, not 'Medium,hierarchy'" \
	[ "$(cat "$T/err")" = "vmpressure watch: --level 'Medium' is not a level (low, medium or critical)" ]
"$V" watch -m Hier --no-daemon >/dev/null 2>"$T/err"
check "watch -m Hier: exit 2" [ $? -eq 2 ]
check "watch -m Hier: quotes the option and the value" \
	[ "$(cat "$T/err")" = "vmpressure watch: -m 'Hier' is not a mode (default, hierarchy or local)" ]
"$V" calc 2 >/dev/null 2>"$T/err"
check "calc 2: exit 64" [ $? -eq 64 ]
check "calc 2: says RECLAIMED is missing" \
	[ "$(sed -n 1p "$T/err")" = "vmpressure calc: RECLAIMED is missing: calc SCANNED RECLAIMED" ]
check "calc 2: no help text" [ "$(wc -l <"$T/err")" -eq 2 ]
"$V" replay >/dev/null 2>"$T/err"
check "replay without FILE: says FILE is missing" grep -q "^vmpressure replay: FILE is missing" "$T/err"
check "replay without FILE: no help text" [ "$(wc -l <"$T/err")" -eq 2 ]
"$V" estimate >/dev/null 2>"$T/err"
check "estimate without FILE: exit 64" [ $? -eq 64 ]
check "estimate without FILE: says FILE is missing" grep -q "^vmpressure estimate: FILE is missing" "$T/err"

# watch CGROUP is relative to the cgroup root: a path with the root in
# front gets the hint with the path to type (a cgroup v2 fixture)
. "$(dirname "$0")/fixture.sh"
"$V" watch "$CG/x" --no-daemon $R -t 1 >/dev/null 2>"$T/err"
check "watch ROOT/x: exit 2" [ $? -eq 2 ]
check "watch ROOT/x: no such cgroup" grep -q "^vmpressure watch: cannot watch cgroup '$CG/x' (cgroup-v2 source): no such cgroup$" "$T/err"
check "watch ROOT/x: paths are below the root, try 'x'" \
	grep -qx "vmpressure watch: CGROUP is a path below the cgroup root $CG: try 'x'" "$T/err"
"$V" watch nosuch --no-daemon $R -t 1 >/dev/null 2>"$T/err"
check "watch nosuch: the root named" \
	grep -qx "vmpressure watch: CGROUP is a path below the cgroup root $CG ('/' for all of it)" "$T/err"

# "Permission denied" on cgroup v1 suggests root or the daemon: a v1
# fixture whose cgroup.event_control only root may write, watched as nobody
V1=$T/v1
mkdir -p "$V1/a"
for d in "$V1" "$V1/a"; do : >"$d/cgroup.event_control"; : >"$d/memory.pressure_level"; done
chmod 755 "$T" "$V1" "$V1/a"
chmod 644 "$V1/cgroup.event_control" "$V1/a/cgroup.event_control"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	n=$((n + 1))
	echo "ok $n # SKIP watch as nobody: needs root and setpriv to become nobody"
else
	setpriv --reuid=65534 --regid=65534 --clear-groups "$V" watch a --no-daemon --cgroup-root "$V1" -t 1 \
		>/dev/null 2>"$T/err"
	check "watch as nobody on v1: exit 77, permission denied" [ $? -eq 77 ]
	check "watch as nobody on v1: Permission denied" grep -q "(cgroup-v1 source): Permission denied$" "$T/err"
	check "watch as nobody on v1: suggests root or vmpressured" \
		grep -q "^vmpressure watch: registering with the kernel's cgroup v1 controller needs root: run as root, or start vmpressured" "$T/err"
fi

# --count N stops at N even when one dispatch delivers the whole burst
# (a trace at --speed 0 plays its 147 critical windows at once).
"$V" watch --no-daemon --trace "$D/anon1.vmpt" --speed 0 --level critical --count 2 >"$T/c2" 2>"$T/c2.err"
check "watch --count 2 of a burst: exit 0, two lines, a summary of 2" [ $? -eq 0 ] && [ "$(wc -l <"$T/c2")" -eq 2 ] &&
	grep -q ': 2 notifications in' "$T/c2.err"
"$V" watch --no-daemon --trace "$D/anon1.vmpt" --speed 0 --debounce --count 2 >"$T/c2d" 2>/dev/null
check "watch --debounce --count 2 of a burst: two transitions" [ "$(wc -l <"$T/c2d")" -eq 2 ]

tap_done cli
