# memory.high throttling with swap: 56 MiB of anonymous memory held 2 s in
# a group whose memory.high is 32 MiB, with 64 MiB of swap on zram: reclaim
# at memory.high swaps the excess out and throttles the writer; no
# memory.max, no OOM. cgroup v1 has no memory.high: there it is a 48 MiB
# limit_in_bytes (swapping, no OOM).
SWAP=64M
GROUPS="hw=high:32M hw/a"
[ "$CG" = 1 ] && GROUPS="hw=48M hw/a"
LISTEN="hw:low hw:medium hw:critical hw:low,local hw/a:low hw/a:medium,hierarchy"
workload() {
	drop
	run hw/a hold 56 2
}
