#!/bin/sh
# The main job's guest side (dmatest): the stock DMA API through apple_dma,
# the companion and the DART model, verified byte for byte by the driver.
. /lib.sh
DT=/sys/kernel/debug/dmatest
echo "DEMO kernel $(uname -r)"
insmod /lib/modules/apple_dma.ko || { echo "DEMO-FAIL apple_dma did not load"; exit 1; }
insmod /lib/modules/dmatest_guest.ko || { echo "DEMO-FAIL dmatest_guest did not load"; exit 1; }
stats=$(ls /sys/kernel/debug/apple_dma/*/stats | head -n 1)

uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
run() {
	echo "$*" > "$DT/cmd" && grep -q 'status ok' "$DT/result"
}

echo "DEMO | workload | runs | bytes each | seconds | MB/s (guest view, TCG) |"
for spec in "copy 4096 0 0 single:200" "copy 65536 100 200 single:100" \
	    "copy 1048576 0 0 single:20" "copy 4194304 0 0 coherent:5" "sg 64 4096:20"; do
	cmd=${spec%:*}; n=${spec##*:}
	bytes=$(echo "$cmd" | awk '$1 == "sg" { print $2 * $3; next } { print $2 }')
	t0=$(uptime_cs); i=0
	while [ $i -lt "$n" ]; do
		run "$cmd" || { echo "DEMO-FAIL $cmd: $(tr '\n' ' ' < "$DT/result")"; exit 1; }
		i=$((i + 1))
	done
	t1=$(uptime_cs)
	awk -v c="$cmd" -v n="$n" -v b="$bytes" -v t="$((t1 - t0))" 'BEGIN {
		s = t / 100; if (s <= 0) s = 0.01
		printf "DEMO | %s | %d | %d | %.2f | %.1f |\n", c, n, b, s, n * b / s / 1e6 }'
done
echo "DEMO apple_dma counters: $(tr '\n' ' ' < "$stats")"
echo "DEMO dext view: $(hostq status)"
rmmod dmatest_guest
rmmod apple_dma
echo "DEMO after unload, dext view: $(hostq status)"
echo "DEMO-OK"
