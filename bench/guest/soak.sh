#!/bin/sh
# Soak guest: a verified fio workload on the passed-through NVMe namespace
# for $SOAK_SECONDS, then the DMA path's state against its baseline.
. /lib.sh
. /suite.env
DEV=/dev/nvme0n1
insmod /lib/modules/apple_dma.ko || { echo "SOAK-FAIL apple_dma"; exit 1; }
stats=$(ls /sys/kernel/debug/apple_dma/*/stats | head -n 1)
live() { awk '$1 == "live_mappings" { print $2 }' "$stats"; }
# The baseline is before the driver: its queues and DMA pools stay mapped
# while it is bound (pools grow under load), and go when it unbinds.
base_guest=$(live)
base_host=$(kv mappings "$(hostq status)")
echo "SOAK baseline (no driver bound): guest live mappings $base_guest, DART live mappings $base_host"
load_suite_modules || { echo "SOAK-FAIL nvme"; exit 1; }
i=0
while [ ! -b $DEV ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done

end=$(( $(awk '{ printf "%d", $1 }' /proc/uptime) + SOAK_SECONDS ))
rounds=0 errors=0
while [ "$(awk '{ printf "%d", $1 }' /proc/uptime)" -lt $end ]; do
	rounds=$((rounds + 1))
	if [ -x /bin/fio ]; then
		fio --name=soak$rounds --filename=$DEV --ioengine=io_uring --direct=1 \
			--rw=randrw --bs=4k --bsrange=4k-256k --iodepth=16 --size=48M \
			--offset=$(( (rounds % 4) * 48 ))M --verify=crc32c --do_verify=1 \
			--verify_fatal=1 --randseed=$rounds > /tmp/fio.out 2>&1 ||
			{ errors=$((errors + 1)); tail -n 5 /tmp/fio.out; }
	else
		dd if=/dev/urandom of=/tmp/d bs=64k count=128 2>/dev/null
		dd if=/tmp/d of=$DEV bs=64k seek=$((rounds % 16 * 128)) oflag=direct 2>/dev/null
		dd if=$DEV of=/tmp/b bs=64k count=128 skip=$((rounds % 16 * 128)) iflag=direct 2>/dev/null
		cmp -s /tmp/d /tmp/b || errors=$((errors + 1))
	fi
done
sync
echo "SOAK rounds $rounds, data errors $errors"
echo "SOAK with the driver still bound: guest live mappings $(live), DART $(kv mappings "$(hostq status)")"
# Unbinding the driver frees its queues and pools: back to the baseline.
for m in $(tac /lib/modules/suite/order 2>/dev/null || sort -r /lib/modules/suite/order); do
	rmmod "${m%.ko}" 2>/dev/null
done
# The mapping cache keeps idle mappings registered for cache_idle_ms: wait
# (bounded) until it has let them go.
idle() { awk '$1 == "idle_mappings" { n = $2 } END { print n + 0 }' "$stats"; }
i=0
while [ "$(idle)" != 0 ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
echo "SOAK after unbinding: guest live mappings $(live) (baseline $base_guest)," \
	"DART live mappings $(kv mappings "$(hostq status)") (baseline $base_host)"
echo "SOAK counters: $(tr '\n' ' ' < "$stats")"
if [ "$errors" = 0 ] && [ "$(live)" = "$base_guest" ] &&
   [ "$(kv mappings "$(hostq status)")" = "$base_host" ]; then
	echo "SOAK-OK"
else
	echo "SOAK-FAIL"
fi
