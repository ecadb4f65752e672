# Several siblings streaming while one leaks to the OOM killer: a, b and c
# read files under their parent's 80 MiB limit while d's anonymous memory
# grows (1 MiB every 10 ms) until the parent's OOM kills it.
GROUPS="so=80M so/a so/b so/c so/d"
LISTEN="so:low so:medium so:critical so:critical,local so/a:low so/b:medium so/c:critical so/d:low so/d:critical,hierarchy"
workload() {
	drop
	/bin/hog -c $M/so/a file /mnt/data/f64 &
	W1=$!
	/bin/hog -c $M/so/b file /mnt/data/f64b &
	W2=$!
	/bin/hog -c $M/so/c file /mnt/data/f128 &
	W3=$!
	run so/d anon 100 10
	wait $W1 $W2 $W3
}
