# Swap on zram without an OOM: a holds 40 MiB of anonymous memory for 8 s
# in a 48 MiB group while b streams a 128 MiB file through the rest, with
# 64 MiB of swap: reclaim frees page cache and swaps anonymous memory out
# at once.
SWAP=64M
GROUPS="sw=48M sw/a sw/b"
LISTEN="sw:low sw:medium sw:critical sw:low,local sw/a:low sw/b:medium,hierarchy"
workload() {
	drop
	/bin/hog -c $M/sw/a hold 40 8 &
	W=$!
	sleep 1
	run sw/b file /mnt/data/f128
	wait $W
}
