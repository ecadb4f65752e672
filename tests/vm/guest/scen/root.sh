# Root listeners: every mode on the root, a default listener below that
# handles what reaches it first, and an OOM in a 40 MiB group.
GROUPS="rt=40M rt/a"
LISTEN="/:low /:medium /:critical /:low,hierarchy /:medium,hierarchy /:critical,hierarchy /:low,local /:critical,local rt:medium"
workload() {
	drop
	run rt/a mix /mnt/data/f64 16
	run rt/a anon 60 0
}
