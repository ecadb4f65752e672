# Swap on zram filling before the OOM: with 48 MiB of swap, 120 MiB of
# anonymous memory in a 40 MiB group is swapped out (reclaimable anonymous
# memory) until the swap is full, then the OOM killer.
SWAP=48M
GROUPS="zs=40M zs/a"
LISTEN="zs:low zs:medium zs:critical zs:low,local zs/a:low zs/a:critical,local"
workload() {
	drop
	run zs/a anon 120 0
}
