#!/bin/sh
# vmpressure record on this machine's real cgroup v1 memory controller.
#
#   record_v1_live.sh VMPRESSURE HOG
#
# On cgroup v1 the kernel computes the levels itself, so `record` records
# what can be recorded, the whole machine's /proc/vmstat estimator, and
# must say what that leaves out: reclaim inside a memory cgroup at its limit
# is not counted in /proc/vmstat. A memory cgroup with a 32M limit below
# this test's own (tests/lib/v1cgroup.sh: removed however the test ends) is
# the hierarchy's root for the recording (--cgroup-root), page cache and an
# anonymous hog push it past its limit, and then:
#   - `record CGROUP` of a cgroup below the root is refused (exit 69) with
#     the reason;
#   - `record` of '/' exits 0, says on standard error that the machine
#     source sees global reclaim only, and reports the kernel's own count
#     for '/' meanwhile, which is not 0 under this pressure, in its summary
#     and as a comment in the file, beside the recorded count;
#   - the recording replays (`replay --check` exit 0).
# Skips (TAP "1..0 # SKIP") when not root, without a v1 memory controller,
# or when a cgroup cannot be created.
set -u
V=$1
HOG=$2
V1_NAME=vmp-record-v1
V1_SUBDIRS=child
. "$(dirname "$0")/../lib/v1cgroup.sh"

echo 32M >"$CG/memory.limit_in_bytes" || { no "set a 32M limit"; tap_done record-v1-live; }
[ -f "$CG/memory.memsw.limit_in_bytes" ] && echo 32M >"$CG/memory.memsw.limit_in_bytes" 2>/dev/null
mkdir "$CG/child"

"$V" record child --cgroup-root "$CG" --duration 1 -o "$T/child.vmpt" 2>"$T/child.err"
rc=$?
check "record of a cgroup below the root is refused, exit 69 (got $rc)" [ $rc -eq 69 ]
check "... saying why and what can be recorded" grep -q "only the whole machine ('/'" "$T/child.err"
check "... and leaving no file behind" [ ! -e "$T/child.vmpt" ]

"$V" record --cgroup-root "$CG" --duration 12 -o "$T/r.vmpt" 2>"$T/r.err" &
rp=$!
pids="$pids $rp"
wait_for "$T/r.err" "recording / at" 500
sh -c 'echo $$ >"$1/cgroup.procs" && exec dd if=/dev/zero of="$2/big" bs=1M count=200 conv=fsync 2>/dev/null' \
	sh "$CG" "$T"
rm -f "$T/big"
{ sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 128' sh "$CG" "$HOG"; } 2>/dev/null
wait $rp
rc=$?
sed 's/^/# /' "$T/r.err"
check "record of '/' exits 0 (got $rc)" [ $rc -eq 0 ]
check "... says the machine source sees global reclaim only" grep -q "sees global reclaim only" "$T/r.err"
kernel=$(sed -n 's/.*the kernel itself notified \([0-9]*\) times for \/ .*/\1/p' "$T/r.err")
check "... reports the kernel's own count for / meanwhile ($kernel), not 0 under the cgroup's pressure" \
	[ "${kernel:-0}" -gt 0 ]
recorded=$(sed -n 's/^vmpressure: \/: \([0-9]*\) notifications in.*/\1/p' "$T/r.err")
if [ "${kernel:-0}" -gt "${recorded:-0}" ]; then
	check "... and says where the difference comes from" grep -q "inside memory cgroups at their limits" "$T/r.err"
fi
check "the file keeps both counts as a comment" \
	grep -q "^# cgroup v1: the kernel notified $kernel times for / at low,hierarchy during this recording; it holds the /proc/vmstat estimator's ${recorded}\$" "$T/r.vmpt"
"$V" replay --check "$T/r.vmpt" >"$T/replay.out" 2>&1
check "the recording replays to its counts (replay --check exit 0)" [ $? -eq 0 ]
tap_done record-v1-live
