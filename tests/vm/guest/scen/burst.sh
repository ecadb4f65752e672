# Bursts that fill a 64 MiB group to about 90 % and free it again: a file
# fills the group's page cache, then three bursts of 56 MiB anonymous held
# 1 s each push the cache out, then another file. Benign: no OOM.
GROUPS="bu=64M bu/a"
LISTEN="bu:low bu:medium bu:critical bu:low,local bu/a:low bu/a:medium,hierarchy"
workload() {
	drop
	run bu/a file /mnt/data/f64
	for i in 1 2 3; do run bu/a hold 56 1; done
	run bu/a file /mnt/data/f64b
}
