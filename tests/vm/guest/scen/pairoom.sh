# One sibling streaming while the other leaks to their parent's OOM
# killer: a reads a 128 MiB file under the parent's 64 MiB limit while b's
# anonymous memory grows (1 MiB every 20 ms) until the parent's OOM kills
# it. Both charge against the same limit, so both fail charges near the end.
GROUPS="po=64M po/a po/b"
LISTEN="po:low po:medium po:critical po:critical,local po/a:low po/b:critical,hierarchy"
workload() {
	drop
	/bin/hog -c $M/po/a file /mnt/data/f128 &
	W=$!
	run po/b anon 96 20
	wait $W
}
