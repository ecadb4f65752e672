# Limits on both parent and child: nl/a hits its own 32 MiB limit while
# nl/b (no limit of its own) drives nl's 64 MiB limit, at the same time;
# then a's anonymous memory meets a's limit (OOM in a).
GROUPS="nl=64M nl/a=32M nl/b"
LISTEN="nl:low nl:medium nl:critical,hierarchy nl:low,local nl/a:low nl/a:medium,local nl/a:critical nl/b:low nl/b:medium,hierarchy"
workload() {
	drop
	run nl/a file /mnt/data/f64 &
	W=$!
	run nl/b file /mnt/data/f128
	wait $W
	run nl/a anon 48 0
}
