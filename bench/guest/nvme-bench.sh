#!/bin/sh
# Guest side of bench/nvme-bench.sh (busybox sh, runs as /suite.sh).
# The configuration comes from the kernel command line:
#   bench.config=a|b|c|d a: apple_dma defaults; c: apple_dma window_shift=0
#                        max_batch=1 strict=1 (the reference's policy: no
#                        windows, no cache, one entry per doorbell);
#                        d: apple_dma strict=1; b: QEMU's
#                        built-in nvme (no apple_dma, no host queries)
# and the rest from /suite.env (RUNTIME seconds, WORKLOADS).
# Prints, on the console, one line per workload:
#   FIO <config> <workload> <bs-bytes> <fio terse v3 line>
#   DMA <config> <workload> <name>=<delta> ... (a, c, d)
# and SUITE-END at the end. Measures; never judges.
. /lib.sh
. /suite.env
DEV=/dev/nvme0n1

cfg=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^bench\.config=//p')
case $cfg in a|b|c|d) ;; *) echo "BENCH-ERROR no bench.config= on the command line"; echo SUITE-END; exit 1 ;; esac

# A quieter console (kernel messages could split our lines), but warnings
# (apple_dma's failures, nvme timeouts) stay visible.
echo "5 4 1 7" > /proc/sys/kernel/printk

echo "SUITE-BEGIN nvme-bench config $cfg kernel $(uname -r)"
case $cfg in
a) insmod /lib/modules/apple_dma.ko || { echo "BENCH-ERROR insmod apple_dma"; echo SUITE-END; exit 1; } ;;
c) insmod /lib/modules/apple_dma.ko window_shift=0 max_batch=1 strict=1 ||
	{ echo "BENCH-ERROR insmod apple_dma"; echo SUITE-END; exit 1; } ;;
d) insmod /lib/modules/apple_dma.ko strict=1 ||
	{ echo "BENCH-ERROR insmod apple_dma strict=1"; echo SUITE-END; exit 1; } ;;
esac
load_suite_modules || { echo "BENCH-ERROR loading nvme"; echo SUITE-END; exit 1; }
i=0
while [ ! -b $DEV ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b $DEV ] || { echo "BENCH-ERROR no $DEV"; echo SUITE-END; exit 1; }
echo "BENCH-INFO model=$(tr -d ' ' < /sys/class/nvme/nvme0/model) bytes=$(($(cat /sys/block/nvme0n1/size) * 512))"
echo "BENCH-INFO fio=$(fio --version) nvme_queues=$(ls -d /sys/block/nvme0n1/mq/* | wc -l)"

stats=
if [ "$cfg" != b ]; then
	stats=$(ls /sys/kernel/debug/apple_dma/*/stats 2>/dev/null | head -n 1)
	[ -n "$stats" ] || { echo "BENCH-ERROR no apple_dma stats"; echo SUITE-END; exit 1; }
	p=/sys/module/apple_dma/parameters
	echo "BENCH-INFO apple_dma max_batch=$(cat $p/max_batch) window_shift=$(cat $p/window_shift) strict=$(cat $p/strict) cache_idle_ms=$(cat $p/cache_idle_ms)"
fi

# Counters as "name=value" words: apple_dma's and the host's (hostq status).
snapshot() {
	[ -n "$stats" ] || return 0
	awk '{ printf "%s=%s ", $1, $2 }' "$stats"
	hostq status | tr ' ' '\n' |
		awk -F= '$1 == "irqs" || $1 == "mappings" || $1 == "peak_mappings" || $1 == "faults" { printf "host_%s ", $0 }'
}

# DMA <cfg> <wl> with the deltas of the monotonic counters and the current
# value of the levels.
dma_line() {
	printf '%s\n%s\n' "$1" "$2" | awk -v cfg="$cfg" -v wl="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) { split($i, kv, "="); before[kv[1]] = kv[2] } }
		NR == 2 { for (i = 1; i <= NF; i++) { split($i, kv, "="); after[kv[1]] = kv[2] } }
		END {
			n = split("maps unmaps doorbells entries window_hits host_maps host_unmaps map_failures host_irqs host_faults cache_hits evictions nospc_evictions doorbell_waits lock_holds lookups", d, " ")
			line = "DMA " cfg " " wl
			for (i = 1; i <= n; i++) line = line " " d[i] "=" (after[d[i]] - before[d[i]])
			n = split("max_entries_per_doorbell peak_mappings live_mappings idle_mappings idle_bytes host_mappings host_peak_mappings", l, " ")
			for (i = 1; i <= n; i++) line = line " " l[i] "=" after[l[i]]
			print line
		}'
}

common="--filename=$DEV --ioengine=io_uring --direct=1 --output-format=terse --terse-version=3"

# Precondition: write the whole namespace once so every read hits written data.
t0=$(cut -d' ' -f1 /proc/uptime)
fio --name=precondition $common --rw=write --bs=128k --iodepth=8 > /tmp/pre.terse 2>/tmp/pre.err ||
	{ echo "BENCH-ERROR precondition: $(cat /tmp/pre.err | tr '\n' ' ')"; }
t1=$(cut -d' ' -f1 /proc/uptime)
echo "BENCH-INFO precondition_seconds=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }') write_kib_s=$(cut -d';' -f48 /tmp/pre.terse)"

for w in $WORKLOADS; do
	case $w in
	randread4k_qd1) args="--rw=randread --bs=4k --iodepth=1 --norandommap --randrepeat=0"; bs=4096 ;;
	randread4k_qd32) args="--rw=randread --bs=4k --iodepth=32 --norandommap --randrepeat=0"; bs=4096 ;;
	seqread128k_qd8) args="--rw=read --bs=128k --iodepth=8"; bs=131072 ;;
	seqwrite128k_qd8) args="--rw=write --bs=128k --iodepth=8"; bs=131072 ;;
	*) echo "BENCH-ERROR unknown workload $w"; continue ;;
	esac
	before=$(snapshot)
	# shellcheck disable=SC2086
	if out=$(fio --name="$w" $common $args --time_based --runtime="$RUNTIME" 2>/tmp/fio.err); then
		echo "FIO $cfg $w $bs $(echo "$out" | grep '^3;' | head -n 1)"
	else
		echo "BENCH-ERROR fio $w: $(tr '\n' ' ' < /tmp/fio.err | cut -c1-300)"
	fi
	[ -z "$stats" ] || dma_line "$before" "$(snapshot)" "$w"
done
[ -z "$stats" ] || echo "STATS $(tr '\n' ' ' < "$stats")"
dmesg | grep -E 'apple_dma|nvme' | grep -viE 'pci|queues|apple_dma: loading' | tail -n 5 | sed 's/^/BENCH-DMESG /'
echo "SUITE-END"
