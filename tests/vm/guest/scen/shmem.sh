# shmem filling a group while another process streams: a holds a 40 MiB
# memfd mapped shared (unreclaimable without swap) in a 64 MiB group while b
# reads a 128 MiB file through what is left.
GROUPS="sh=64M sh/a sh/b"
LISTEN="sh:low sh:medium sh:critical sh/a:low sh/b:low sh/b:medium,hierarchy"
workload() {
	drop
	/bin/hog -c $M/sh/a shm 40 6 &
	W=$!
	sleep 1
	run sh/b file /mnt/data/f128
	wait $W
}
