#!/bin/sh
# One JSON shape for one event (docs/protocol.md, "Events"), whichever path
# produced it: for the same trace, `vmpressure watch --json` in-process,
# the same watch through vmpressured, and the daemon's own stream (a socat
# client) print objects with the same keys in the same order, the stream's
# subscription "id" aside; likewise the debounced transitions.
# usage: test_json_shape.sh VMPRESSURED VMPRESSURE DATADIR
set -u
D=$1
V=$2
DATA=$3
. "$(dirname "$0")/../lib/tap.sh"
command -v socat >/dev/null || skip "no socat (scripts/deps.sh test installs it)"
tap_scratch
trace=$DATA/anon1.vmpt
keys() { # file event -> the key sequences of its objects of that event, one per line, sorted unique
	grep "\"event\":\"$2\"" "$1" | sed 's/"id":[0-9]*,//' |
		grep -o '"[a-z_0-9]*":' | tr -d '":' | paste -sd' ' | sed 's/ event /\nevent /g' | sort -u
}

"$V" watch --json --no-daemon --trace "$trace" --speed 0 --timeout 1 >"$T/in.json" 2>/dev/null
"$V" watch --json --no-daemon --debounce --trace "$trace" --speed 0 --timeout 1 >"$T/in-db.json" 2>/dev/null

S=$T/control
"$D" --socket "$S" --trace "$trace" --speed 0 --trace-hold 2>"$T/daemon.err" &
dpid=$!
pids="$pids $dpid"
check "the daemon is up" wait_for "$T/daemon.err" "serving on"
{ printf 'subscribe / low,hierarchy stream\nsubscribe / low,hierarchy stream debounce\n'; sleep 4; } |
	socat - "UNIX-CONNECT:$S" >"$T/stream.json" 2>"$T/socat.err" &
pids="$pids $!"
"$V" watch --json --socket "$S" --timeout 4 >"$T/through.json" 2>"$T/through.err" &
wpid=$!
pids="$pids $wpid"
"$V" watch --json --debounce --socket "$S" --timeout 4 >"$T/through-db.json" 2>"$T/through-db.err" &
wdpid=$!
pids="$pids $wdpid"
wait_for "$T/stream.json" '"reply":"subscribe","ok":true,"id":2' 300
wait_for "$T/through.err" watching 300
wait_for "$T/through-db.err" watching 300
kill -USR1 "$dpid"
wait "$wpid" "$wdpid"
check "watch through the daemon said so" grep -q "through vmpressured" "$T/through.err"

pi=$(keys "$T/in.json" pressure)
pt=$(keys "$T/through.json" pressure)
ps=$(keys "$T/stream.json" pressure)
echo "# in-process: $pi"
echo "# stream:     $ps"
check "pressure events: one key sequence in-process ($(grep -c pressure "$T/in.json") events)" \
	[ -n "$pi" ] && [ "$(echo "$pi" | wc -l)" -eq 1 ]
check "... the same through the daemon" [ "$pt" = "$pi" ]
check "... the same on the daemon's stream, its id aside" [ "$ps" = "$pi" ]
check "... and the stream's objects carry the id right after the event" \
	grep -q '^{"event":"pressure","id":1,"time":' "$T/stream.json"
check "... with the PSI fields, null where a trace has none" grep -q '"psi_some_avg10":null,"psi_full_avg10":null}$' "$T/in.json"

ti=$(keys "$T/in-db.json" transition)
tt=$(keys "$T/through-db.json" transition)
ts=$(keys "$T/stream.json" transition)
check "transitions: one key sequence in-process ($(grep -c transition "$T/in-db.json") transitions)" \
	[ -n "$ti" ] && [ "$(echo "$ti" | wc -l)" -eq 1 ]
check "... the same through the daemon" [ "$tt" = "$ti" ]
check "... the same on the daemon's stream, its id aside" [ "$ts" = "$ti" ]
tap_done json-shape
