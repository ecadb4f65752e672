# Anonymous memory up to the OOM killer: 80 MiB touched in a 40 MiB group,
# no swap. The priority path (vmpressure_prio) brings medium and critical.
GROUPS="ao=40M ao/a"
LISTEN="ao:low ao:medium ao:critical ao:critical,local ao:low,hierarchy ao/a:low ao/a:medium ao/a:critical,hierarchy"
workload() {
	drop
	run ao/a anon 80 0
}
