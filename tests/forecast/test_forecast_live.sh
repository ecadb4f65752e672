#!/bin/sh
# The OOM forecast on this machine's real cgroup v1 memory controller.
#
#   test_forecast_live.sh VMPRESSURE GROW
#
# Two memory cgroups with a 48M limit and no swap, below this test's own
# memory cgroup (from /proc/self/cgroup), removed however the test ends:
#   - leak: GROW allocates anonymous memory at 4 MiB/s until the OOM
#     killer takes it (a 12 s approach); `watch --forecast --json` must
#     print "event":"forecast" at least 1 s before the kill (the time GROW
#     died, and memory.oom_control's oom_kill says the kernel killed it),
#     one warning for the approach (re-raises aside), its eta the time
#     that remained within a factor of two, and a forecast-clear with
#     cause killed after it; --exec runs for both with VMP_ETA & co.;
#     `record --forecast` keeps the samples, and `vmpressure forecast`
#     on them forecasts the leak again, later with --setting warn=2;
#   - stream: a 256 MB file read again and again through the limit for
#     20 s (page cache churning: refaults, usage at the limit): no
#     forecast at all; then the cgroup is removed under the watch, which
#     prints "event":"removed" and exits 0.
# Skips (TAP "1..0 # SKIP") when not root, without a v1 memory controller,
# or when a cgroup cannot be created. Changes nothing outside its cgroups
# and its temporary directory: no drop_caches, no sysctl.
set -u
V=$1
GROW=$2

V1_NAME=vmp-forecast
V1_SUBDIRS="leak stream"
. "$(dirname "$0")/../lib/v1cgroup.sh"
export FC_OUT="$T/exec" # VMP_* do not reach the command: the runner strips them

epoch() { date -d "$1" +%s.%N; } # an ISO 8601 time as seconds
field() { # the JSON number or string of key $2 in line $1
	echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

for g in leak stream; do
	mkdir "$CG/$g" && echo 48M >"$CG/$g/memory.limit_in_bytes" ||
		{ no "create $CG/$g with a 48M limit"; tap_done forecast-live; }
	[ -f "$CG/$g/memory.memsw.limit_in_bytes" ] && echo 48M >"$CG/$g/memory.memsw.limit_in_bytes" 2>/dev/null
done
echo "# cgroup $CG (as $CGREL), temporary files in $T"

# ---- a steady leak to the OOM kill ----
"$V" watch "$CGREL/leak" --forecast --json --exec-interval 0 \
	--exec 'env | grep "^VMP_" | sort >"$FC_OUT.$VMP_EVENT.$$"' >"$T/leak.json" 2>"$T/leak.err" &
wl=$!
pids="$pids $wl"
"$V" record "$CGREL/leak" --forecast -o "$T/leak.vmpt" 2>"$T/rec.err" &
wr=$!
pids="$pids $wr"
check "watch --forecast is up on the leak's cgroup" wait_for "$T/leak.err" "OOM forecast"
check "record --forecast too" wait_for "$T/rec.err" "recording"
sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 4' sh "$CG/leak" "$GROW" 2>/dev/null
gs=$?
t_kill=$(date +%s.%N)
oomk=$(sed -n 's/^oom_kill \([0-9]*\)/\1/p' "$CG/leak/memory.oom_control")
check "the leak was OOM-killed in its cgroup (status $gs, oom_kill ${oomk:-?})" [ "$gs" -eq 137 ] && [ "${oomk:-0}" -ge 1 ]
wait_for "$T/leak.json" '"event":"forecast-clear"' 300
i=0 # the clear's --exec run, before the watch is stopped
while [ $i -lt 300 ] && ! ls "$T"/exec.forecast-clear.* >/dev/null 2>&1; do sleep 0.01; i=$((i + 1)); done
sleep 0.1
kill "$wl" 2>/dev/null
wait "$wl" 2>/dev/null
kill -INT "$wr" 2>/dev/null
wait "$wr"
check "record stopped by a signal: exit 0" [ $? -eq 0 ]
first=$(grep -m1 '"event":"forecast"' "$T/leak.json")
check "a forecast came" [ -n "$first" ]
if [ -n "$first" ]; then
	t_warn=$(epoch "$(field "$first" time)")
	eta=$(field "$first" eta)
	lead=$(awk "BEGIN { printf \"%.3f\", $t_kill - $t_warn }")
	echo "# first forecast: eta $eta s; the kill came $lead s later"
	check "... at least 1 s before the kill (lead $lead s)" awk "BEGIN { exit !($lead >= 1) }"
	check "... its eta ($eta s) within a factor of two of the time that remained ($lead s)" \
		awk "BEGIN { exit !($eta <= 2 * $lead && 2 * $eta >= $lead) }"
	check "... with its evidence: the 48M limit, unreclaimable memory growing" \
		[ "$(field "$first" limit)" = 50331648 ] && [ "$(field "$first" growth)" -gt 1000000 ]
fi
check "one warning for the approach (re-raises aside)" [ "$(grep -c '"cause":"eta"' "$T/leak.json")" -eq 1 ]
check "the kill cleared it" grep -q '"event":"forecast-clear".*"cause":"killed"' "$T/leak.json"
ex=$(ls "$T"/exec.forecast.* 2>/dev/null | head -n 1)
check "--exec ran for the forecast with its evidence" [ -n "$ex" ] && grep -q '^VMP_ETA=[0-9.]*$' "$ex" &&
	grep -qx 'VMP_LIMIT=50331648' "$ex" && grep -qx "VMP_CGROUP=$CGREL/leak" "$ex" && grep -qx 'VMP_CAUSE=eta' "$ex" ||
	grep -l . "$T"/exec.forecast.* 2>/dev/null | head -n 1 | xargs -r sed 's/^/# exec: /'
check "... and for its clearing" sh -c "grep -qx 'VMP_CAUSE=killed' '$T'/exec.forecast-clear.*"
sed 's/^/# leak: /' "$T/leak.json" "$T/leak.err"

# ---- the recording replayed, with another setting ----
"$V" forecast "$T/leak.vmpt" --json >"$T/re.json" 2>"$T/re.err"
check "forecast FILE on the recording: exit 0 ($(cat "$T/re.err"))" [ $? -eq 0 ]
f1=$(grep -m1 '"event":"forecast"' "$T/re.json")
check "... it forecasts the leak, and the kill clears it" [ -n "$f1" ] &&
	grep -q '"event":"forecast-clear".*"cause":"killed"' "$T/re.json"
"$V" forecast "$T/leak.vmpt" --json --setting warn=2 >"$T/re2.json" 2>"$T/re2.err"
f2=$(grep -m1 '"event":"forecast"' "$T/re2.json")
if [ -n "$f1" ] && [ -n "$f2" ]; then
	check "--setting warn=2: later ($(field "$f2" t) s, not $(field "$f1" t) s), eta under 2 ($(field "$f2" eta))" \
		awk "BEGIN { exit !($(field "$f2" t) > $(field "$f1" t) && $(field "$f2" eta) < 2) }"
else
	no "--setting warn=2 forecasts too"
fi

# ---- page cache streaming through the limit ----
"$V" watch "$CGREL/stream" --forecast --json >"$T/stream.json" 2>"$T/stream.err" &
ws=$!
pids="$pids $ws"
check "watch --forecast is up on the streaming cgroup" wait_for "$T/stream.err" "OOM forecast"
sh -c 'echo $$ >"$1/cgroup.procs" || exit 1
	dd if=/dev/zero of="$2/big" bs=1M count=256 2>/dev/null || exit 1
	end=$(($(date +%s) + 20))
	while [ "$(date +%s)" -lt "$end" ]; do cat "$2/big" >/dev/null || exit 1; done' sh "$CG/stream" "$T"
check "streamed for 20 s inside the cgroup" [ $? -eq 0 ]
rf=$(sed -n 's/^total_workingset_refault_file \([0-9]*\)/\1/p;s/^total_workingset_refault \([0-9]*\)/\1/p' \
	"$CG/stream/memory.stat" | head -n 1)
mx=$(cat "$CG/stream/memory.max_usage_in_bytes")
echo "# stream: ${rf:-?} refaults, peak usage $mx"
check "... through the limit (peak usage $mx of 50331648)" [ "$mx" -ge 45000000 ]
check "... with page cache refaulting (${rf:-none})" [ "${rf:-0}" -gt 1000 ]
check "no forecast while streaming" sh -c "! grep -q '\"event\":\"forecast' '$T/stream.json'"
rm -f "$T/big"
rmdir "$CG/stream"
wait_for "$T/stream.json" '"event":"removed"' 300
check "the cgroup removed under the watch: a removed event" grep -q '"event":"removed"' "$T/stream.json"
wait "$ws"
check "... and watch exits 0" [ $? -eq 0 ]
sed 's/^/# stream: /' "$T/stream.json" "$T/stream.err"
tap_done forecast-live
