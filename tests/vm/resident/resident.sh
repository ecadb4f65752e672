# The daemon under the pressure it reports (tests/vm/resident/README.md).
# Two daemons watch the same listeners, one with the protections
# (mlockall, oom_score_adj -900 as the unit sets it) and one without
# (--no-mlock, oom_score_adj 0); a client of each and the kernel's own
# listeners (klisten) count. Then, with the capture on: global reclaim
# (280 MiB held while 448 MiB of files stream through the 512 MiB guest),
# a cgroup that thrashes (a 24 MiB group reading 128 MiB of files twice), and
# the OOM killer (600 MiB of anonymous memory, no limit, no swap).
# Output besides the usual: daemon-p.log, daemon-u.log, client-p, client-u,
# efdids-p, efdids-u (the eventfd ids of each daemon's kernel registrations),
# pids, rss (the daemons' Rss of smaps_rollup every 0.5 s), victims.
CUSTOM=1
RLISTEN="/:low /:medium /:critical rs:low rs/t:low rs/t:medium,hierarchy"
custom() {
	[ "$CG" = 1 ] || { echo "resident: cgroup v1 only (the kernel's eventfd_signal is the reference)"; return; }
	mkgrp rs
	mkgrp rs/a
	mkgrp rs/b
	mkgrp rs/t 24M
	mkgrp rs/o
	# The protected daemon also runs an action: its process must start at
	# oom_score_adj 0 (and unlocked), not the daemon's -900 (what a
	# container's root cannot show: lowering needs CAP_SYS_RESOURCE).
	( echo -900 > /proc/self/oom_score_adj
	  exec /bin/vmpressured --source v1 --socket /run/vmpd-p.sock --log-file $O/daemon-p.log \
		--exec "/ low read a < /proc/\$\$/oom_score_adj; echo \$a > $O/exec-child.tmp; grep VmLck /proc/\$\$/status >> $O/exec-child.tmp; mv $O/exec-child.tmp $O/exec-child" ) &
	DP=$!
	/bin/vmpressured --source v1 --no-mlock --socket /run/vmpd-u.sock --log-file $O/daemon-u.log &
	DU=$!
	echo "protected $DP unprotected $DU" > $O/pids
	i=0
	while { [ ! -S /run/vmpd-p.sock ] || [ ! -S /run/vmpd-u.sock ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	/bin/klisten $M $RLISTEN > $O/klisten 2>> $O/log &
	KP=$!
	/bin/vmpclient /run/vmpd-p.sock -e $RLISTEN > $O/client-p 2>> $O/log &
	CPP=$!
	/bin/vmpclient /run/vmpd-u.sock -e $RLISTEN > $O/client-u 2>> $O/log &
	CPU=$!
	waitfor $O/klisten READY 10 || echo "resident: klisten not ready"
	waitfor $O/client-p READY 10 || echo "resident: the protected daemon's client not ready"
	waitfor $O/client-u READY 10 || echo "resident: the unprotected daemon's client not ready"
	for k in p u; do
		eval d=\$D$(echo $k | tr pu PU)
		grep -h eventfd-id /proc/$d/fdinfo/* 2>/dev/null | awk '{print $2}' > $O/efdids-$k
		grep -E 'VmLck|VmRSS' /proc/$d/status | tr '\n' ' ' >> $O/pids
		echo "oom_score_adj $k $(cat /proc/$d/oom_score_adj)" >> $O/pids
	done
	( while :; do
		# smaps_rollup walks the page tables: VmRSS on 6.1 is synced only
		# every 64 page faults of a task (SPLIT_RSS_COUNTING), and an idle
		# daemon makes few.
		echo "$(/bin/hog now) $(grep '^Rss:' /proc/$DP/smaps_rollup 2>/dev/null | awk '{print $2}') $(grep '^Rss:' /proc/$DU/smaps_rollup 2>/dev/null | awk '{print $2}')"
		sleep 0.5
	done ) > $O/rss &
	RP=$!
	sleep 1
	dmesg -c > /dev/null
	echo > $T/trace
	echo 1 > $T/events/kprobes/enable
	echo 1 > $OOMTP
	echo "start $(/bin/hog now)" > $O/meta
	drop
	echo "phase global $(/bin/hog now)" >> $O/meta
	/bin/hog -c $M/rs/a hold 280 40 &
	W=$!
	sleep 3
	run rs/b file /mnt/data/f192 /mnt/data/f128 /mnt/data/f64 /mnt/data/f64b
	kill $W
	wait $W
	drop # the files' pages are rs/b's until dropped: rs/t must charge its own
	echo "phase thrash $(/bin/hog now)" >> $O/meta
	run rs/t file /mnt/data/f64 /mnt/data/f64b /mnt/data/f64 /mnt/data/f64b
	echo "phase oom $(/bin/hog now)" >> $O/meta
	run rs/o anon 600 0
	echo "end $(/bin/hog now)" >> $O/meta
	sleep 2
	echo 0 > $T/events/kprobes/enable
	echo 0 > $OOMTP
	kill $RP
	kill $KP $CPP $CPU
	wait $KP $CPP $CPU 2>/dev/null
	cat $T/trace > $O/trace
	dmesg -c >> $O/log
	grep -i 'killed process' $O/log > $O/victims
	for k in p u; do
		eval d=\$D$(echo $k | tr pu PU)
		if kill -0 $d 2>/dev/null; then echo "alive $k $d" >> $O/victims; else echo "dead $k $d" >> $O/victims; fi
	done
	kill $DP $DU
	wait $DP $DU
	for g in rs/o rs/t rs/b rs/a rs; do
		left=$(cat $M/$g/cgroup.procs 2>/dev/null)
		[ -n "$left" ] && kill -9 $left && sleep 0.5
		rmdir $M/$g || echo "resident: rmdir $g failed"
	done
}
