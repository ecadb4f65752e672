# memory.high throttling that never OOMs: 16 MiB anonymous held while a 128
# MiB file streams through a group whose memory.high is 32 MiB (no
# memory.max). cgroup v1 has no memory.high: there the limit is a
# limit_in_bytes of the same size.
GROUPS="hs=high:32M hs/a"
[ "$CG" = 1 ] && GROUPS="hs=32M hs/a"
LISTEN="hs:low hs:medium hs:critical hs:low,local hs/a:low hs/a:critical,hierarchy"
workload() {
	drop
	run hs/a mix /mnt/data/f64 16
}
