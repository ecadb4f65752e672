# Page-cache reclaim: a 192 MiB file streamed through a 48 MiB group.
# Clean cache reclaims easily: low, and little else.
GROUPS="pc=48M pc/a"
LISTEN="pc:low pc:low,hierarchy pc:low,local pc:medium pc:critical,hierarchy pc/a:low pc/a:medium,hierarchy pc/a:critical"
workload() {
	drop
	run pc/a file /mnt/data/f192
}
