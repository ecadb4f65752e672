#!/bin/sh
# The OOM forecast's lead on this machine's cgroup v1 (docs/forecast.md):
#
#   sh bench/forecast_live.sh BUILD_DIR [OUT_DIR]
#
# Each workload runs alone in a fresh 48M memory cgroup with no swap
# (below this script's own cgroup, removed however it ends; root and a v1
# memory controller needed, else it says so and exits 0) while
# `vmpressure record --forecast` keeps the model's inputs; then
# `vmpressure forecast` replays them. Per workload: the approach (from
# when unreclaimable memory passed half the limit to the kill), the lead
# (first warning to the kill; the kill is the sample where the kill
# cleared the forecast, so it is late by up to one 100 ms sample), the
# eta at that warning against the time that remained, and the warnings
# on the benign ones. The baseline, from the same samples: earlyoom's
# rule carried to a cgroup, warning once headroom (limit - usage) is under
# 10 % of the limit. Prints a markdown table, a JSON line per workload,
# and a verdict line; never fails on a missed goal.
set -u
B=${1:?usage: forecast_live.sh BUILD_DIR [OUT_DIR]}
OUT=${2:-$B/bench}
V=$B/vmpressure
G=$B/tests/forecast_grow
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "forecast_live: needs root for memory cgroups; nothing measured"; exit 0; }
mnt=/sys/fs/cgroup/memory
[ -f "$mnt/cgroup.event_control" ] || { echo "forecast_live: no cgroup v1 memory controller; nothing measured"; exit 0; }
rel=$(sed -n 's/^[0-9]*:memory:\(.*\)$/\1/p' /proc/self/cgroup | head -n 1)
[ "$rel" = / ] && rel=
T=$(mktemp -d "${TMPDIR:-/var/tmp}/vmp-fcbench.XXXXXX") || exit 0
CG=
cleanup() {
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		for t in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$t" 2>/dev/null; done
		sleep 0.2
		rmdir "$CG" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
LIMIT=50331648

json=$OUT/forecast_live.json
: >"$json"
echo "| workload | kind | approach s | forecast lead s | eta at warning s | time left then s | warnings | headroom<10% lead s | headroom<10% warnings |"
echo "|---|---|---|---|---|---|---|---|---|"
goal_ok=1
run() { # name kind command...
	name=$1 kind=$2
	shift 2
	CG=$mnt$rel/vmp-fcbench-$name-$$
	mkdir "$CG" || { echo "forecast_live: cannot create $CG"; exit 0; }
	echo $LIMIT >"$CG/memory.limit_in_bytes"
	[ -f "$CG/memory.memsw.limit_in_bytes" ] && echo $LIMIT >"$CG/memory.memsw.limit_in_bytes" 2>/dev/null
	"$V" record "${CG#"$mnt"/}" --forecast -o "$T/$name.vmpt" 2>"$T/$name.rec" &
	rp=$!
	sleep 1.2
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" "$@" >/dev/null 2>&1
	sleep 0.5
	kill -INT "$rp"
	wait "$rp"
	for t in $(cat "$CG/cgroup.procs"); do kill -9 "$t" 2>/dev/null; done
	sleep 0.2
	rmdir "$CG"
	CG=
	"$V" forecast "$T/$name.vmpt" --json >"$T/$name.json" 2>/dev/null
	# t of: the first warning and its eta, the kill, U past half, usage past 90 %
	w=$(sed -n '/"cause":"eta"/{s/.*"t":\([0-9.]*\).*"eta":\([0-9.]*\).*/\1 \2/p;q}' "$T/$name.json")
	k=$(sed -n '/"cause":"killed"/{s/.*"t":\([0-9.]*\).*/\1/p;q}' "$T/$name.json")
	nw=$(grep -c '"event":"forecast"' "$T/$name.json")
	# from the samples: the watched group is the first cgroup line after each step
	awk -v L=$LIMIT '
		/^# fcsample / { t = $3; first = 1; next }
		/^# fcsample-cg / && first {
			first = 0
			for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			u = v["usage"] - v["file"]
			if (!half && u > L / 2) half = t
			if (!h10 && L - v["usage"] < L / 10) h10 = t
			if (!kill && v["oom_kill"] > 0) kill = t
			if (h10 && !kill) h10n = 1
		}
		END { printf "%s %s %s %d\n", half ? half : "-", h10 ? h10 : "-", kill ? kill : "-", h10n }
	' "$T/$name.vmpt" >"$T/$name.awk"
	read -r half h10 kill_s h10n <"$T/$name.awk"
	kill_t=${k:-$kill_s}
	approach=- lead=- eta=- left=- blead=-
	if [ "$kind" = oom ] && [ "$kill_t" != - ]; then
		[ "$half" != - ] && approach=$(awk "BEGIN { printf \"%.1f\", $kill_t - $half }")
		[ "$h10" != - ] && blead=$(awk "BEGIN { printf \"%.1f\", $kill_t - $h10 }")
		if [ -n "$w" ]; then
			set -- $w
			lead=$(awk "BEGIN { printf \"%.1f\", $kill_t - $1 }")
			eta=$(awk "BEGIN { printf \"%.1f\", $2 }")
			left=$lead
		fi
		if [ "$approach" != - ] && awk "BEGIN { exit !($approach >= 2) }"; then
			[ "$lead" != - ] && awk "BEGIN { exit !($lead >= 1 && $lead >= $approach / 2) }" || goal_ok=0
		fi
	else
		[ "$nw" -eq 0 ] || goal_ok=0
	fi
	bw=$h10n
	[ "$kind" = oom ] && bw=-
	echo "| $name | $kind | $approach | $lead | $eta | $left | $nw | $blead | $bw |"
	printf '{"workload":"%s","kind":"%s","approach_s":"%s","lead_s":"%s","eta_s":"%s","left_s":"%s","warnings":%s,"baseline_headroom10_lead_s":"%s","baseline_headroom10_warned":"%s"}\n' \
		"$name" "$kind" "$approach" "$lead" "$eta" "$left" "$nw" "$blead" "$bw" >>"$json"
}
for r in 2 4 8 16 32 64 256; do run "leak$r" oom "$G" "$r"; done
run stream benign sh -c 'dd if=/dev/zero of="$0/big" bs=1M count=256 2>/dev/null
	end=$(($(date +%s) + 20)); while [ "$(date +%s)" -lt "$end" ]; do cat "$0/big" >/dev/null; done' "$T"
rm -f "$T/big"
run stable benign sh -c '"$0" 64 40 & p=$!; sleep 1; dd if=/dev/zero of="$1/big2" bs=1M count=128 2>/dev/null
	end=$(($(date +%s) + 10)); while [ "$(date +%s)" -lt "$end" ]; do cat "$1/big2" >/dev/null; done; kill $p' "$G" "$T"
rm -f "$T/big2"
run burst benign sh -c '"$0" 200 40 & p=$!; sleep 2; kill $p; sleep 3' "$G"
echo
echo "JSON: $json"
echo "goal: every OOM whose approach lasts >= 2 s forecast >= 1 s and >= half its approach ahead; no warning on a benign workload"
if [ $goal_ok -eq 1 ]; then echo "verdict: goal met on this run"; else echo "verdict: goal missed on this run (see the table)"; fi
