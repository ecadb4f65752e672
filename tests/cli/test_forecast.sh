#!/bin/sh
# vmpressure watch --forecast on a fixture tree of cgroup v2 files (no
# root, no cgroups needed): it reads, says nothing while nothing grows,
# and refuses bad arguments with the exit codes of vmpressure(1).
#
#   test_forecast.sh VMPRESSURE
set -u
V=$1
. "$(dirname "$0")/../lib/tap.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/vmp-fccli.XXXXXX") || skip "no temporary directory"
trap 'rm -rf "$T"' EXIT
C=$T/cg
P=$T/proc
mkdir -p "$C/app/job" "$P/pressure"
echo memory >"$C/cgroup.controllers"
for g in app app/job; do
	: >"$C/$g/cgroup.procs"
	echo 10485760 >"$C/$g/memory.current"
	echo max >"$C/$g/memory.high"
	printf 'anon 10000000\nfile 400000\nshmem 0\nactive_file 200000\ninactive_file 200000\n' >"$C/$g/memory.stat"
	printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n' >"$C/$g/memory.events"
done
echo max >"$C/app/memory.max"
echo 20971520 >"$C/app/job/memory.max"
printf 'MemTotal: 1000000 kB\nMemAvailable: 900000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n' >"$P/meminfo"
printf 'oom_kill 0\n' >"$P/vmstat"
R="--cgroup-root $C --proc-root $P"

# shellcheck disable=SC2086
"$V" watch app/job --forecast=5 --json -t 1 $R >"$T/out" 2>"$T/err"
check "a flat group on fixtures: exit 0" [ $? -eq 0 ]
check "... nothing on standard output" [ ! -s "$T/out" ]
check "... the summary counts its samples" grep -q "0 forecast warnings, 0 cleared, in 1\.[0-9] s ([0-9]* samples" "$T/err"
check "... and names the threshold and the files read" grep -q "warn under 5.0 s; cgroup-v2 files" "$T/err"
sed 's/^/# /' "$T/err"

# shellcheck disable=SC2086
"$V" watch app/nope --forecast $R -t 1 >"$T/out" 2>"$T/err"
check "no such cgroup: exit 2" [ $? -eq 2 ]
check "... named: $(cat "$T/err")" grep -q "app/nope.*no such memory cgroup" "$T/err"
for bad in abc 0 -1 5s 100000; do
	# shellcheck disable=SC2086
	"$V" watch app --forecast="$bad" $R -t 1 >"$T/out" 2>"$T/err"
	check "--forecast=$bad: exit 2" [ $? -eq 2 ]
done
check "... the value named" grep -q "forecast='100000' is not a number of seconds" "$T/err"
# shellcheck disable=SC2086
"$V" watch app --forecast --debounce $R -t 1 >"$T/out" 2>"$T/err"
check "--forecast with --debounce: exit 64" [ $? -eq 64 ]
"$V" watch --forecast --trace "$T/none.vmpt" -t 1 >"$T/out" 2>"$T/err"
check "--forecast with --trace: exit 64" [ $? -eq 64 ]
# Recordings keep the forecast's samples; forecast replays them.
# shellcheck disable=SC2086
"$V" record app/job --forecast -d 1 $R -o "$T/rec.vmpt" 2>"$T/err"
check "record --forecast on fixtures: exit 0" [ $? -eq 0 ]
check "... the forecast's header and samples in the file" sh -c "grep -qx '# fcsamples 1' '$T/rec.vmpt' &&
	grep -q '^# fcsample-cg app/job usage=10485760 max=20971520 high=max swap=- anon=10000000 ' '$T/rec.vmpt'"
check "... beside the v2 estimator's samples" grep -q '^# samples 1' "$T/rec.vmpt"
check "replay --check still takes the file" sh -c "'$V' replay --check '$T/rec.vmpt' >/dev/null"
check "estimate --check too" sh -c "'$V' estimate --check '$T/rec.vmpt' >/dev/null"
"$V" forecast "$T/rec.vmpt" >"$T/out" 2>"$T/err"
check "forecast FILE: exit 0" [ $? -eq 0 ]
check "... nothing forecast on a flat group" [ ! -s "$T/out" ]
check "... its samples counted: $(cat "$T/err")" grep -q "rec.vmpt: [0-9]* samples: 0 forecast warnings" "$T/err"
"$V" forecast "$T/rec.vmpt" --every >"$T/out" 2>"$T/err"
check "... --every: a line per sample, no eta on a flat group" sh -c "[ \$(wc -l <'$T/out') -ge 5 ] &&
	grep -q '^[0-9.]* - app/job [0-9]* 0\$' '$T/out'"
"$V" forecast "$T/rec.vmpt" --setting warn=x >"$T/out" 2>"$T/err"
check "a bad --setting: exit 2, the byte named" sh -c "[ $? -eq 2 ] && grep -q 'byte 5' '$T/err' && [ ! -s '$T/out' ]"
printf '# vmptrace 1\n# fcsamples 1\n# fcsample 0.1 1 psi=- -\n# fcsample-cg a usage=1 max=x\n' >"$T/bad.vmpt"
"$V" forecast "$T/bad.vmpt" >"$T/out" 2>"$T/err"
check "a malformed sample: exit 2, nothing on standard output" sh -c "[ $? -eq 2 ] && [ ! -s '$T/out' ]"
check "... its line and byte named: $(cat "$T/err")" grep -q "bad.vmpt:4: byte [0-9]*: max=" "$T/err"
"$V" forecast tests/data/none.vmpt 2>"$T/err"
check "a missing file: exit 74" [ $? -eq 74 ]
"$V" forecast "$T/bad.vmpt" extra 2>"$T/err"
check "two files: exit 64" [ $? -eq 64 ]

"$V" watch --help >"$T/help"
check "watch --help tells of --forecast" grep -q -- "--forecast\[=SECONDS\]" "$T/help"
tap_done forecast-cli
