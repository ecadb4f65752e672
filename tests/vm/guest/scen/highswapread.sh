# memory.high with swap and page cache: a holds 36 MiB of anonymous memory
# for 4 s while b reads a 64 MiB file, in a group whose memory.high is
# 24 MiB, with 48 MiB of swap on zram: reclaim at memory.high swaps and
# drops cache and throttles both; no memory.max, no OOM. cgroup v1 has no
# memory.high: there it is a 40 MiB limit_in_bytes (swapping, no OOM).
SWAP=48M
GROUPS="hr=high:24M hr/a hr/b"
[ "$CG" = 1 ] && GROUPS="hr=40M hr/a hr/b"
LISTEN="hr:low hr:medium hr:critical hr:low,local hr/a:low hr/b:medium,hierarchy"
workload() {
	drop
	/bin/hog -c $M/hr/a hold 36 4 &
	W=$!
	sleep 1
	run hr/b file /mnt/data/f64
	wait $W
}
