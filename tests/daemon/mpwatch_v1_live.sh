#!/bin/sh
# Memory-pressure endpoints on this machine's real cgroup v1 memory
# controller: systemd-protocol clients (mp_client) against listeners
# registered directly with the kernel, and the life of a cgroup that an
# endpoint names (not there yet, created, removed, created again).
#
#   mpwatch_v1_live.sh VMPRESSURED MP_CLIENT KERNEL_LISTEN HOG
#
# A memory cgroup with a 32M limit is created below this test's own memory
# cgroup (from /proc/self/cgroup) and removed however the test ends.
# Endpoints at low and critical of it and at low of a child that does not
# exist yet. Page-cache (dd) and anonymous (a hog, OOM-killed) pressure;
# then each client's byte count must equal the kernel listener's count for
# the same arguments. The child: its endpoint subscribes when a client
# connects after the child is made; removing the child wakes that client
# with 'X' and keeps its connection; made again, the endpoint subscribes
# anew within its 2 s retry, a new client shares it, and both clients are
# woken by pressure in it (a hog) as often as a kernel listener there.
#
# Skips (TAP "1..0 # SKIP") when not root, without a v1 memory controller,
# or when a cgroup cannot be created. Changes nothing outside its cgroup
# and its temporary directory.
set -u
D=$1
MC=$2
KL=$3
HOG=$4

V1_NAME=vmpd-mpw
V1_SUBDIRS=later
. "$(dirname "$0")/../lib/v1cgroup.sh"
count() { # file field(2: wakes, 3: bytes, 4..7: L M C X) of the last report
	awk -v f="$2" '$1 == "wake" || $1 == "eof" {v = $f} END {print v + 0}' "$1"
}
b64trig=c29tZSAyMDAwMDAgMjAwMDAwMAA= # "some 200000 2000000\0", as systemd writes it
client() { # endpoint outfile
	MEMORY_PRESSURE_WATCH=$1 MEMORY_PRESSURE_WRITE=$b64trig "$MC" >"$2" 2>"$2.err" &
	last=$!
	pids="$pids $last"
}

v1_limit 32M || { no "set a 32M limit"; echo "1..$n"; exit 1; }
echo "# cgroup $CG (as $CGREL), temporary files in $T"

"$KL" "$CG" low critical >"$T/kernel.out" 2>"$T/kernel.err" &
kl=$!
pids="$pids $kl"

S=$T/control
"$D" --source v1 --socket "$S" \
	--memory-pressure-endpoint "$T/mp/low $CGREL low" \
	--memory-pressure-endpoint "$T/mp/crit $CGREL critical" \
	--memory-pressure-endpoint "$T/mp/later $CGREL/later low" 2>"$T/daemon.log" &
dpid=$!
pids="$pids $dpid"
wait_for "$T/daemon.log" "serving on" 500 # after the endpoints' first subscriptions
check "vmpressured is up with three endpoints" [ -S "$T/mp/low" -a -S "$T/mp/crit" -a -S "$T/mp/later" ]
check "... the one for a cgroup not made yet waits for a client" \
	grep -q "cannot watch cgroup $CGREL/later at low: No such file or directory (yet)" "$T/daemon.log"
client "$T/mp/low" "$T/low.out"
cl=$last
client "$T/mp/crit" "$T/crit.out"
cc=$last
ready=1
wait_for "$T/kernel.out" ready && wait_for "$T/low.out" ready && wait_for "$T/crit.out" ready || ready=0
check "the kernel listener and both protocol clients are ready" [ $ready -eq 1 ]
sleep 0.2

# ---- pressure ----
sh -c 'echo $$ >"$1/cgroup.procs" && exec dd if=/dev/zero of="$2/big" bs=1M count=300 conv=fsync 2>/dev/null' \
	sh "$CG" "$T"
rm -f "$T/big"
{ sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 256' sh "$CG" "$HOG"; } 2>/dev/null
hs=$?
check "page cache and anonymous pressure (the hog OOM-killed: status $hs)" [ $hs -eq 137 ]
sleep 2 # the kernel's deferred work, then the relay
kill -TERM "$kl"
wait "$kl"
klow=$(awk '$1 == "low" {print $2}' "$T/kernel.out")
kcrit=$(awk '$1 == "critical" {print $2}' "$T/kernel.out")
blow=$(count "$T/low.out" 3)
bcrit=$(count "$T/crit.out" 3)
echo "# kernel: low $klow critical $kcrit; endpoint clients: low $blow bytes in $(count "$T/low.out" 2) wakes, critical $bcrit in $(count "$T/crit.out" 2)"
check "there was pressure (kernel low listener: $klow)" [ "${klow:-0}" -gt 0 ]
check "the low endpoint's client got one byte per kernel notification ($blow = $klow)" [ "$blow" = "${klow:-x}" ]
check "the critical endpoint's client too ($bcrit = $kcrit)" [ "$bcrit" = "${kcrit:-x}" ]
check "... and its bytes are all 'C'" [ "$(count "$T/crit.out" 6)" = "$bcrit" ]

# ---- a cgroup that comes, goes and comes back ----
mkdir "$CG/later" && echo 16M >"$CG/later/memory.limit_in_bytes"
client "$T/mp/later" "$T/later1.out"
c1=$last
wait_for "$T/later1.out" ready
check "a client's connection subscribes the endpoint to the new cgroup" \
	wait_for "$T/daemon.log" "endpoint $T/mp/later: watching cgroup $CGREL/later at low"
rmdir "$CG/later"
check "removing the cgroup wakes its client with 'X'" wait_for "$T/later1.out" "^wake .* 1\$" 300
check "... and keeps the connection" kill -0 "$c1"
check "... logged" grep -q "cgroup $CGREL/later was removed" "$T/daemon.log"
mkdir "$CG/later" && v1_limit 16M "$CG/later"
watching() { grep -c "endpoint $T/mp/later: watching cgroup $CGREL/later" "$T/daemon.log"; }
i=0
while [ $i -lt 500 ] && [ "$(watching)" -lt 2 ]; do sleep 0.01; i=$((i + 1)); done
check "made again: the endpoint subscribes anew by itself for the client that stayed (after $((i * 10)) ms)" \
	[ "$(watching)" -eq 2 ]
client "$T/mp/later" "$T/later2.out"
c2=$last
wait_for "$T/later2.out" ready
check "... and a new client shares that subscription" [ "$(watching)" -eq 2 ]
sleep 0.2
"$KL" "$CG/later" low >"$T/klater.out" 2>"$T/klater.err" &
kll=$!
pids="$pids $kll"
wait_for "$T/klater.out" ready
{ sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 256' sh "$CG/later" "$HOG"; } 2>/dev/null
hs=$?
sleep 2
kill -TERM "$kll"
wait "$kll"
echo "# hog in the new cgroup: status $hs; kernel listener there: $(cat "$T/klater.out" | tail -n 1)"
b1=$(count "$T/later1.out" 3)
b2=$(count "$T/later2.out" 3)
kll_n=$(awk '$1 == "low" {print $2}' "$T/klater.out")
check "pressure in it wakes both clients, the one from before the removal too ($b1 - 1 'X', $b2; kernel $kll_n)" \
	[ "$b2" -gt 0 -a $((b1 - 1)) -eq "$b2" -a "$b2" = "${kll_n:-x}" ]

kill -TERM "$dpid"
wait "$dpid"
ds=$?
check "vmpressured exits 0 on SIGTERM" [ $ds -eq 0 ]
check "... and removed its endpoint sockets" [ ! -e "$T/mp/low" -a ! -e "$T/mp/crit" -a ! -e "$T/mp/later" ]
for f in "$T"/*.err "$T/daemon.log"; do [ $fail -gt 0 ] && sed "s|^|# $(basename "$f"): |" "$f"; done
tap_done
