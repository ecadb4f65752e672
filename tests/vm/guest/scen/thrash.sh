# A file working set re-read above its group's limit: 64 MiB read again and
# again for 5 s in a 48 MiB group (1.3x). Refaults, no OOM.
GROUPS="th=48M th/a"
LISTEN="th:low th:medium th:critical th:low,local th/a:low th/a:medium,hierarchy"
workload() {
	drop
	run th/a reread 5 /mnt/data/f64
}
