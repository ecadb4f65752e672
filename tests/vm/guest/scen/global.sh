# Global reclaim: no group limit is hit; 280 MiB held anonymous in one
# group while another streams 448 MiB of files through the 512 MiB guest.
# kswapd and direct reclaim account to the root (a NULL memcg).
GROUPS="gl gl/a gl/b"
LISTEN="/:low /:medium /:critical /:low,local /:medium,hierarchy gl:low gl/b:low,hierarchy"
workload() {
	drop
	/bin/hog -c $M/gl/a hold 280 60 &
	W=$!
	sleep 3
	run gl/b file /mnt/data/f192 /mnt/data/f128 /mnt/data/f64 /mnt/data/f64b
	kill $W
	wait $W
}
