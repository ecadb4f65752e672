#!/bin/sh
# vmpressure record, as a user runs it: recordings of fixture /proc and
# cgroup v2 trees whose counters change while `watch` and `record` run side
# by side, and of trace playbacks. Each recording must replay with
# `replay --check` to the counts it delivered, those must be the counts
# watch printed for the same changes, and a playback's recording must give
# the original's counts. Then the errors: output paths, v1, options.
# usage: test_record.sh VMPRESSURE DATADIR
set -u
V=$1
D=$2
. "$(dirname "$0")/../lib/tap.sh"
tap_scratch
# "<cgroup>: N notifications in ..." of a watch or record summary
summary() { sed -n 's/^vmpressure: [^ ]*: \([0-9]*\) notifications in .*/\1/p' "$1" | tail -1; }
# a listener's count in `replay` output
count_of() { awk -v id="$2" '$1 == id {print $2}' "$1"; }

# ---- fixture trees: cgroup v2 with a, and /proc ---------------------------
. "$(dirname "$0")/fixture.sh"

# watch and record, side by side, of the same changes: a's limit reclaim
# (v2 estimator) and global reclaim (the machine source). Each step is one
# write of the counters, then a pause longer than the sources' busy hold
# (2 s), so that both see each step whole.
dur=10
# shellcheck disable=SC2086
"$V" watch a --no-daemon $R --timeout $dur >"$T/w2.out" 2>"$T/w2.err" &
pids="$pids $!"
# shellcheck disable=SC2086
"$V" record a $R --duration $dur -o "$T/v2.vmpt" 2>"$T/r2.err" &
pids="$pids $!"
# shellcheck disable=SC2086
"$V" watch / --no-daemon --source machine $R --timeout $dur >"$T/wm.out" 2>"$T/wm.err" &
pids="$pids $!"
# shellcheck disable=SC2086
"$V" record / --source machine $R --duration $dur -o "$T/m.vmpt" 2>"$T/rm.err" &
pids="$pids $!"
sleep 1.5
cgset 2048 1024 10         # 50 % freed: low windows
vmstat 4096 3900 0         # kswapd, efficient: low
sleep 2.6
cgset 6144 1624 26         # 4096 scanned, 600 freed by 16 calls: medium
vmstat 8192 4700 0         # 4096 scanned, 800 freed: medium
sleep 2.6
cgset 8192 2648 36
vmstat 10240 6600 0
wait
pids=""

for k in v2 m; do
	case $k in v2) w=w2; r=r2; what="cgroup v2 estimator" ;; *) w=wm; r=rm; what="machine source" ;; esac
	"$V" replay --check "$T/$k.vmpt" >"$T/$k.counts" 2>"$T/$k.rerr"
	check "$what: replay --check of the recording exits 0" [ $? -eq 0 ]
	got=$(count_of "$T/$k.counts" 0)
	rec=$(summary "$T/$r.err")
	seen=$(summary "$T/$w.err")
	check "$what: the recording replays to the count record delivered ($got, $rec)" [ "${got:-x}" = "${rec:-y}" ]
	check "$what: ... which is what watch printed for the same run ($got, $seen)" [ "${got:-x}" = "${seen:-y}" ]
	check "$what: something happened to record ($got notifications)" [ "${got:-0}" -ge 3 ]
	check "$what: watch printed one line per notification" [ "$(grep -c '^[0-9]' "$T/$w.out")" = "$seen" ]
	check "$what: one listen and one expect record" \
		[ "$(grep -c '^listen ' "$T/$k.vmpt")" -eq 1 ] && [ "$(grep -c '^expect 0 ' "$T/$k.vmpt")" -eq 1 ]
done
check "v2: the listener is a at low,hierarchy" grep -qx 'listen 0 a low,hierarchy' "$T/v2.vmpt"
check "v2: windows at a, immediate timing (no work records)" \
	sh -c "grep -q '^vmpressure [0-9.]* a 1 ' '$T/v2.vmpt' && ! grep -q '^work ' '$T/v2.vmpt'"
check "v2: the medium step gave medium notifications" grep -q '  medium  ' "$T/w2.out"
check "machine: the medium step gave medium notifications" grep -q '  medium  ' "$T/wm.out"
check "machine: windows at the root" grep -q '^vmpressure [0-9.]* / 1 ' "$T/m.vmpt"
check "record's summary names the file" grep -q "records written to $T/v2.vmpt" "$T/r2.err"
check "v2: every sample has the scheduler's reading of the fixture's two CPUs" \
	sh -c "[ \$(grep -c '^# sample ' '$T/v2.vmpt') -ge 3 ] && ! grep '^# sample ' '$T/v2.vmpt' | grep -vq ' sched=2/2000000000\$'"

# ---- playback round trips ------------------------------------------------
# The trace source plays the file through the same engine: recording a
# listener of it gives the count the original file gives that listener
# alone (a default-mode listener hears less when one below it fires).
for f in "$D"/*.vmpt; do
	b=$(basename "$f")
	for id in $(grep '^listen ' "$f" | awk 'NR == 1 {print $2} END {print $2}'); do
		line=$(grep "^listen $id " "$f")
		g=$(echo "$line" | cut -d' ' -f3)
		a=$(echo "$line" | cut -d' ' -f4)
		lv=${a%%,*}
		md=default
		case $a in *,*) md=${a#*,} ;; esac
		"$V" record "$g" --level "$lv" --mode "$md" --trace "$f" --speed 0 --duration 1.5 -o "$T/rt.vmpt" \
			2>"$T/rt.err"
		check "$b #$id ($g $a): record exits 0" [ $? -eq 0 ]
		"$V" replay --check "$T/rt.vmpt" >"$T/rt.counts"
		check "$b #$id: replay --check of the recording exits 0" [ $? -eq 0 ]
		grep -v '^listen \|^expect ' "$f" | awk -v l="$line" '!done && !/^(group |#|$)/ {print l; done = 1} {print}' \
			>"$T/alone.vmpt"
		"$V" replay "$T/alone.vmpt" >"$T/orig"
		want=$(count_of "$T/orig" "$id")
		got=$(count_of "$T/rt.counts" 0)
		check "$b #$id: the recording gives the original's count ($got, $want)" [ "${got:-x}" = "${want:-y}" ]
	done
	if grep -q '^work ' "$f"; then
		check "$b: kernel timing kept (work records)" grep -q '^work ' "$T/rt.vmpt"
	else
		check "$b: immediate timing kept" sh -c "! grep -q '^work ' '$T/rt.vmpt'"
	fi
done
check "a playback keeps the file's times" sh -c \
	"grep '^vmpressure ' '$D/file1.vmpt' | head -1 | cut -d' ' -f2 | xargs -I{} grep -q '^vmpressure {} ' '$T/rt.vmpt' || \
	 grep '^vmpressure ' '$T/rt.vmpt' | head -1 | grep -q ."

# --count: stops after N notifications, the file still complete
"$V" record aa --trace "$D/anon1.vmpt" --speed 0 --count 5 -o "$T/c.vmpt" 2>"$T/c.err"
check "--count: exit 0" [ $? -eq 0 ]
"$V" replay --check "$T/c.vmpt" >/dev/null
check "--count: the recording replays with --check" [ $? -eq 0 ]
check "--count: at least 5 notifications" [ "$(sed -n 's/^expect 0 //p' "$T/c.vmpt")" -ge 5 ]
# standard output
"$V" record fa --trace "$D/file1.vmpt" --speed 0 --duration 0.5 2>/dev/null | "$V" replay --check - >/dev/null
check "-o defaults to standard output" [ $? -eq 0 ]

# ---- errors --------------------------------------------------------------
"$V" record aa --trace "$D/anon1.vmpt" --duration 0.1 -o "$T/no/such/dir/x.vmpt" 2>"$T/err"
check "unwritable output: exit 74" [ $? -eq 74 ]
check "unwritable output: the path is named" grep -q "no/such/dir/x.vmpt" "$T/err"
"$V" record aa --trace "$D/anon1.vmpt" --duration 0.1 -o "$T" 2>"$T/err"
check "a directory as output: exit 74" [ $? -eq 74 ]
"$V" record aa --trace "$D/anon1.vmpt" --duration 0.1 -o "" 2>"$T/err"
check "an empty output name: exit 64" [ $? -eq 64 ]
"$V" record aa --trace "$D/anon1.vmpt" --duration 0.1 -o 2>"$T/err"
check "-o without a value: exit 64" [ $? -eq 64 ]
if [ -w /dev/full ]; then
	"$V" record aa --trace "$D/anon1.vmpt" --speed 0 --duration 0.5 -o /dev/full 2>"$T/err"
	check "a full disk: exit 74 and said" sh -c "[ $? -eq 74 ] && grep -q 'No space' '$T/err'"
fi
"$V" record --source v1 $R -o "$T/x.vmpt" 2>"$T/err"
check "--source v1: exit 69" [ $? -eq 69 ]
check "--source v1: says why (the kernel's own levels)" grep -q "kernel's own pressure levels" "$T/err"
# a v1 fixture (cgroup.event_control): auto records the machine for '/'
V1=$T/v1
mkdir -p "$V1/x"
: >"$V1/cgroup.event_control"
"$V" record x --cgroup-root "$V1" --proc-root "$PR" --duration 0.2 -o "$T/x.vmpt" 2>"$T/err"
check "v1, a cgroup: exit 69" [ $? -eq 69 ]
check "v1, a cgroup: says only the whole machine can be recorded" grep -q "only the whole machine" "$T/err"
"$V" record / --cgroup-root "$V1" --proc-root "$PR" --duration 0.2 -o "$T/x.vmpt" 2>"$T/err"
check "v1, '/': records the machine source instead, exit 0" [ $? -eq 0 ]
check "v1, '/': says so" grep -q "recording the whole machine with the /proc/vmstat estimator" "$T/err"
"$V" replay --check "$T/x.vmpt" >/dev/null
check "v1, '/': the (quiet) recording replays" [ $? -eq 0 ]
rm -f "$T/x.vmpt"
"$V" record nope $R --source v2 --duration 0.1 -o "$T/x.vmpt" 2>"$T/err"
check "no such cgroup: exit 2" [ $? -eq 2 ]
check "no such cgroup: no file left behind" [ ! -e "$T/x.vmpt" ]
"$V" record a $R --level huge -o "$T/x.vmpt" 2>"$T/err"
check "bad level: exit 2" [ $? -eq 2 ]
"$V" record --bogus 2>/dev/null
check "unknown option: exit 64" [ $? -eq 64 ]
"$V" record --trace "$D/missing.vmpt" -o "$T/x.vmpt" 2>"$T/err"
check "missing trace: exit 74" [ $? -eq 74 ]
"$V" record --help >"$T/out"
check "record --help describes -o and --duration" sh -c "grep -q -- '--output' '$T/out' && grep -q -- '--duration' '$T/out'"

check "no sanitizer report in any run" sh -c "! cat '$T'/*.err | grep -q 'runtime error\|Sanitizer'"

tap_done record
