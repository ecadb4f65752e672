# Every mode at several depths: listeners of each mode on a chain of four
# groups; reclaim originates at md/a/b/c (its own limit) and at md/a (the
# limit that md/a/d, without one, runs into), and ends in an OOM in c.
GROUPS="md md/a=48M md/a/b md/a/b/c=24M md/a/d"
LISTEN="md:low md:medium,hierarchy md:critical,local md/a:low,local md/a:medium md/a:low,hierarchy md/a:critical md/a/b:low md/a/b:medium,local md/a/b:critical,hierarchy md/a/b/c:low,hierarchy md/a/b/c:medium md/a/b/c:low,local md/a/b/c:critical,local md/a/d:low md/a/d:medium,hierarchy"
workload() {
	drop
	run md/a/b/c file /mnt/data/f64
	run md/a/d file /mnt/data/f64b
	run md/a/b/c anon 40 0
}
