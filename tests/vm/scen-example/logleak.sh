# An example of a workload brought from outside the tree (vmsuite.py
# --scen-dir tests/vm/scen-example): a service whose log reader streams
# through its group's page cache while a worker leaks, 1 MiB every 20 ms,
# to the group's OOM killer.
GROUPS="svc=48M svc/log svc/worker"
LISTEN="svc:low svc:medium svc:critical svc/log:low svc/worker:critical,hierarchy"
workload() {
	drop
	/bin/hog -c $M/svc/log file /mnt/data/f128 &
	W=$!
	run svc/worker anon 64 20
	wait $W
}
