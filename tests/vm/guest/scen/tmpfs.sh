# tmpfs files that outlive their writer: a writes 32 MiB to a tmpfs file
# and exits (the pages stay charged to a, unreclaimable without swap); then
# b streams a 128 MiB file through the 16 MiB the 48 MiB group has left.
GROUPS="tf=48M tf/a tf/b"
LISTEN="tf:low tf:medium tf:critical tf/a:low tf/b:low tf/b:medium,hierarchy"
workload() {
	drop
	run tf/a tmpfs /tmp/tf-a 32
	run tf/b file /mnt/data/f128
}
cleanup() {
	rm -f /tmp/tf-a
}
