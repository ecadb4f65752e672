# Four groups failing at once with nothing else running: four 24 MiB
# groups under one parent each touch 32 MiB of anonymous memory at the
# same moment (four OOM kills close together, more chargers than CPUs).
GROUPS="qo qo/q1=24M qo/q2=24M qo/q3=24M qo/q4=24M"
LISTEN="qo:low qo:critical qo/q1:critical qo/q2:medium qo/q3:low qo/q4:low,hierarchy"
workload() {
	drop
	P=
	for i in 1 2 3; do
		/bin/hog -c $M/qo/q$i anon 32 0 &
		P="$P $!"
	done
	run qo/q4 anon 32 0
	wait $P
}
