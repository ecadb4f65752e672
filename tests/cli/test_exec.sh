#!/bin/sh
# Actions without code: `vmpressure watch --exec` (in-process and through
# the daemon) and `vmpressured --exec`, driven by a kernel capture played
# back (tests/data/anon1.vmpt). The command writes what it sees to files;
# the test checks (a) its environment against the events --json printed
# for the same run, (b) the least interval between starts, (c) that runs
# never overlap, (d) that exit codes, signals and timeouts are logged, and
# (e) that the child holds no descriptor of its parent's but 0, 1 and 2,
# with stdin /dev/null, its own process group and default signals.
# usage: test_exec.sh VMPRESSURE VMPRESSURED DATADIR
set -u
V=$1
D=$2
DATA=$3
TRACE=$DATA/anon1.vmpt
T=$(mktemp -d)
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$(dirname "$0")/../lib/tap.sh"

# The command of (a): its VMP_* variables, one block per run, appended
# (runs never overlap, so the blocks are in run order).
ENVCMD='{ env | grep "^VMP_" | sort; echo --; } >>"$OUT"'

# The JSON line watch prints for the event a block describes (no PSI in
# a trace; the source is not in the object: checked apart): if the
# environment is right, it is one of the printed lines.
to_json() { # blocks file -> one JSON line per block
	awk -F= '
	function q(k) { return (k in v) ? "\"" v[k] "\"" : "null" }
	function num(k) { return (k in v) ? v[k] : "null" }
	$0 == "--" {
		printf "{\"event\":\"%s\",\"time\":\"%s\",\"cgroup\":%s,\"origin\":%s,\"level\":\"%s\",\"count\":%s,\"scanned\":%s,\"reclaimed\":%s,\"pressure\":%s,\"psi_some_avg10\":null,\"psi_full_avg10\":null}\n", \
			v["VMP_EVENT"], v["VMP_TIME"], q("VMP_CGROUP"), q("VMP_ORIGIN"), v["VMP_LEVEL"], v["VMP_COUNT"], \
			num("VMP_SCANNED"), num("VMP_RECLAIMED"), num("VMP_PRESSURE")
		split("", v); next
	}
	{ k = $1; sub(/^[^=]*=/, ""); v[k] = $0 }' "$1"
}

# Checks (a) on one run: env blocks, JSON output, watch's stderr.
check_env() { # label blocks json err total
	l=$1 B=$2 J=$3 E=$4 total=$5
	runs=$(grep -c '^--$' "$B")
	check "$l: the command ran ($runs runs)" [ "$runs" -ge 1 ]
	check "$l: $total events printed" [ "$(wc -l <"$J")" -eq "$total" ]
	to_json "$B" >"$T/rebuilt"
	bad=0
	while IFS= read -r line; do grep -Fxq "$line" "$J" || bad=$((bad + 1)); done <"$T/rebuilt"
	check "$l: every run's VMP_* variables are one of the printed events" [ "$bad" -eq 0 ] && [ "$runs" -gt 0 ]
	check "$l: the last run has the last event's evidence" [ "$(tail -n 1 "$T/rebuilt")" = "$(tail -n 1 "$J")" ]
	coal=$(awk -F= '$1 == "VMP_COALESCED" { s += $2 } END { print s + 0 }' "$B")
	check "$l: runs + VMP_COALESCED sum to the events ($runs + $coal = $total)" [ $((runs + coal)) -eq "$total" ]
	check "$l: the summary counts them (runs, events, coalesced)" \
		grep -q "exec: $runs runs for $total events ($coal coalesced), 0 failed" "$E"
	check "$l: one exit line per run" [ "$(grep -cE 'exec: pid [0-9]+ exited 0 after [0-9]+\.[0-9]{3} s$' "$E")" -eq "$runs" ]
	check "$l: nothing inherited from the caller's VMP_* variables" sh -c "! grep -q '^VMP_STALE' '$B'"
	check "$l: no VMP_PREV_LEVEL outside transitions" sh -c "! grep -q '^VMP_PREV_LEVEL' '$B'"
}

# ---- (a) the environment, in-process ---------------------------------------
total=$("$V" replay "$TRACE" | awk '$1 == 2 { print $2 }') # listener 2: aa critical
OUT=$T/env1 VMP_STALE=1 "$V" watch aa --level critical --mode default --json -n "$total" \
	--trace "$TRACE" --speed 0 --exec-interval 0 --exec "$ENVCMD" >"$T/j1" 2>"$T/e1"
check "in-process: watch --exec exits 0" [ $? -eq 0 ]
check_env "in-process" "$T/env1" "$T/j1" "$T/e1" "$total"
check "in-process: VMP_EVENT=pressure, VMP_SOURCE=trace, VMP_CGROUP=aa" \
	sh -c "grep -qx VMP_EVENT=pressure '$T/env1' && grep -qx VMP_SOURCE=trace '$T/env1' && grep -qx VMP_CGROUP=aa '$T/env1'"

# ---- (a) the same through the daemon ---------------------------------------
S=$T/control
# The low action's grep is exec'd so that it reads its own mask, the one
# the shell got: the shell's mask read from a child is racy (dash blocks
# every signal around its own forks).
exec 7>"$T/leaked-fd" # (e): not close-on-exec: neither the daemon's commands nor watch's may see it
"$D" --socket "$S" --trace "$TRACE" --speed 0 --trace-hold \
	--exec "aa critical OUT=$T/env3; $ENVCMD; exit 3" --exec-interval 0.2 \
	--exec 'aa low ls /proc/$$/fd; exec grep -E "^Sig(Blk|Ign)" /proc/self/status' \
	>"$T/daemon.out" 2>"$T/daemon.err" &
dpid=$!
check "the daemon is up with two --exec actions" wait_for "$T/daemon.err" "serving on"
OUT=$T/env2 "$V" watch aa --level critical --mode default --json -n "$total" --socket "$S" -t 30 \
	--exec-interval 0 --exec "$ENVCMD" >"$T/j2" 2>"$T/e2" &
wpid=$!
wait_for "$T/e2" watching
kill -USR1 "$dpid"
wait $wpid
check "through the daemon: watch --exec exits 0" [ $? -eq 0 ]
check "through the daemon: stderr says so" grep -q "through vmpressured" "$T/e2"
check_env "through the daemon" "$T/env2" "$T/j2" "$T/e2" "$total"
check "through the daemon: VMP_SOURCE=trace in every run" \
	[ "$(grep -cx VMP_SOURCE=trace "$T/env2")" -eq "$(grep -c '^--$' "$T/env2")" ]

# ---- the daemon's own --exec: (a) against the client's events, (d), (e) ----
# Its subscription is the one watch shared, so the events are those of j2.
sleep 0.5 # let the pending run of the 0.2 s interval start; if not, it is counted
kill "$dpid"
wait "$dpid"
check "the daemon stops with status 0" [ $? -eq 0 ]
dpid=
druns=$(grep -c '^--$' "$T/env3")
check "daemon --exec: one 'exited 3' warning per run ($druns)" \
	[ "$(grep -cE 'exec #1 \(aa critical\): pid [0-9]+ exited 3 after [0-9.]+ s \([0-9]+ events\)$' "$T/daemon.err")" -eq "$druns" ]
check "daemon --exec: ran at least once" [ "$druns" -ge 1 ]
to_json "$T/env3" | sed 's/"time":"[^"]*",//' >"$T/rebuilt"
sed 's/"time":"[^"]*",//' "$T/j2" >"$T/j2.notime"
bad=0
while IFS= read -r line; do grep -Fxq "$line" "$T/j2.notime" || bad=$((bad + 1)); done <"$T/rebuilt"
check "daemon --exec: every run's evidence is an event the client got" [ "$bad" -eq 0 ]
summary=$(grep 'exec #1 (aa critical): .* runs for' "$T/daemon.err")
r=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) runs for \([0-9]*\) events (\([0-9]*\) coalesced), \([0-9]*\) failed.*/\1 \2 \3 \4/p')
set -- $r
pend=0
case $summary in *"pending run dropped"*) pend=1 ;; esac
check "daemon --exec: the summary adds up (runs $1 + coalesced $3 + pending $pend = events $2 = $total)" \
	[ "${1:-x}" = "$druns" ] && [ $(($1 + $3 + pend)) -eq "$2" ] && [ "$2" -eq "$total" ]
check "daemon --exec: every run counted as failed (exit 3)" [ "${4:-x}" = "$druns" ]
# The listing goes to the daemon's standard output: a redirection would
# show the shell's own saved copy of fd 1.
check "daemon --exec: the child has only fds 0 1 2 (no socket, eventfd, epoll, fd 7)" \
	[ "$(grep -xE '[0-9]+' "$T/daemon.out" | sort -un | tr '\n' ' ')" = "0 1 2 " ]
check "daemon --exec: empty signal mask, nothing ignored (the daemon ignores SIGPIPE)" \
	[ "$(grep -E '^Sig' "$T/daemon.out" | tr -d ' \t' | sort -u | tr '\n' ' ')" = "SigBlk:0000000000000000 SigIgn:0000000000000000 " ]

# ---- (e) in-process: descriptors, stdin, process group ----------------------
"$V" watch aa --level critical --mode default -n 1 --trace "$TRACE" --speed 0 --exec \
	'ls /proc/$$/fd; readlink /proc/$$/fd/0 >'"$T/stdin"'; cut -d" " -f5 /proc/$$/stat >'"$T/pgid"'; echo $$ >'"$T/pid" \
	>/dev/null 2>"$T/e5"
check "watch --exec: the child has only fds 0 1 2 (fd 7 of the caller closed)" \
	[ "$(grep -xE '[0-9]+' "$T/e5" | sort -un | tr '\n' ' ')" = "0 1 2 " ]
check "watch --exec: stdin is /dev/null" [ "$(cat "$T/stdin")" = /dev/null ]
check "watch --exec: its own process group" [ "$(cat "$T/pgid")" = "$(cat "$T/pid")" ]
exec 7>&-

# ---- (b) the least interval between starts ----------------------------------
# Low, default: the trace's events spread over 3 s at speed 1. The times
# are taken by the children, a little after each fork; 0.1 s of the 0.4
# is slack for a child that is slow to start, so that only a runner that
# starts early can fail this.
low=$("$V" replay "$TRACE" | awk '$1 == 0 { print $2 }')
"$V" watch aa --level low --mode default -n "$low" --trace "$TRACE" --speed 1 --exec-interval 0.4 \
	--exec "date +%s.%N >>$T/starts" >/dev/null 2>"$T/e6"
runs=$(wc -l <"$T/starts")
check "interval: several runs ($runs)" [ "$runs" -ge 2 ]
check "interval: starts at least 0.4 s apart (0.3 with slack)" \
	awk 'NR > 1 && $1 - p < 0.3 { bad = 1 } { p = $1 } END { exit bad }' "$T/starts"

# ---- (c) never two at once ---------------------------------------------------
# No interval, a command slower than the events: a lock directory that a
# second instance would fail to make, and start/end times.
"$V" watch aa --level low --mode default -n "$low" --trace "$TRACE" --speed 1 --exec-interval 0 \
	--exec "mkdir $T/lock || echo overlap >>$T/overlap; echo s \$(date +%s.%N) >>$T/se; sleep 0.1; echo e \$(date +%s.%N) >>$T/se; rmdir $T/lock" \
	>/dev/null 2>"$T/e7"
runs=$(grep -c '^s' "$T/se")
check "overlap: several runs ($runs)" [ "$runs" -ge 2 ]
check "overlap: no run found the lock taken" [ ! -e "$T/overlap" ]
check "overlap: each run starts after the previous one ended" \
	awk '{ if ($1 == "s" && NR > 1 && (last != "e" || $2 < end)) bad = 1; if ($1 == "e") end = $2; last = $1 } END { exit bad }' "$T/se"
check "overlap: the rest were coalesced (summary)" grep -qE "exec: $runs runs for $low events \([0-9]+ coalesced\)" "$T/e7"

# ---- (d) exit statuses --------------------------------------------------------
"$V" watch aa --level critical --mode default -n 1 --trace "$TRACE" --speed 0 --exec 'exit 3' >/dev/null 2>"$T/e8"
check "exit 3 is logged" grep -qE '^vmpressure: exec: pid [0-9]+ exited 3 after [0-9]+\.[0-9]{3} s$' "$T/e8"
check "... and counted as failed" grep -qE 'exec: [0-9]+ runs for [0-9]+ events \([0-9]+ coalesced\), [1-9][0-9]* failed' "$T/e8"
"$V" watch aa --level critical --mode default -n 1 --trace "$TRACE" --speed 0 --exec 'kill -9 $$' >/dev/null 2>"$T/e9"
check "a kill -9 is logged as signal 9" grep -qE '^vmpressure: exec: pid [0-9]+ killed by signal 9 \(KILL\) after' "$T/e9"
# Two notifications: the first run and the one pending behind it, both past the timeout.
"$V" watch aa --level critical --mode default -n 2 --trace "$TRACE" --speed 0 --exec-interval 0 \
	--exec 'sleep 30' --exec-timeout 0.2 >/dev/null 2>"$T/e10"
check "a timeout: SIGTERM to the group, logged" grep -qE '^vmpressure: exec: pid [0-9]+ killed by signal 15 \(TERM\) after [0-9.]+ s, past its timeout$' "$T/e10"
check "... each run counted as timed out" grep -qE 'exec: 2 runs for [0-9]+ events \([0-9]+ coalesced\), 2 failed, 2 timed out$' "$T/e10"
"$V" watch aa --level critical --mode default -n 1 --trace "$TRACE" --speed 0 --exec 'nosuchcommand-vmp' >/dev/null 2>"$T/e11"
check "a command that does not exist: the shell's 127" grep -qE 'exec: pid [0-9]+ exited 127 after' "$T/e11"

# ---- per debounced transition: watch --debounce --exec, vmpressured debounce ----
# A transition's tuple, from --json and from a run's variables:
# time from to cause max_pressure scanned reclaimed origin count source
# (the source is not in the JSON object: the one watch's stderr names).
json_tuple() { # json-file stderr-file
	src=$(sed -n 's/.*(\([a-z0-9-]*\) source.*/\1/p' "$2" | head -n 1)
	awk -v src="${src:-?}" '
	function f(k,   r) {
		if (!match($0, "\"" k "\":(\"[^\"]*\"|[^,}]*)")) return "?"
		r = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
		gsub(/"/, "", r)
		return r
	}
	{ print f("time"), f("from"), f("to"), f("cause"), f("max_pressure"), f("scanned"), f("reclaimed"), \
		f("origin"), f("low") + f("medium") + f("critical"), src }' "$1"
}
env_tuple() {
	awk -F= '
	$0 == "--" {
		print v["VMP_TIME"], v["VMP_PREV_LEVEL"], v["VMP_LEVEL"], v["VMP_CAUSE"], \
			("VMP_PRESSURE" in v) ? v["VMP_PRESSURE"] : "null", ("VMP_SCANNED" in v) ? v["VMP_SCANNED"] : "null", \
			("VMP_RECLAIMED" in v) ? v["VMP_RECLAIMED"] : "null", ("VMP_ORIGIN" in v) ? v["VMP_ORIGIN"] : "null", \
			v["VMP_COUNT"], v["VMP_SOURCE"]
		split("", v); next
	}
	{ k = $1; sub(/^[^=]*=/, ""); v[k] = $0 }' "$1"
}
OUT=$T/envd "$V" watch aa --debounce --json -n 3 --trace "$TRACE" --speed 0 --exec-interval 0 \
	--exec "$ENVCMD" >"$T/jd" 2>"$T/ed"
check "watch --debounce --exec exits 0" [ $? -eq 0 ]
json_tuple "$T/jd" "$T/ed" >"$T/jdt"
env_tuple "$T/envd" >"$T/edt"
runs=$(wc -l <"$T/edt")
check "debounced: 3 transitions printed, the command ran ($runs runs)" [ "$(wc -l <"$T/jdt")" -eq 3 ] && [ "$runs" -ge 1 ]
bad=0
while IFS= read -r line; do grep -Fxq "$line" "$T/jdt" || bad=$((bad + 1)); done <"$T/edt"
check "debounced: every run's variables are one of the printed transitions" [ "$bad" -eq 0 ]
check "debounced: the last run is the last transition" [ "$(tail -n 1 "$T/edt")" = "$(tail -n 1 "$T/jdt")" ]
check "debounced: VMP_EVENT=transition in every run" [ "$(grep -c '^VMP_EVENT=transition$' "$T/envd")" -eq "$runs" ]
check "debounced: the summary counts transitions as events" grep -q "exec: $runs runs for 3 events" "$T/ed"

# The daemon's debounced action: the same notifications, the same
# transitions up (time aside; the daemon's clock may add a leave later).
cut -d' ' -f2- "$T/jdt" >"$T/jdt.notime"
"$D" --socket "$T/sd" --trace "$TRACE" --speed 0 --exec-interval 0 \
	--exec "aa low,hierarchy debounce OUT=$T/envdd; $ENVCMD" >/dev/null 2>"$T/dd.err" &
dpid=$!
wait_for "$T/dd.err" "exited 0" && sleep 0.3
kill "$dpid"
wait "$dpid"
dpid=
env_tuple "$T/envdd" | cut -d' ' -f2- | grep -v ' leave ' >"$T/eddt"
bad=0
while IFS= read -r line; do grep -Fxq "$line" "$T/jdt.notime" || bad=$((bad + 1)); done <"$T/eddt"
check "vmpressured debounce action: ran ($(wc -l <"$T/eddt") runs up), each one of watch's transitions" \
	[ -s "$T/eddt" ] && [ "$bad" -eq 0 ]
check "vmpressured debounce action: logged as such" grep -q "on each debounced transition" "$T/dd.err"

# ---- bad options ----------------------------------------------------------------
"$V" watch --exec-interval 1 --trace "$TRACE" >/dev/null 2>&1
check "watch --exec-interval without --exec: exit 64" [ $? -eq 64 ]
"$V" watch --exec true --exec-interval -1 --trace "$TRACE" >/dev/null 2>"$T/e12"
check "watch --exec-interval -1: exit 2, named" [ $? -eq 2 ] && grep -q "exec-interval '-1'" "$T/e12"
for spec in "aa" "aa low" "aa lo true" "aa low,hier true" " aa low true" "../x low true" "aa low debounce=enter=x true" "aa low debounce"; do
	"$D" --socket "$T/unused" --trace "$TRACE" --exec "$spec" >/dev/null 2>"$T/e13"
	st=$?
	check "vmpressured --exec '$spec': exit 64 with the byte named" [ $st -eq 64 ] && grep -q "byte [0-9]" "$T/e13"
done
# The daemon's cgroup paths follow the library's rule (vmp_cgroup_normalize),
# which refuses control characters: DEL passes --exec's own line check and
# --metrics-cgroup had none.
del=$(printf 'a\177b')
"$D" --socket "$T/unused" --trace "$TRACE" --exec "$del low true" >/dev/null 2>"$T/e15"
st=$?
check "vmpressured --exec with a DEL in the cgroup: exit 64, the control character named" \
	[ $st -eq 64 ] && grep -q "control character (0x7f)" "$T/e15"
"$D" --socket "$T/unused" --trace "$TRACE" --metrics-cgroup "$del" >/dev/null 2>"$T/e16"
st=$?
check "vmpressured --metrics-cgroup with a DEL: exit 64, the control character named" \
	[ $st -eq 64 ] && grep -q "control character (0x7f)" "$T/e16"
"$D" --socket "$T/s2" --trace "$TRACE" --exec 'nosuch low true' >/dev/null 2>"$T/e14"
check "vmpressured --exec on a cgroup that does not exist: exit 69" [ $? -eq 69 ] && grep -q "no such cgroup" "$T/e14"

tap_done
