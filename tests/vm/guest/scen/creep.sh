# A leak slow enough to act on: 1 MiB every 400 ms up to 64 MiB in a
# 40 MiB group, no swap: the OOM killer after about 16 s of growing (the
# forecast's case: an approach of seconds, not tenths).
GROUPS="cr=40M cr/a"
LISTEN="cr:low cr:medium cr:critical cr:critical,local cr/a:low cr/a:critical,hierarchy"
workload() {
	drop
	run cr/a anon 64 400
}
