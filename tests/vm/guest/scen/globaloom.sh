# A global OOM, no cgroup limit: a streams a file, then b touches 520 MiB
# of anonymous memory in the 512 MiB guest (no swap) until the OOM killer.
GROUPS="gm gm/a gm/b"
LISTEN="/:low /:medium /:critical /:critical,local gm:low gm:critical gm/b:critical,hierarchy"
workload() {
	drop
	run gm/a file /mnt/data/f64
	run gm/b anon 520 0
}
