# Page-cache streaming through a limit, two readers: a reads 192 MiB while b
# reads 128 MiB, both under one 40 MiB limit. Clean cache: low only.
GROUPS="st=40M st/a st/b"
LISTEN="st:low st:medium st:critical st:low,local st/a:low st/b:low,hierarchy"
workload() {
	drop
	/bin/hog -c $M/st/a file /mnt/data/f192 &
	W=$!
	run st/b file /mnt/data/f128
	wait $W
}
