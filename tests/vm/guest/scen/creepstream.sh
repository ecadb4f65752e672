# A slow leak while a sibling streams: b re-reads a 64 MiB file through
# the parent's 48 MiB limit while a leaks 1 MiB every 300 ms to the
# parent's OOM killer. Reclaim frees b's page cache all along; only a's
# growth leads to the kill.
GROUPS="cs=48M cs/a cs/b"
LISTEN="cs:low cs:medium cs:critical cs/a:low cs/b:low cs/b:critical,hierarchy"
workload() {
	drop
	/bin/hog -c $M/cs/b reread 40 /mnt/data/f64 &
	W=$!
	sleep 1
	run cs/a anon 64 300
	kill $W
	wait $W
}
