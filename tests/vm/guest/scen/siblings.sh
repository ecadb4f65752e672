# Two sibling groups under pressure at once, each against its own 32 MiB
# limit: one streams page cache, the other holds anonymous memory and
# re-reads a file.
GROUPS="sb sb/a=32M sb/b=32M"
LISTEN="sb:low sb:medium,hierarchy sb:critical sb/a:low sb/a:medium sb/a:critical,local sb/b:low,local sb/b:medium sb/b:critical"
workload() {
	drop
	run sb/a file /mnt/data/f128 &
	W=$!
	run sb/b mix /mnt/data/f64 20
	wait $W
}
