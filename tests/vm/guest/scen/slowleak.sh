# A slow anonymous leak: 1 MiB every 40 ms up to 64 MiB in a 40 MiB group,
# no swap: the OOM killer after about 2 s of growing.
GROUPS="sl=40M sl/a"
LISTEN="sl:low sl:medium sl:critical sl:critical,local sl/a:low sl/a:critical,hierarchy"
workload() {
	drop
	run sl/a anon 64 40
}
