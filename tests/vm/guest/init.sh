#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the VM suite's initramfs (busybox). The kernel command line says
# what to run:
#   vmcg=1|2        the memory controller: cgroup v1 (memory.pressure_level:
#                   the kernel's own listeners) or cgroup v2 (no interface:
#                   the kernel's truth comes from the kprobe capture alone)
#   vmscen=a,b,c    the workloads, /scen/<name>.sh each
#   vmlrugen=V      written to /sys/kernel/mm/lru_gen/enabled before the
#                   workloads (n: MGLRU off); absent: the kernel's default
#
# Disks: /dev/vda, the data (read-only: the files the workloads read);
# /dev/vdb, the output (a fresh ext4 per run; the host reads it back with
# debugfs). Per workload, /out/<name>/ gets:
#   groups      "group <path> <kernfs id>", "hyp <spec>" (the listeners)
#   klisten     cgroup v1: what the kernel delivered to direct listeners
#   client      what vmpressured's subscribers received
#   trace       the kprobe capture (vmpressure, vmpressure_prio, the work
#               item, eventfd_signal) and the oom:mark_victim tracepoint
#   meta        start/end (CLOCK_MONOTONIC) and exit codes
#   log         workload and tool output, the dmesg of the workload
# Progress goes to the console as "VM: ..." lines; the host's timeout is the
# only watchdog (a hung guest is killed and its console log kept).
PATH=/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /run
mount -t tmpfs run /run

fail() { echo "VM: FATAL $*"; sync; poweroff -f; sleep 10; }

for m in $(cat /mods/order); do
	insmod /mods/$m.ko 2>/dev/null || echo "VM: insmod $m failed (built in?)"
done
mkdir -p /mnt/data /out
mount -t ext4 -o ro /dev/vda /mnt/data || fail "cannot mount the data disk /dev/vda"
mount -t ext4 /dev/vdb /out || fail "cannot mount the output disk /dev/vdb"
mount -t tracefs tracefs /sys/kernel/tracing || fail "no tracefs"

arg() { sed -n "s/.*$1=\([A-Za-z0-9,_-]*\).*/\1/p" /proc/cmdline; }
CG=$(arg vmcg)
SCEN=$(arg vmscen)
LRU=$(arg vmlrugen)
L=/sys/kernel/mm/lru_gen/enabled
if [ -n "$LRU" ]; then
	echo "$LRU" > $L || fail "cannot write $LRU to $L"
fi
if [ -e $L ]; then cat $L > /out/lru_gen; echo "VM: lru_gen $(cat $L)"; fi
if [ "$CG" = 2 ]; then
	M=/sys/fs/cgroup
	mount -t cgroup2 none $M || fail "cannot mount cgroup2"
	echo +memory > $M/cgroup.subtree_control || fail "no memory controller on cgroup v2"
else
	CG=1
	mount -t tmpfs cg /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory
	M=/sys/fs/cgroup/memory
	mount -t cgroup -o memory memory $M || fail "cannot mount the cgroup v1 memory controller"
fi

# The kprobes. They follow pointers from the probed functions' arguments:
#   vmpressure(gfp, memcg, tree, scanned, reclaimed), vmpressure_prio(gfp,
#   memcg, prio): memcg (%si) -> css.cgroup -> kn -> id, the cgroup's
#   kernfs id (its inode number, as stat shows it);
#   vmpressure_work_fn(work): work is memcg->vmpressure.work, so the memcg
#   lies a fixed distance before it, and so do tree_scanned/tree_reclaimed;
#   eventfd_signal(ctx): ctx->id, the eventfd-id of /proc/<pid>/fdinfo.
# The offsets come from the kernel's own BTF (kofs); without it, from
# Debian 6.1's layout. A NULL memcg (global reclaim: the root) cannot be
# dereferenced, and the kernel then leaves that field unwritten: mc, the
# pointer itself, tells the converter. The host checks that every id it sees
# is a group of the workload, so a wrong layout fails loudly.
T=/sys/kernel/tracing
if OFS=$(/bin/kofs mem_cgroup.css cgroup_subsys_state.cgroup cgroup.kn kernfs_node.id \
	mem_cgroup.vmpressure vmpressure.work vmpressure.tree_scanned vmpressure.tree_reclaimed \
	eventfd_ctx.id 2> /tmp/kofs.err); then
	set -- $OFS
	CGP=$(($1 + $2)) KN=$3 KNID=$4 WORK=$(($5 + $6)) TS=$(($7 - $6)) TR=$(($8 - $6)) EFDID=$9
	HOW="the kernel's BTF"
else
	CGP=0 KN=248 KNID=104 WORK=1160 TS=-72 TR=-64 EFDID=44
	HOW="Debian 6.1's layout (no BTF: $(cat /tmp/kofs.err))"
fi
o() { if [ "$1" -lt 0 ]; then echo "$1"; else echo "+$1"; fi; }
echo "VM: kprobe offsets from $HOW: css.cgroup $CGP kn $KN id $KNID work $WORK tree_scanned $TS tree_reclaimed $TR eventfd id $EFDID"
echo 65536 > $T/buffer_size_kb
echo mono > $T/trace_clock
# No task names recorded (the converter needs the pid only): recording them
# hooks the scheduler's sched_switch and sched_wakeup tracepoints whenever
# an event is enabled, and each workload's enable and disable then patches
# __schedule() and ttwu_do_activate() on both vCPUs; under TCG that patching
# raced into int3 oopses there (6.12, three boots of four on 2026-12-02).
[ -e $T/options/record-cmd ] && echo 0 > $T/options/record-cmd
N="mc=%si:x64 cg=$(o $KNID)($(o $KN)($(o $CGP)(%si))):u64"
echo "p:vmp vmpressure gfp=%di:x32 $N tree=%dx:u8 scanned=%cx:u64 reclaimed=%r8:u64" >> $T/kprobe_events ||
	fail "kprobe on vmpressure"
echo "p:vmprio vmpressure_prio gfp=%di:x32 $N prio=%dx:s32" >> $T/kprobe_events ||
	fail "kprobe on vmpressure_prio"
echo "p:vmwork vmpressure_work_fn w=%di:x64 id=$(o $KNID)($(o $KN)($(o $((CGP - WORK)))(%di))):u64 ts=$(o $TS)(%di):u64 tr=$(o $TR)(%di):u64" >> $T/kprobe_events ||
	fail "kprobe on vmpressure_work_fn"
# eventfd_signal() is an inline wrapper from 6.8 on: eventfd_signal_mask()
# is what it calls (its first argument is the same ctx).
if echo "p:efd eventfd_signal id=$(o $EFDID)(%di):s32" >> $T/kprobe_events 2>/dev/null; then
	EFD=eventfd_signal
elif echo "p:efd eventfd_signal_mask id=$(o $EFDID)(%di):s32" >> $T/kprobe_events; then
	EFD=eventfd_signal_mask
elif [ "$CG" = 1 ]; then
	fail "kprobe on eventfd_signal and eventfd_signal_mask"
else
	EFD=none
fi
echo "VM: eventfd kprobe on $EFD"
# The OOM killer's victims on the capture's clock (pid; the victim's memcg
# comes from the kernel's "oom-kill:" line in dmesg, matched by pid).
OOMTP=$T/events/oom/mark_victim/enable
[ -e $OOMTP ] || { echo "VM: no oom:mark_victim tracepoint"; OOMTP=/dev/null; }
cat $T/kprobe_events > /out/kprobes

# The daemon, for the whole boot.
SOCK=/run/vmpressured.sock
DAEMON=
if [ -x /bin/vmpressured ]; then
	/bin/vmpressured --source v$CG --socket $SOCK --log-file /out/vmpressured.log &
	DAEMON=$!
	i=0
	while [ ! -S $SOCK ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S $SOCK ] || { echo "VM: vmpressured did not create $SOCK"; DAEMON=; }
fi
echo "VM: cgroup v$CG, daemon ${DAEMON:-none}, workloads $SCEN"

# Helpers for the workload files.
mkgrp() { # path [limit,...]: N (memory.max; v1: limit_in_bytes), high:N (v2 memory.high), swap:N (v2 memory.swap.max)
	if [ $CG = 2 ]; then
		case $1 in */*) echo +memory > "$M/${1%/*}/cgroup.subtree_control" ;; esac
	fi
	mkdir "$M/$1" || return 1
	for lim in $(echo "$2" | tr , ' '); do
		case $CG:$lim in
		2:high:*) echo ${lim#high:} > "$M/$1/memory.high" ;;
		2:swap:*) echo ${lim#swap:} > "$M/$1/memory.swap.max" ;;
		1:high:* | 1:swap:*) echo "mkgrp $1: $lim has no cgroup v1 equivalent: left out" ;;
		2:*) echo $lim > "$M/$1/memory.max" ;;
		1:*) echo $lim > "$M/$1/memory.limit_in_bytes" ;;
		esac || return 1
	done
}
swap_on() { # size: swap on zram (the zram module of the kernel package)
	Z=/sys/block/zram0
	[ -e $Z ] || { echo "VM: no zram device: swap left off"; return 1; }
	echo "$1" > $Z/disksize && mkswap /dev/zram0 > /dev/null && swapon /dev/zram0 ||
		{ echo "VM: swap on zram ($1) failed"; return 1; }
}
swap_off() {
	swapoff /dev/zram0 && echo 1 > /sys/block/zram0/reset || echo "VM: swapoff failed"
}
run() { # group hog-args...: a workload process inside group
	g=$1
	shift
	/bin/hog -c "$M/$g" "$@"
	echo "run $g $*: exit $?"
}
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
waitfor() { # file pattern seconds
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

run_scen() {
	s=$1
	O=/out/$s
	mkdir -p $O
	GROUPS= LISTEN= SETTLE=1 CUSTOM= WATCH=1 SWAP=
	unset -f workload cleanup custom 2>/dev/null
	. /scen/$s.sh || { echo "VM: $s: no such workload"; return; }
	echo "VM: workload $s begin"
	if [ -n "$CUSTOM" ]; then
		custom >> $O/log 2>&1
		echo "VM: workload $s end"
		sync
		return
	fi
	[ -n "$SWAP" ] && swap_on $SWAP
	for g in $GROUPS; do mkgrp ${g%%=*} $(case $g in *=*) echo ${g#*=} ;; esac) >> $O/log 2>&1 || echo "VM: $s: mkgrp $g failed"; done
	{
		echo "group / $(stat -c %i $M)"
		for g in $GROUPS; do echo "group ${g%%=*} $(stat -c %i $M/${g%%=*})"; done
		for l in $LISTEN; do echo "hyp $l"; done
	} > $O/groups
	KP= CP=
	if [ $CG = 1 ]; then
		/bin/klisten $M $LISTEN > $O/klisten 2>> $O/log &
		KP=$!
		waitfor $O/klisten READY 10 || echo "VM: $s: klisten not ready"
	fi
	if [ -n "$DAEMON" ]; then
		if [ $CG = 1 ]; then CF="-e -s"; else CF=-s; fi
		/bin/vmpclient $SOCK $CF $LISTEN > $O/client 2>> $O/log &
		CP=$!
		waitfor $O/client READY 10 || echo "VM: $s: vmpclient not ready"
	fi
	PP= SP= SDIRS=
	# What userspace can see, in the v2 study's format: 100 ms samples of
	# every group (and the machine), and on v2 PSI triggers on the top group.
	for g in $GROUPS; do SDIRS="$SDIRS $M/${g%%=*}"; done
	if [ $CG = 2 ]; then
		top=${GROUPS%% *}
		/bin/psiwait $M/${top%%=*}/memory.pressure "some 10000 500000" "full 10000 500000" \
			"some 50000 1000000" > $O/psi 2>> $O/log &
		PP=$!
	fi
	WP=
	if [ $CG = 1 ] && [ -n "$WATCH" ]; then
		# The CLI too: one `vmpressure watch` per listener (its own source
		# and engine in-process), the kernel's level and mode.
		i=0
		for l in $LISTEN; do
			a=${l#*:}
			case $a in *,*) mode=${a#*,} ;; *) mode=default ;; esac
			/bin/vmpressure watch ${l%:*} --level ${a%%,*} --mode $mode --json --source v1 \
				> $O/watch.$i 2>> $O/log &
			WP="$WP $!"
			i=$((i + 1))
		done
	fi
	sleep 1
	dmesg -c > /dev/null
	echo > $T/trace
	if [ -n "$SDIRS" ]; then
		/bin/sampler 100 600 $SDIRS > $O/samples 2>> $O/log &
		SP=$!
	fi
	echo 1 > $T/events/kprobes/enable
	echo 1 > $OOMTP
	echo "start $(/bin/hog now)" > $O/meta
	workload >> $O/log 2>&1
	echo "end $(/bin/hog now)" >> $O/meta
	sleep $SETTLE
	echo 0 > $T/events/kprobes/enable
	echo 0 > $OOMTP
	[ -n "$KP" ] && kill $KP
	[ -n "$CP" ] && kill $CP
	[ -n "$WP" ] && kill $WP
	[ -n "$SP" ] && kill $SP
	[ -n "$PP" ] && { kill $PP; dmesg | grep -i 'killed process' | tail -3 >> $O/psi; }
	wait $KP $CP $WP $SP $PP 2>/dev/null
	cat $T/trace > $O/trace
	dmesg -c >> $O/log
	command -v cleanup > /dev/null && cleanup >> $O/log 2>&1
	sleep 1
	for g in $(echo $GROUPS | tr ' ' '\n' | sed 's/=.*//' | sed -n '1!G;h;$p'); do
		[ -d $M/$g ] || continue
		left=$(cat $M/$g/cgroup.procs)
		if [ -n "$left" ]; then
			echo "VM: $s: processes left in $g: $left (killed)"
			kill -9 $left
			sleep 0.5
		fi
		rmdir $M/$g || echo "VM: $s: rmdir $g failed"
	done
	[ -n "$SWAP" ] && swap_off
	echo "VM: workload $s end ($(grep -c . $O/trace) trace lines)"
	sync
}

for s in $(echo $SCEN | tr , ' '); do
	run_scen $s
done
[ -n "$DAEMON" ] && { kill $DAEMON; wait $DAEMON; echo "daemon exit $?" > /out/daemon.exit; }
sync
umount /out
echo "VM: ALLDONE"
poweroff -f
