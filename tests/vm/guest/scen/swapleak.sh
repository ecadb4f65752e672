# A leak that fills a small swap before its OOM: 1 MiB every 80 ms up to
# 72 MiB in a 32 MiB group with 24 MiB of swap on zram: reclaim swaps the
# leak out until the swap is full, then the OOM killer, after seconds of
# growing (an approach the forecast should warn).
SWAP=24M
GROUPS="sk=32M sk/a"
LISTEN="sk:low sk:medium sk:critical sk:critical,local sk/a:low sk/a:medium,hierarchy"
workload() {
	drop
	run sk/a anon 72 80
}
