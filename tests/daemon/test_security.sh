#!/bin/sh
# The findings of issue 12's attack pass, each tried again as the attacker
# tried it: the client an unprivileged user (setpriv --reuid=65534
# --regid=65534 --clear-groups), the daemon on a cgroup v2 fixture tree
# (--cgroup-root, tests/cli/fixture.sh) or on this machine's cgroup v1
# below our own cgroup, and a legitimate client (root) served while each
# attack runs. Skips where there is no root or no setpriv.
# usage: test_security.sh VMPRESSURED VMPRESSURE SEC_CLIENT MP_CLIENT DATADIR
set -u
D=$1
V=$2
C=$3
MP=$4
DATA=$5
. "$(dirname "$0")/../lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root: the attacker is another user (setpriv)"
command -v setpriv >/dev/null 2>&1 || skip "no setpriv (util-linux) to run a client as uid 65534"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
$NOBODY true 2>/dev/null || skip "setpriv cannot switch to uid 65534 here"
$NOBODY "$C" 2>/dev/null
[ $? -eq 2 ] || skip "uid 65534 cannot run $C (a directory above it is not searchable)"

tap_scratch 755
. "$(dirname "$0")/../cli/fixture.sh"

# A cgroup's files, as the fixture's `a` has them.
mkcg() { # name: it and each parent a memory cgroup
	mkdir -p "$CG/$1"
	p=
	rest=$1/
	while [ -n "$rest" ]; do
		p=$p${p:+/}${rest%%/*}
		rest=${rest#*/}
		for f in memory.stat memory.events memory.pressure; do
			[ -e "$CG/$p/$f" ] || cp "$CG/a/$f" "$CG/$p/$f"
		done
	done
}
cgput() { # cgroup pgscan pgsteal max: fixture.sh's cgset for another cgroup
	put "$CG/$1/memory.stat" "$CG_STAT_FMT" "$2" "$3" "$2" "$3"
	put "$CG/$1/memory.events" 'low 0\nhigh 0\nmax %010d\noom 0000000000\noom_kill 0000000000\noom_group_kill 0\n' "$4"
}
start_daemon() { # socket, extra options...
	s=$1
	shift
	"$D" --socket "$s" --socket-mode 0666 "$@" 2>>"$T/daemon.err" &
	dpid=$!
	pids="$pids $dpid"
	wait_sock "$s"
}
wait_sock() {
	i=0
	while [ $i -lt 500 ]; do
		[ -S "$1" ] && "$C" "$1" 0 "hello 1" >/dev/null 2>&1 && return 0
		sleep 0.02
		i=$((i + 1))
	done
	return 1
}
stop_daemon() {
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
}
# The bystander: root's status answered.
served() { # socket
	"$C" "$1" 0 status 2>/dev/null | grep -q '"reply":"status","ok":true'
}
as_nobody() { $NOBODY "$C" "$@"; }

mkcg secret/child
mkcg open
chmod 700 "$CG/secret"
S=$T/control
check "daemon on the v2 fixture tree is up" start_daemon "$S" --source v2 $R

# 1. Authorisation through parent directories, and no existence oracle.
as_nobody "$S" 0 "subscribe secret/child low eventfd" >"$T/1a"
check "1: nobody may not subscribe below a 0700 directory (EACCES)" grep -q '"error":"EACCES"' "$T/1a"
check "1: ... and gets no eventfd" sh -c "! grep -q '+fd' '$T/1a'"
as_nobody "$S" 0 "subscribe secret/nonexistent low eventfd" >"$T/1b"
check "1: a missing name there answers the same (no existence oracle)" grep -q '"error":"EACCES"' "$T/1b"
check "1: ... with the same message but for the name" \
	[ "$(sed 's/nonexistent/child/' "$T/1b")" = "$(cat "$T/1a")" ]
as_nobody "$S" 0 "subscribe open low eventfd" >"$T/1c"
check "1: nobody may subscribe to a readable cgroup" grep -q '"ok":true' "$T/1c"
as_nobody "$S" 0 "subscribe nosuch low eventfd" >"$T/1d"
check "1: a missing cgroup it could see is missing: ENOENT" grep -q '"error":"ENOENT"' "$T/1d"
"$C" "$S" 0 "subscribe secret/child low eventfd" >"$T/1e"
check "1: root may subscribe below the 0700 directory" grep -q '"ok":true.*+fd' "$T/1e"
check "1: the daemon still serves root" served "$S"

# 2. origin redaction: a hierarchy stream on / sees secret/child's windows
# as secret's ... no: as the deepest directory it may read, "/".
chmod 755 "$CG"
as_nobody "$S" 10 "subscribe / low,hierarchy stream" >"$T/2n" &
np=$!
"$C" "$S" 10 "subscribe / low,hierarchy stream" >"$T/2r" &
rp=$!
wait_for "$T/2n" '"ok":true' 500
wait_for "$T/2r" '"ok":true' 500
# Limit reclaim in secret/child (the fixture's steps: low, then medium
# windows), each step longer than the source's busy hold.
sleep 1.5
cgput secret/child 2048 1024 10
sleep 2.6
cgput secret/child 6144 1624 26
sleep 2.6
cgput secret/child 8192 2648 36
wait $np $rp
if grep -q '"origin":"secret/child"' "$T/2r"; then
	ok "2: root's stream names the origin secret/child"
	check "2: nobody's stream never names secret/child" sh -c "! grep -q 'secret' '$T/2n'"
	check "2: ... it gets the same events, origin redacted to /" grep -q '"event":"pressure".*"origin":"/"' "$T/2n"
	check "2: ... as many as root" [ "$(grep -c '"event":"pressure"' "$T/2n")" -eq "$(grep -c '"event":"pressure"' "$T/2r")" ]
else
	no "2: root's stream names the origin secret/child (no pressure event with it: $(grep -c pressure "$T/2r") events)"
fi
check "2: the daemon still serves root" served "$S"
stop_daemon

# 3. An endpoint admits a client before its cgroup exists; access is
# checked again when it appears (and before every wake-up).
EP=$T/ep
check "3: daemon with an endpoint for a cgroup that does not exist yet" \
	start_daemon "$S" --source v2 $R --memory-pressure-endpoint "$EP later low 0666"
MP_OUT=$T/3n
$NOBODY env MEMORY_PRESSURE_WATCH="$EP" "$MP" >"$MP_OUT" 2>&1 &
mpp=$!
pids="$pids $mpp"
check "3: nobody connects early and is admitted" wait_for "$MP_OUT" ready 500
mkcg later
chmod 700 "$CG/later"
check "3: once later appears as 0700, nobody is dropped" wait_for "$T/daemon.err" "may not read cgroup later" 1000
check "3: ... its connection closed" wait_for "$MP_OUT" eof 500
cgput later 2048 1024 10
sleep 2.6
check "3: ... and it got no wake-up byte" sh -c "! grep -q '^wake' '$MP_OUT'"
check "3: the daemon still serves root" served "$S"
stop_daemon

# 7. Unbounded reads in the CLI: a device refused by path, standard input
# bounded (ulimit -d keeps the test small), and the trace source refuses
# what is not a regular file instead of reading /dev/zero as empty.
for cmd in replay plot estimate; do
	"$V" $cmd /dev/zero -o "$T/x.out" >/dev/null 2>"$T/7$cmd"
	st=$?
	[ $cmd = replay ] && { "$V" replay /dev/zero >/dev/null 2>"$T/7$cmd"; st=$?; }
	check "7: $cmd /dev/zero: exit 74 (got $st)" [ $st -eq 74 ]
	check "7: ... the message names /dev/zero and says why" grep -q "/dev/zero.*not a regular file" "$T/7$cmd"
done
"$V" replay - </dev/zero >/dev/null 2>"$T/7dev"
check "7: replay - < /dev/zero: a device on standard input refused (exit 74)" [ $? -eq 74 ]
if [ "${VMP_SANITIZE:-none}" != none ]; then
	# The bound comes from ulimit -d, which also caps the sanitizer's own
	# shadow mappings: it cannot start under one.
	skip_one "7: cat /dev/zero | replay - stops at its bound" "a $VMP_SANITIZE build cannot run under ulimit -d"
	skip_one "7: ... saying how large it may be" "a $VMP_SANITIZE build cannot run under ulimit -d"
else
	(ulimit -d 400000 && cat /dev/zero | "$V" replay -) >/dev/null 2>"$T/7stdin"
	st=$?
	check "7: cat /dev/zero | replay - stops at its bound: exit 74 (got $st)" [ $st -eq 74 ]
	check "7: ... saying how large it may be" grep -q "larger than [0-9]* MiB" "$T/7stdin"
fi
"$V" watch --trace /dev/zero -t 1 >/dev/null 2>"$T/7trace"
st=$?
check "7: watch --trace /dev/zero is refused: exit 2 (got $st)" [ $st -eq 2 ]
check "7: ... naming it" grep -q -- "--trace /dev/zero: not a regular file" "$T/7trace"
"$D" --socket "$T/x.sock" --trace /dev/zero 2>"$T/7dtrace"
st=$?
check "7: vmpressured --trace /dev/zero: exit 2 (got $st)" [ $st -eq 2 ]

# 8. A FIFO in place of a cgroup file, of the log file, of the log file at
# SIGHUP: nothing blocks, each is named.
mkcg fifo
rm "$CG/fifo/memory.stat"
mkfifo "$CG/fifo/memory.stat"
timeout 20 "$V" watch fifo --no-daemon --source v2 $R --timeout 1 >/dev/null 2>"$T/8w"
st=$?
check "8: watch of a cgroup whose memory.stat is a FIFO returns (exit 2, got $st)" [ $st -eq 2 ]
check "8: ... naming the file" grep -q "$CG/fifo/memory.stat is not a regular file (a FIFO)" "$T/8w"
mkfifo "$T/log.fifo"
timeout 20 "$D" --socket "$T/x.sock" --source v2 $R --log-file "$T/log.fifo" 2>"$T/8l"
st=$?
check "8: --log-file FIFO: exit 73 at once (got $st)" [ $st -eq 73 ]
check "8: ... naming it" grep -q "log file $T/log.fifo: not a regular file" "$T/8l"
: >"$T/daemon.log"
"$D" --socket "$S" --socket-mode 0666 --source v2 $R --log-file "$T/daemon.log" 2>>"$T/daemon.err" &
dpid=$!
pids="$pids $dpid"
check "8: daemon with a log file up" wait_sock "$S"
"$C" "$S" 0 "subscribe fifo low stream" >"$T/8s"
check "8: a subscription to the FIFO cgroup: an error naming memory.stat" grep -q '"error":"EINVAL".*memory.stat is not a regular file' "$T/8s"
mv "$T/daemon.log" "$T/daemon.log.1"
mkfifo "$T/daemon.log"
kill -HUP "$dpid"
check "8: after SIGHUP with a FIFO in place of the log the daemon still answers" served "$S"
check "8: ... and says why it kept the old log" wait_for "$T/daemon.log.1" "cannot reopen the log file $T/daemon.log: not a regular file" 500
stop_daemon
rm -f "$T/daemon.log"

# 10. A bad --cgroup-root with the auto source: no silent machine source.
for r in /nonexistent /dev/null ''; do
	"$D" --socket "$T/x.sock" --cgroup-root "$r" 2>"$T/10d"
	st=$?
	check "10: vmpressured --cgroup-root '$r': exit 69 (got $st)" [ $st -eq 69 ]
	check "10: ... saying what is wrong with it" grep -q "cgroup-root '$r' is" "$T/10d"
	"$V" watch --no-daemon --cgroup-root "$r" -t 0.2 >/dev/null 2>"$T/10w"
	st=$?
	check "10: vmpressure watch --cgroup-root '$r': exit 69 (got $st)" [ $st -eq 69 ]
done
check "10: ... and never the machine source" sh -c "! grep -q 'machine source' '$T/10w' '$T/10d'"

# On this machine's cgroup v1 memory controller, below our own cgroup:
# 1 again (v1), and 9: a renamed cgroup is not a removed one.
CGV1=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup | head -n 1)
if [ ! -f "$CGV1/cgroup.event_control" ] || ! mkdir "$CGV1/vmpd-sec-$$" 2>/dev/null; then
	ok "v1: # SKIP no writable cgroup v1 memory controller at $CGV1"
else
	G=$CGV1/vmpd-sec-$$
	REL=${G#/sys/fs/cgroup/memory/}
	trap 'for c in secret/child secret open gone2 gone; do [ -d "$G/$c" ] && rmdir "$G/$c"; done; rmdir "$G"; tap_cleanup' EXIT
	mkdir -p "$G/secret/child" "$G/open" "$G/gone"
	chmod 700 "$G/secret"
	S1=$T/control1
	check "v1: daemon on the v1 controller is up" start_daemon "$S1" --source v1
	as_nobody "$S1" 0 "subscribe $REL/open low eventfd" >"$T/v1o"
	if grep -q '"ok":true' "$T/v1o"; then
		as_nobody "$S1" 0 "subscribe $REL/secret/child low eventfd" >"$T/v1a"
		check "1 (v1): nobody may not subscribe below a 0700 directory" grep -q '"error":"EACCES"' "$T/v1a"
		as_nobody "$S1" 0 "subscribe $REL/secret/nonexistent low eventfd" >"$T/v1b"
		check "1 (v1): ... nor learn which names it holds" grep -q '"error":"EACCES"' "$T/v1b"
	else
		ok "1 (v1): # SKIP uid 65534 cannot read $G itself here"
	fi
	# 9: subscribed to gone, renamed to gone2, pressure in it.
	echo 32M >"$G/gone/memory.limit_in_bytes"
	"$C" "$S1" 25 "subscribe $REL/gone low stream eventfd" >"$T/9" &
	cp=$!
	wait_for "$T/9" '"ok":true' 500
	mv "$G/gone" "$G/gone2"
	TMPD=$(mktemp -d /var/tmp/vmpd-sec.XXXXXX)
	sh -c 'echo $$ >"$1/cgroup.procs" && exec dd if=/dev/zero of="$2/big" bs=1M count=200 conv=fsync 2>/dev/null' \
		sh "$G/gone2" "$TMPD"
	rm -rf "$TMPD"
	check "9: the daemon still serves root while it happens" served "$S1"
	kill -TERM $cp 2>/dev/null
	sleep 0.2
	kill -9 $cp 2>/dev/null
	wait $cp 2>/dev/null
	"$C" "$S1" 0 "list" >"$T/9l"
	if grep -q '"event":"removed"' "$T/9"; then
		no "9: a renamed cgroup read as removed (a false removed event)"
	elif grep -q '"event":"pressure"' "$T/9"; then
		ok "9: pressure in the renamed cgroup reached the subscriber, and no removed event"
	else
		ok "9: # SKIP no pressure event from 200 MB of page cache in a 32M cgroup here"
	fi
	# A real removal still is one.
	"$C" "$S1" 4 "subscribe $REL/open low stream" >"$T/9r" &
	cp=$!
	wait_for "$T/9r" '"ok":true' 500
	rmdir "$G/open"
	wait $cp
	check "9: rmdir is still reported as removed" grep -q '"event":"removed"' "$T/9r"
	stop_daemon
fi

# 4. One user takes every connection slot: per-uid shares (a quarter of
# 4096 each), the last eighth for root. And 11: `status` shows a user its
# own uid's share, root the daemon's totals.
check "4: daemon for the connection floods is up" start_daemon "$S" --source v2 $R
as_nobody -flood "$S" 1100 120 >"$T/4a" &
fp=$!
pids="$pids $fp"
check "4: nobody gets its share, 1024 of 1100 connections" wait_for "$T/4a" "kept 1024 refused 76" 3000
check "4: root is still served" served "$S"
setpriv --reuid=65533 --regid=65533 --clear-groups "$C" "$S" 0 status >"$T/4b"
check "4: another user is still served" grep -q '"reply":"status","ok":true' "$T/4b"
setpriv --reuid=65530 --regid=65530 --clear-groups "$C" "$S" 0 status >"$T/4d"
check "11: a user sees only its uid's share in status" grep -q '"clients":1,"subscriptions":0,"events":0,"dropped":0,"scope":"uid"' "$T/4d"
fl=
for u in 65533 65532 65531; do
	setpriv --reuid=$u --regid=$u --clear-groups "$C" -flood "$S" 1024 120 >"$T/4u$u" &
	fl="$fl $!"
done
pids="$pids $fl"
for u in 65533 65532 65531; do wait_for "$T/4u$u" kept 3000; done
k=$(cat "$T"/4u* | sed -n 's/^kept \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s}')
check "4: three more users together get the rest but root's eighth (2560, got $k)" [ "$k" -eq 2560 ]
"$C" "$S" 0 status >"$T/4c"
check "4: root still connects with 3584 others open, and sees the daemon's totals" \
	grep -q '"clients":3585,' "$T/4c"
setpriv --reuid=65529 --regid=65529 --clear-groups "$C" "$S" 0 status >"$T/4e"
check "4: ... where a fifth user may not: the rest is root's" sh -c "! grep -q '\"ok\":true' '$T/4e'"
check "11: root's status has no scope (the daemon's totals)" sh -c "! grep -q scope '$T/4c'"
for p in $fp $fl; do kill "$p" 2>/dev/null; done
wait $fp $fl 2>/dev/null
stop_daemon

# 6. Slowloris on /metrics: 40, then 100, connections trickling a byte
# every 0.2 s; every scrape must still be answered (none within 10 s
# before), and the deadline is the one set (5 s, not ~6).
: >"$T/6.err"
"$D" --socket "$S" --socket-mode 0666 --source v2 $R --metrics-listen 127.0.0.1:0 2>"$T/6.err" &
dpid=$!
pids="$pids $dpid"
check "6: daemon with --metrics-listen is up" wait_sock "$S"
port=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$T/6.err" | head -n 1)
check "6: it says its port ($port)" [ -n "$port" ]
for nconn in 40 100; do
	as_nobody -slow 127.0.0.1 "$port" $nconn 200 9 >"$T/6s$nconn" &
	sp=$!
	pids="$pids $sp"
	sleep 2
	good=0
	for i in 1 2 3 4; do
		"$C" -get 127.0.0.1 "$port" 10 >"$T/6g$nconn.$i" && good=$((good + 1))
		sleep 0.5
	done
	check "6: with $nconn slow connections, 4 of 4 scrapes answered within 10 s ($good)" [ $good -eq 4 ]
	wait $sp
done
check "6: the control socket stayed responsive" served "$S"
# The deadline from accept: a connection that sends nothing is closed at
# 5 s; a trickling one too, however often it sends.
as_nobody -slow 127.0.0.1 "$port" 1 500 8 >"$T/6d" &
sp=$!
pids="$pids $sp"
wait $sp
check "6: a trickling connection is closed by its deadline, bytes or not" grep -q "closed 1" "$T/6d"
stop_daemon

# 5. Debounced subscriptions amplify: a uid may hold as many debounced
# subscriptions as one connection may hold subscriptions (256), and the
# daemon gives their memory back when they leave.
check "5: daemon for the debounce flood is up" start_daemon "$S" --source v2 $R
rss() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$dpid/status"; }
r0=$(rss)
as_nobody -subs "$S" 8 256 "subscribe / low stream debounce" 120 >"$T/5a" &
fp=$!
pids="$pids $fp"
check "5: 8 x 256 debounced subscriptions of one uid: 256 of them, the rest refused" \
	wait_for "$T/5a" "subscribed 256 refused 1792" 3000
"$C" "$S" 0 "subscribe / low stream debounce" >"$T/5b"
check "5: root may still subscribe with a debouncer" grep -q '"ok":true' "$T/5b"
check "5: the daemon still serves root" served "$S"
r1=$(rss)
kill "$fp"
wait "$fp" 2>/dev/null
i=0
while [ $i -lt 50 ] && "$C" "$S" 0 status | grep -q '"clients":[2-9]'; do sleep 0.1; i=$((i + 1)); done
served "$S"
sleep 1.2 # the loop trims at most once a second
served "$S"
r2=$(rss)
echo "# 5: daemon RSS $r0 KiB before, $r1 KiB with the flood, $r2 KiB after it left"
if [ "${VMP_SANITIZE:-none}" != none ]; then
	skip_one "5: the flood's growth is bounded (below 8 MiB: $r0 -> $r1 KiB)" \
		"a $VMP_SANITIZE runtime keeps freed memory and shadows what is used"
else
	check "5: the flood's growth is bounded (below 8 MiB: $r0 -> $r1 KiB)" [ $((r1 - r0)) -lt 8192 ]
fi
stop_daemon

# 11. Cgroups with spaces or non-ASCII names: quoted in the protocol.
check "11: daemon for the quoted names is up" start_daemon "$S" --source v2 $R
mkcg "my job"
mkcg "$(printf 'caf\303\251')"
"$C" "$S" 0 'subscribe "my job" low stream' 'subscribe "caf\xc3\xa9" low eventfd' 'subscribe "my job/nosuch" low stream' >"$T/11q"
check "11: a cgroup with a space, quoted" grep -q '"ok":true,"id":1,"cgroup":"my job"' "$T/11q"
check "11: a non-ASCII one, \\xHH-escaped (the reply in UTF-8)" grep -q "\"ok\":true,\"id\":2,\"cgroup\":\"$(printf 'caf\303\251')\"" "$T/11q"
check "11: a missing one is ENOENT, not EPROTO" grep -q '"error":"ENOENT","message":"no such cgroup: my job/nosuch"' "$T/11q"
"$V" watch "my job" --socket "$S" -t 0.5 >/dev/null 2>"$T/11w"
check "11: vmpressure watch 'my job' through the daemon (it quotes)" grep -q "watching my job at low,hierarchy (cgroup-v2 source, through vmpressured" "$T/11w"
stop_daemon

tap_done security
