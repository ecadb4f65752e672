#!/bin/sh
# vmpressured and `vmpressure watch` on this machine's real cgroup v1
# memory controller, against listeners registered directly with the kernel.
#
#   v1_live.sh VMPRESSURED VMPRESSURE KERNEL_LISTEN SUB_CLIENT HOG
#
# A memory cgroup with a 32M limit is created below this test's own memory
# cgroup (from /proc/self/cgroup) and removed however the test ends. For
# each of six listener arguments (low, medium, critical in the default
# mode, and hierarchy/local variants) the same run has
#   - a listener registered directly with the kernel (kernel_listen),
#   - a vmpressured subscription (v1 source) with an eventfd and a stream
#     (sub_client),
#   - `vmpressure watch --json --no-daemon`, and for low also a watch
#     through the daemon.
# Page-cache pressure (dd reading a 300 MB temporary file, uncached, inside
# the cgroup) and anonymous pressure (a helper allocating past the limit until
# the OOM killer takes it, alone in the cgroup) drive reclaim. Then every
# count must equal the kernel listener's for the same arguments, and the
# level split of the stream equals the differences of the kernel's low,
# medium and critical counts. Finally a child cgroup is removed under a
# kernel listener, a daemon subscription and two watchers: each gets the
# kernel's final increment or a `removed` event, and the id is freed.
# The daemon also writes its metrics textfile (--metrics-cgroup CG:low):
# the low listener's counts by level equal the kernel's, with no evidence
# series (the v1 passthrough has none).
#
# Skips (TAP "1..0 # SKIP") when not root, without a v1 memory controller,
# or when a cgroup cannot be created. Changes nothing outside its cgroup
# and its temporary directory: no drop_caches, no sysctl.
set -u
D=$1
V=$2
KL=$3
SC=$4
HOG=$5

V1_NAME=vmpd-live
V1_SUBDIRS=child
. "$(dirname "$0")/../lib/v1cgroup.sh"
has() { echo "$1" | grep -q "$2"; }
json_total() { # the sum of the pressure events' counts in a watch --json file
	sed -n 's/.*"event":"pressure".*"count":\([0-9]*\).*/\1/p' "$1" | awk '{s += $1} END {print s + 0}'
}

v1_limit 32M || { no "set a 32M limit"; echo "1..$n"; exit 1; }
mkdir "$CG/child"
echo "# cgroup $CG (as $CGREL), temporary files in $T"

ARGS="low medium critical low,hierarchy medium,local critical,hierarchy"

# The reference: listeners registered with the kernel directly.
"$KL" "$CG" $ARGS >"$T/kernel.out" 2>"$T/kernel.err" &
pids="$pids $!"
kl=$!
"$KL" "$CG/child" low >"$T/kchild.out" 2>"$T/kchild.err" &
pids="$pids $!"
klc=$!

# The daemon and its clients.
S=$T/control
"$D" --source v1 --socket "$S" --metrics-textfile "$T/metrics.prom" --metrics-interval 0.2 \
	--metrics-cgroup "$CGREL:low" 2>"$T/daemon.log" &
dpid=$!
pids="$pids $dpid"
# The socket is bound before the subscriptions of --metrics-cgroup are
# made; the "serving" line comes after them.
check "vmpressured is up with the v1 source" wait_for "$T/daemon.log" "cgroup-v1 source" 500
"$SC" "$S" "$CGREL" $ARGS >"$T/sub.out" 2>"$T/sub.err" &
pids="$pids $!"
sc=$!
"$SC" "$S" "$CGREL/child" low >"$T/subchild.out" 2>"$T/subchild.err" &
pids="$pids $!"
scc=$!

# watch in-process, one per args, and one through the daemon
k=0
for a in $ARGS; do
	k=$((k + 1))
	lvl=${a%%,*}
	mode=default
	case $a in *,*) mode=${a#*,} ;; esac
	"$V" watch "$CGREL" --source v1 --no-daemon --json --level "$lvl" --mode "$mode" \
		>"$T/watch.$k.json" 2>"$T/watch.$k.err" &
	pids="$pids $!"
	eval "w$k=\$!"
done
"$V" watch "$CGREL" --socket "$S" --json --level low --mode default >"$T/watchd.json" 2>"$T/watchd.err" &
wd=$!
pids="$pids $wd"
"$V" watch "$CGREL/child" --source v1 --no-daemon --level low --mode default >"$T/wchild.txt" 2>"$T/wchild.err" &
wc=$!
pids="$pids $wc"
"$V" watch "$CGREL/child" --socket "$S" --level low --mode default >"$T/wchildd.txt" 2>"$T/wchildd.err" &
wcd=$!
pids="$pids $wcd"

ready=1
wait_for "$T/kernel.out" ready && wait_for "$T/kchild.out" ready || ready=0
wait_for "$T/sub.out" ready && wait_for "$T/subchild.out" ready || ready=0
for k in 1 2 3 4 5 6; do wait_for "$T/watch.$k.err" watching || ready=0; done
wait_for "$T/watchd.err" "through vmpressured" && wait_for "$T/wchild.err" watching &&
	wait_for "$T/wchildd.err" "through vmpressured" || ready=0
check "every listener is registered before the pressure starts" [ $ready -eq 1 ]
if [ $ready -ne 1 ]; then
	for f in "$T"/*.err "$T/daemon.log"; do sed "s|^|# $(basename "$f"): |" "$f"; done
fi

# ---- pressure ----
t0=$(date +%s)
# The file is written outside the cgroup and its clean pages dropped from
# the cache (posix_fadvise on this file alone: dd's nocache), then read
# inside: clean page cache that reclaim can always free. Written inside,
# dirty pages fill a v1 cgroup (whose writeback is not throttled per
# cgroup) faster than they are written back, and dd can be OOM-killed.
dd if=/dev/zero of="$T/big" bs=1M count=300 conv=fsync 2>/dev/null &&
	dd if="$T/big" iflag=nocache count=0 2>/dev/null
sh -c 'echo $$ >"$1/cgroup.procs" && exec dd if="$2/big" of=/dev/null bs=1M' sh "$CG" "$T" 2>"$T/dd.err"
check "page cache: dd read 300 MB through the 32M cgroup" grep -q '^314572800 bytes' "$T/dd.err" ||
	sed 's/^/# dd: /' "$T/dd.err"
# 300 MB through a 32M limit is reclaimed page cache: the kernel reports
# it before any anonymous memory is added (watch --no-daemon, low).
check "... charged to the cgroup: the kernel reported pressure for the page cache alone" \
	wait_for "$T/watch.1.json" '"event":"pressure"'
rm -f "$T/big"
{ sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 256' sh "$CG" "$HOG"; } 2>/dev/null
hs=$?
check "anonymous memory: the hog was OOM-killed in its cgroup (status $hs)" [ $hs -eq 137 ]
oomk=$(sed -n 's/^oom_kill \([0-9]*\)/\1/p' "$CG/memory.oom_control")
[ -n "$oomk" ] && check "memory.oom_control counts the kill ($oomk)" [ "$oomk" -ge 1 ]
check "... and only the hog: the daemon is alive" kill -0 "$dpid"
check "... the kernel listener too" kill -0 "$kl"
echo "# pressure took $(($(date +%s) - t0)) s"
sleep 2 # the kernel's deferred work, then the relays
sleep 0.5 # a textfile tick after the last relay
cp "$T/metrics.prom" "$T/metrics.snap" 2>/dev/null

# ---- counts ----
kill -TERM "$kl" "$sc"
for k in 1 2 3 4 5 6; do eval "kill -TERM \$w$k"; done
kill -TERM "$wd"
wait "$kl" "$sc" "$wd"
for k in 1 2 3 4 5 6; do eval "wait \$w$k"; done
sed 's/^/# kernel: /' "$T/kernel.out"
sed 's/^/# daemon: /' "$T/sub.out"

k=0
for a in $ARGS; do
	k=$((k + 1))
	kc=$(awk -v a="$a" '$1 == a {print $2}' "$T/kernel.out")
	line=$(grep "^$a " "$T/sub.out")
	efd=$(echo "$line" | sed -n 's/.* efd=\([0-9]*\).*/\1/p')
	str=$(echo "$line" | sed -n 's/.* stream=\([0-9]*\).*/\1/p')
	wj=$(json_total "$T/watch.$k.json")
	check "$a: vmpressured's eventfd count equals the kernel listener's ($efd = $kc)" [ "${efd:-x}" = "${kc:-y}" ]
	check "$a: vmpressured's stream count equals it ($str)" [ "${str:-x}" = "${kc:-y}" ]
	check "$a: watch --no-daemon counts the same ($wj)" [ "$wj" = "${kc:-y}" ]
done
klow=$(awk '$1 == "low" {print $2}' "$T/kernel.out")
kmed=$(awk '$1 == "medium" {print $2}' "$T/kernel.out")
kcrit=$(awk '$1 == "critical" {print $2}' "$T/kernel.out")
check "there was pressure: the kernel's low listener counted $klow" [ "${klow:-0}" -gt 0 ]
line=$(grep "^low " "$T/sub.out")
slow=$(echo "$line" | sed -n 's/.* low=\([0-9]*\).*/\1/p')
smed=$(echo "$line" | sed -n 's/.* medium=\([0-9]*\).*/\1/p')
scrit=$(echo "$line" | sed -n 's/.* critical=\([0-9]*\).*/\1/p')
check "the low stream's levels split as the kernel's listeners count: low $slow = $klow - $kmed, medium $smed = $kmed - $kcrit, critical $scrit = $kcrit" \
	[ "${slow:-x}" = $((klow - kmed)) -a "${smed:-x}" = $((kmed - kcrit)) -a "${scrit:-x}" = "$kcrit" ]
metric() { # level: the low listener's notifications at that level, from the textfile
	sed -n "s|^vmpressure_notifications_total{cgroup=\"$CGREL\",args=\"low\",level=\"$1\"} ||p" "$T/metrics.snap"
}
mlow=$(metric low)
mmed=$(metric medium)
mcrit=$(metric critical)
check "metrics textfile: the low listener's notifications by level as the kernel's listeners count (low $mlow, medium $mmed, critical $mcrit)" \
	[ "${mlow:-x}" = $((klow - kmed)) -a "${mmed:-x}" = $((kmed - kcrit)) -a "${mcrit:-x}" = "$kcrit" ]
check "metrics textfile: no scanned/reclaimed/pressure series on cgroup v1" \
	sh -c '! grep -q "scanned_pages\|reclaimed_pages\|pressure_ratio" "$1" && grep -q "source=\"cgroup-v1\"" "$1"' sh "$T/metrics.snap"
wdj=$(json_total "$T/watchd.json")
check "watch through the daemon counts the same as the kernel's low listener ($wdj)" [ "$wdj" = "$klow" ]
# How many notifications one event line stands for depends on when the
# relay read the kernel's eventfd, so the lines may differ; the totals per
# level may not.
by_level() { sed -n 's/.*"event":"pressure".*"level":"\([a-z]*\)","count":\([0-9]*\).*/\1 \2/p' "$1" |
	awk '{s[$1] += $2} END {printf "low %d medium %d critical %d\n", s["low"], s["medium"], s["critical"]}'; }
check "... and the same per level, in-process or not ($(by_level "$T/watchd.json"))" \
	[ "$(by_level "$T/watch.1.json")" = "$(by_level "$T/watchd.json")" -a \
	"$(by_level "$T/watch.1.json")" = "low $((klow - kmed)) medium $((kmed - kcrit)) critical $kcrit" ]
check "watch --no-daemon said it was in-process" grep -q "in-process" "$T/watch.1.err"

# ---- removal of a watched cgroup ----
rmdir "$CG/child"
check "the child cgroup is removed" [ ! -d "$CG/child" ]
wait "$wc"
s1=$?
wait "$wcd"
s2=$?
check "watch --no-daemon on it exits 0 when it goes ($s1)" [ $s1 -eq 0 ]
check "... printing the removal" grep -q "was removed" "$T/wchild.txt"
check "watch through the daemon exits 0 too ($s2)" [ $s2 -eq 0 ]
check "... printing the same removal" grep -q "was removed" "$T/wchildd.txt"
sleep 0.5
kill -TERM "$klc" "$scc"
wait "$klc" "$scc"
kcc=$(awk '$1 == "low" {print $2}' "$T/kchild.out")
line=$(cat "$T/subchild.out" | grep "^low ")
echo "# kernel (child): $(cat "$T/kchild.out" | tail -n 1); daemon (child): $line"
check "the kernel listener on the removed child got its final increment ($kcc)" [ "${kcc:-0}" -ge 1 ]
check "vmpressured's eventfd got the same count" [ "$(echo "$line" | sed -n 's/.* efd=\([0-9]*\).*/\1/p')" = "$kcc" ]
check "... a removed event on the stream" has "$line" "removed=1"
check "... and the id was freed (unsubscribe: ENOENT)" has "$line" "unsubscribe=ENOENT"

kill -TERM "$dpid"
wait "$dpid"
ds=$?
check "vmpressured exits 0 on SIGTERM" [ $ds -eq 0 ]
check "... and removed its socket" [ ! -e "$S" ]
pids=

tap_done
