#!/bin/sh
# The main job's guest side: the stock nvme driver on the simulated NVMe
# function, every DMA through apple_dma, apple-dma-pci and the DART.
# A verified workload (fio where provisioned, else dd plus checksums), then
# the DMA path's counters.
. /lib.sh
DEV=/dev/nvme0n1

say() { echo "DEMO $*"; }
fail() { echo "DEMO-FAIL $*"; exit 1; }

say "kernel $(uname -r)"
# The firmware probes NVMe controllers by guest-physical address before Linux
# runs; the DART faults those accesses. Counted apart from the guest's own.
fw_faults=$(kv faults "$(hostq status)")
insmod /lib/modules/apple_dma.ko || fail "apple_dma did not load"
load_suite_modules || fail "the nvme driver did not load"
i=0
while [ ! -b $DEV ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b $DEV ] || fail "no $DEV: the nvme driver did not bind"
say "nvme driver bound: $(cat /sys/class/nvme/nvme0/model | tr -s ' ') ($(( $(cat /sys/block/nvme0n1/size) / 2048 )) MiB)"
stats=$(ls /sys/kernel/debug/apple_dma/*/stats | head -n 1)
counter() { awk -v k="$1" '$1 == k { print $2 }' "$stats"; }

say ""
if [ -x /bin/fio ]; then
	say "| workload (fio, io_uring, direct, verified where marked) | IOPS | MB/s | mean latency us |"
	say "|---|---:|---:|---:|"
	run_fio() {
		name=$1; shift
		fio --name="$name" --filename=$DEV --ioengine=io_uring --direct=1 \
			--output-format=terse --terse-version=3 "$@" > /tmp/fio.out 2>/tmp/fio.err ||
			fail "fio $name: $(tr '\n' ' ' < /tmp/fio.err)"
		# terse v3: read iops $8, bw KiB/s $7, lat mean us $40; write at $49/$48/$81
		awk -F';' -v n="$name" '{
			iops = $8 + $49; bw = ($7 + $48) * 1024 / 1e6
			lat = ($8 > 0) ? $40 : $81
			printf "DEMO | %s | %d | %.1f | %.0f |\n", n, iops, bw, lat }' /tmp/fio.out
	}
	run_fio "4k random write QD16, crc32c verified" --rw=randwrite --bs=4k --iodepth=16 \
		--size=64M --verify=crc32c --do_verify=1 --verify_fatal=1
	run_fio "128k sequential write QD8, md5 verified" --offset=64M --rw=write --bs=128k \
		--iodepth=8 --size=64M --verify=md5 --do_verify=1 --verify_fatal=1
	run_fio "4k random read QD1" --rw=randread --bs=4k --iodepth=1 --size=64M \
		--time_based --runtime=4
	run_fio "4k random read QD32" --rw=randread --bs=4k --iodepth=32 --size=64M \
		--time_based --runtime=4
	run_fio "128k sequential read QD8" --offset=64M --rw=read --bs=128k --iodepth=8 \
		--size=64M --time_based --runtime=4
else
	say "(fio not provisioned: dd with checksums)"
	dd if=/dev/urandom of=/tmp/data bs=1M count=32 2>/dev/null
	t0=$(awk '{ print $1 }' /proc/uptime)
	dd if=/tmp/data of=$DEV bs=256k oflag=direct 2>/dev/null || fail "dd write"
	t1=$(awk '{ print $1 }' /proc/uptime)
	dd if=$DEV of=/tmp/back bs=256k count=128 iflag=direct 2>/dev/null || fail "dd read"
	t2=$(awk '{ print $1 }' /proc/uptime)
	[ "$(sha256sum < /tmp/data)" = "$(sha256sum < /tmp/back)" ] || fail "read back differs"
	say "32 MiB written at $(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.1f", 32 / (b - a + 0.01) }') MiB/s, read back and verified at $(awk -v a=$t1 -v b=$t2 'BEGIN { printf "%.1f", 32 / (b - a + 0.01) }') MiB/s"
fi

maps=$(counter maps); doorbells=$(counter doorbells); entries=$(counter entries)
say ""
say "DMA path (guest apple_dma): maps $maps, unmaps $(counter unmaps), doorbells $doorbells," \
	"entries $entries ($(awk -v e="$entries" -v d="$doorbells" 'BEGIN { printf "%.2f", d ? e / d : 0 }') per doorbell," \
	"at most $(counter max_entries_per_doorbell)), window hits $(counter window_hits)," \
	"host maps $(counter host_maps), map failures $(counter map_failures)"
st=$(hostq status)
say "DART (dextd): live mappings $(kv mappings "$st"), peak mappings $(kv peak_mappings "$st")," \
	"peak bytes $(kv peak_bytes "$st"), interrupts $(kv irqs "$st")," \
	"faults from the guest's DMA $(( $(kv faults "$st") - fw_faults )) (firmware's probe: $fw_faults)"
echo "DEMO-OK"
