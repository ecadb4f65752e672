#!/bin/sh
# `vmpressure watch` through vmpressured and in-process: the same output
# (times aside), stderr saying which, the silent fallback when nothing
# answers, and the daemon's errors reported like the in-process ones.
# usage: test_watch.sh VMPRESSURED VMPRESSURE DATADIR
set -u
D=$1
V=$2
DATA=$3
T=$(mktemp -d)
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$(dirname "$0")/../lib/tap.sh"
wait_socket() { # path
	i=0
	while [ $i -lt 500 ]; do
		[ -S "$1" ] && return 0
		sleep 0.01
		i=$((i + 1))
	done
	return 1
}
strip_time() { sed 's/"time":"[^"]*",//' "$1"; }
strip_clock() { cut -c13- "$1"; }

trace=$DATA/file1.vmpt
S=$T/control
"$D" --socket "$S" --trace "$trace" --speed 0 --trace-hold 2>"$T/daemon.err" &
dpid=$!
check "the daemon is up" wait_socket "$S"

# Through the daemon, human and JSON, for two listeners of the trace.
"$V" watch fa --level low --mode default --json --socket "$S" -n 69 -t 20 >"$T/d1.json" 2>"$T/d1.err" &
w1=$!
"$V" watch fa --level low --mode local --socket "$S" -n 69 -t 20 >"$T/d2.txt" 2>"$T/d2.err" &
w2=$!
# Both must have subscribed before the replay starts.
i=0
while [ $i -lt 500 ] && ! { grep -q watching "$T/d1.err" 2>/dev/null && grep -q watching "$T/d2.err" 2>/dev/null; }; do
	sleep 0.01
	i=$((i + 1))
done
kill -USR1 "$dpid"
wait $w1
s1=$?
wait $w2
s2=$?
check "watch through the daemon exits 0 after -n 69 (json $s1, human $s2)" [ $((s1 + s2)) -eq 0 ]
check "stderr says it is through vmpressured" grep -q "(trace source, through vmpressured at $S)" "$T/d1.err"

# The same in-process.
"$V" watch fa --trace "$trace" --speed 0 --level low --mode default --json -n 69 >"$T/i1.json" 2>"$T/i1.err"
"$V" watch fa --trace "$trace" --speed 0 --level low --mode local -n 69 >"$T/i2.txt" 2>"$T/i2.err"
check "stderr says in-process" grep -q "(trace source, in-process)" "$T/i1.err"
strip_time "$T/d1.json" >"$T/a"
strip_time "$T/i1.json" >"$T/b"
check "JSON output identical but for the times (69 lines)" cmp -s "$T/a" "$T/b"
check "... and 69 of them" [ "$(wc -l <"$T/a")" -eq 69 ]
strip_clock "$T/d2.txt" >"$T/a"
strip_clock "$T/i2.txt" >"$T/b"
check "human output identical but for the clock" cmp -s "$T/a" "$T/b"
check "the summaries agree" [ "$(sed 's/ in [0-9.]* s//' "$T/d2.err" | tail -n 1)" = "$(sed 's/ in [0-9.]* s//' "$T/i2.err" | tail -n 1)" ]

# The daemon's errors, as the in-process ones
"$V" watch nosuch --socket "$S" -t 1 >/dev/null 2>"$T/e1"
check "no such cgroup through the daemon: exit 2" [ $? -eq 2 ]
check "... with the daemon's reason" grep -q "no such cgroup: nosuch" "$T/e1"
check "... and the hint that CGROUP is below the cgroup root" \
	grep -q "^vmpressure watch: CGROUP is a path below the cgroup root " "$T/e1"
"$V" watch nosuch --trace "$trace" -t 1 >/dev/null 2>"$T/e2"
check "no such cgroup in-process: exit 2 too" [ $? -eq 2 ]

# --source other than the daemon's: in-process
"$V" watch --source v2 --socket "$S" -t 0.2 >/dev/null 2>"$T/e3"
check "--source v2 against a trace daemon is not served by it" sh -c "! grep -q 'through vmpressured' '$T/e3'"

# --no-daemon: in-process even though the daemon answers
"$V" watch fa --no-daemon --trace "$trace" --speed 0 -n 1 >/dev/null 2>"$T/e4"
check "--no-daemon: in-process" grep -q "in-process" "$T/e4"

# Nothing answers: silent fallback
"$V" watch fa --socket "$T/nothing" --trace "$trace" --speed 0 -n 1 >/dev/null 2>"$T/e5"
check "a --trace watch is in-process whatever the socket" grep -q "in-process" "$T/e5"
python3 - "$T/dead" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
EOF
if [ -S "$T/dead" ]; then
	# a stale socket: connection refused; the default source of this
	# machine is used (or none, exit 69): either way no daemon, no error
	"$V" watch --socket "$T/dead" -t 0.2 >/dev/null 2>"$T/e6"
	st=$?
	check "a stale socket: silent fallback (exit $st)" sh -c "[ $st -eq 0 ] || [ $st -eq 69 ]"
	check "... not a word about the daemon" sh -c "! grep -q vmpressured '$T/e6'"
fi

# The daemon goes away under a watcher: it waits for it to come back
# (tests/daemon/test_restart.py has the restart) until its own timeout.
"$V" watch fa --socket "$S" -t 2 >/dev/null 2>"$T/e7" &
w3=$!
i=0
while [ $i -lt 500 ] && ! grep -q watching "$T/e7" 2>/dev/null; do sleep 0.01; i=$((i + 1)); done
kill "$dpid"
wait "$dpid"
ds=$?
dpid=
wait $w3
s3=$?
check "the daemon exits 0 on SIGTERM" [ $ds -eq 0 ]
check "a watcher whose daemon went away runs on to its timeout: exit 0" [ $s3 -eq 0 ]
check "... saying it lost it" grep -q "lost vmpressured at $S (it closed the connection); reconnecting" "$T/e7"

# A daemon that may not register with cgroup v1 (not root) refuses to
# start, saying why, rather than serve and refuse every subscription: a
# v1 fixture whose cgroup.event_control only root may write
V1=$T/v1
mkdir -p "$V1"
: >"$V1/cgroup.event_control"
: >"$V1/memory.pressure_level"
chmod 755 "$T" "$V1"
chmod 644 "$V1/cgroup.event_control"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	n=$((n + 1))
	echo "ok $n # SKIP the daemon as nobody: needs root and setpriv to become nobody"
else
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$D" --source v1 --cgroup-root "$V1" --socket "$T/v1.sock" >/dev/null 2>"$T/v1.err" &
	vpid=$!
	i=0
	while [ $i -lt 1000 ] && kill -0 $vpid 2>/dev/null; do sleep 0.01; i=$((i + 1)); done
	kill $vpid 2>/dev/null
	wait $vpid
	vs=$?
	check "a v1 daemon without the right to register: exit 69 (got $vs)" [ $vs -eq 69 ]
	check "... naming the file and the way out" \
		grep -q "the cgroup-v1 source cannot register with the kernel: $V1/cgroup.event_control: Permission denied (uid 65534); registering needs root" "$T/v1.err"
	check "... never serving" sh -c "! grep -q serving '$T/v1.err' && [ ! -e '$T/v1.sock' ]"
fi
"$D" --source v1 --cgroup-root "$V1" --socket "$T/v1r.sock" >/dev/null 2>"$T/v1r.err" &
vpid=$!
check "with the right (writable cgroup.event_control) it serves" wait_socket "$T/v1r.sock"
kill $vpid 2>/dev/null
wait $vpid

# A cgroup the user may not read, refused by the daemon: the hint says
# what the daemon serves (a cgroup v2 fixture, its cgroup a mode 0700)
. "$(dirname "$0")/../cli/fixture.sh"
chmod 755 "$CG" "$PR"
chmod 700 "$CG/a"
"$D" --source v2 $R --socket "$T/v2.sock" >/dev/null 2>"$T/v2.err" &
vpid=$!
check "a v2 daemon on the fixture serves" wait_socket "$T/v2.sock"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	n=$((n + 1))
	echo "ok $n # SKIP watch as nobody through the daemon: needs root and setpriv to become nobody"
else
	setpriv --reuid=65534 --regid=65534 --clear-groups "$V" watch a --socket "$T/v2.sock" -t 1 \
		>/dev/null 2>"$T/v2w.err"
	check "watch as nobody of a cgroup it may not read: exit 77, permission denied (got $?)" [ $? -eq 77 ]
	check "... the daemon's reason" grep -q "(vmpressured at $T/v2.sock): uid 65534 may not read cgroup a" "$T/v2w.err"
	check "... and what the daemon serves" \
		grep -qx "vmpressure watch: vmpressured serves the cgroups your user may read; run as root for the others" "$T/v2w.err"
fi
kill $vpid 2>/dev/null
wait $vpid

tap_done
