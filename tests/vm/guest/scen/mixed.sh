# The reference capture's workload: a file, then a file with anonymous
# memory held, then anonymous memory up to the OOM killer, in a 40 MiB
# group.
GROUPS="mx=40M mx/a"
LISTEN="mx:low mx:medium mx:critical mx:critical,local mx:low,hierarchy mx/a:low mx/a:medium mx/a:critical,hierarchy"
workload() {
	drop
	run mx/a file /mnt/data/f64
	run mx/a mix /mnt/data/f64 30
	run mx/a anon 80 0
}
