# A large stable anonymous set near the limit while files stream: a holds
# 48 MiB for 8 s in a 64 MiB group while b reads a 128 MiB file. No OOM.
GROUPS="sa=64M sa/a sa/b"
LISTEN="sa:low sa:medium sa:critical sa/a:low sa/b:low sa/b:medium,hierarchy"
workload() {
	drop
	/bin/hog -c $M/sa/a hold 48 8 &
	W=$!
	sleep 1
	run sa/b file /mnt/data/f128
	wait $W
}
