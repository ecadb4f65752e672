# Fast leaks: two children touch 40 MiB each at full speed, at once, under
# their parent's 48 MiB limit: the parent's OOM kills one of them.
GROUPS="fl=48M fl/a fl/b"
LISTEN="fl:low fl:medium fl:critical fl:critical,local fl/a:critical fl/b:low,hierarchy"
workload() {
	drop
	/bin/hog -c $M/fl/a anon 40 0 &
	W=$!
	run fl/b anon 40 0
	wait $W
}
