# Many small cgroups at once: eight 16 MiB groups under one parent; four
# stream files, four touch 24 MiB of anonymous memory (four OOM kills).
GROUPS="ms ms/c1=16M ms/c2=16M ms/c3=16M ms/c4=16M ms/c5=16M ms/c6=16M ms/c7=16M ms/c8=16M"
LISTEN="ms:low ms:medium ms:critical ms/c1:low ms/c3:low ms/c5:critical ms/c6:medium ms/c8:low,hierarchy"
workload() {
	drop
	P=
	i=1
	for f in f64 f64b f128 f192; do
		/bin/hog -c $M/ms/c$i file /mnt/data/$f &
		P="$P $!"
		i=$((i + 1))
	done
	for i in 5 6 7 8; do
		/bin/hog -c $M/ms/c$i anon 24 0 &
		P="$P $!"
	done
	wait $P
}
