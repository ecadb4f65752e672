# Sourced by test_record.sh and test_estimate.sh (after T is set): fixture
# cgroup v2 (with a) and /proc trees below $T, CG and PR their paths and R
# the options that point the sources at them, all counters 0. vmstat,
# cgset and sched change the counters.
CG=$T/cg
PR=$T/proc
mkdir -p "$CG/a" "$PR/pressure"
echo "cpu memory pids" >"$CG/cgroup.controllers"
printf 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n' \
	>"$PR/pressure/memory"
# The sources keep these files open and re-read them while they change: a
# truncating write could show them an empty file (a lost sample). So every
# write is one write(2) in place (<>, no truncation) of text whose length
# never changes (numbers padded with zeros).
put() { # file, format, args...
	f=$1
	shift
	# shellcheck disable=SC2059
	printf "$@" 1<>"$f"
}
vmstat() { # pgscan pgsteal allocstall
	put "$PR/vmstat" 'nr_free_pages 1000\npgscan_kswapd %010d\npgscan_direct 0\npgsteal_kswapd %010d\npgsteal_direct 0\nallocstall_normal %010d\nallocstall_movable 0\noom_kill 0\n' \
		"$1" "$2" "$3"
}
# memory.stat: the file LRU is 2000 pages (large: DEPTH leaves it alone),
# the anonymous LRU 200
CG_STAT_FMT='anon 4096\nfile 8192000\nactive_anon 409600\ninactive_anon 409600\nactive_file 4096000\ninactive_file 4096000\npgscan %010d\npgsteal %010d\npgscan_kswapd 0\npgscan_direct %010d\npgsteal_kswapd 0\npgsteal_direct %010d\n'
cgset() { # pgscan pgsteal max [oom oom_kill]: the stat first, the events (what wakes the source) last
	put "$CG/a/memory.stat" "$CG_STAT_FMT" "$1" "$2" "$1" "$2"
	put "$CG/a/memory.events" 'low 0\nhigh 0\nmax %010d\noom %010d\noom_kill %010d\noom_group_kill 0\n' "$3" "${4:-0}" "${5:-0}"
}
printf 'some avg10=1.50 avg60=0.00 avg300=0.00 total=1000\nfull avg10=0.25 avg60=0.00 avg300=0.00 total=10\n' \
	>"$CG/a/memory.pressure"
echo 40960 >"$CG/a/memory.swap.current"
# /proc/schedstat as 6.12 writes it (version 17), two CPUs: each cpu line's
# 7th and 8th numbers are the time tasks ran and waited there, in ns
sched() { # run wait: each CPU's
	put "$PR/schedstat" 'version 17\ntimestamp 4295000000\ncpu0 0 0 9000 4000 7000 3000 %015d %015d 8000\ndomain0 MC 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 9000 4000 7000 3000 %015d %015d 8000\ndomain0 MC 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n' \
		"$1" "$2" "$1" "$2"
}
vmstat 0 0 0
cgset 0 0 0
sched 1000000000 0
R="--cgroup-root $CG --proc-root $PR"
