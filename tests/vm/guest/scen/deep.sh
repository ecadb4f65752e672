# A deep hierarchy with limits at three depths: d (32 MiB, depth 5) streams
# against its own limit, c against b's 56 MiB, x against dp's 96 MiB, all
# at once; then d's anonymous memory meets d's limit (OOM in d).
GROUPS="dp=96M dp/a dp/a/b=56M dp/a/b/c dp/a/b/c/d=32M dp/x"
LISTEN="dp:low dp:medium,hierarchy dp:critical dp/a:low,local dp/a/b:low dp/a/b:critical dp/a/b/c:medium dp/a/b/c/d:low dp/a/b/c/d:critical,local dp/x:low"
workload() {
	drop
	/bin/hog -c $M/dp/a/b/c/d file /mnt/data/f64 &
	W1=$!
	/bin/hog -c $M/dp/a/b/c file /mnt/data/f64b &
	W2=$!
	run dp/x file /mnt/data/f192
	wait $W1 $W2
	run dp/a/b/c/d anon 48 0
}
