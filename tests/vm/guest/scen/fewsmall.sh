# A few small cgroups failing at once: three 16 MiB groups under one
# parent; c1 streams a file while c2 and c3 each touch 24 MiB of anonymous
# memory at the same moment (two OOM kills, close together).
GROUPS="fs fs/c1=16M fs/c2=16M fs/c3=16M"
LISTEN="fs:low fs:critical fs/c1:low fs/c2:critical fs/c3:medium fs/c3:low,hierarchy"
workload() {
	drop
	/bin/hog -c $M/fs/c1 file /mnt/data/f64 &
	P=$!
	/bin/hog -c $M/fs/c2 anon 24 0 &
	P="$P $!"
	run fs/c3 anon 24 0
	wait $P
}
