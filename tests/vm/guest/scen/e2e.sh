# End to end: a client subscribes through vmpressured's socket (eventfd and
# stream), sleeps in poll(), is woken by real pressure in its cgroup; then
# the cgroup is removed under it and it gets its final event.
CUSTOM=1
custom() {
	[ -n "$DAEMON" ] || { echo "no daemon"; return; }
	mkgrp e2
	mkgrp e2/a 32M
	/bin/vmpclient $SOCK -e -s e2/a:low > $O/client 2>> $O/log &
	CP=$!
	waitfor $O/client READY 10 || echo "vmpclient not ready"
	echo "start $(/bin/hog now)" > $O/meta
	run e2/a file /mnt/data/f64
	waitfor $O/client '^efd' 20 && echo "woken $(/bin/hog now)" >> $O/meta
	sleep 2
	echo "rmdir $(/bin/hog now)" >> $O/meta
	rmdir $M/e2/a || echo "rmdir e2/a failed"
	waitfor $O/client '"removed"' 20 && echo "removed $(/bin/hog now)" >> $O/meta
	sleep 1
	kill $CP
	wait $CP
	rmdir $M/e2
}
