#!/bin/sh
# System suite: the guest's stock nvme driver on the simulated NVMe function,
# every DMA through apple_dma, apple-dma-pci and the DART. The guest reboots
# once: the second boot checks that the data survived and I/O still works.
. /lib.sh
. /suite.env
DEV=/dev/nvme0n1
RANDOM=$SEED

wait_for_block() {
	i=0
	while [ ! -b "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -b "$1" ]
}

# A guard against a reboot loop: the host counts our boots.
boots=$(kv boots "$(hostq boot)")
if [ "${boots:-0}" -gt 2 ]; then
	result boot_count FAIL "boot $boots: the reboot marker was not seen"
	echo "SUITE-END"
	exit 1
fi
# Firmware (SeaBIOS probes NVMe controllers) DMAs to guest-physical
# addresses the DART never mapped, before Linux runs: those faults are the
# baseline; the guest's own DMA must add none.
faults_base=$(kv faults "$(hostq status)")
# shellcheck disable=SC2086
check apple_dma_load insmod /lib/modules/apple_dma.ko ${APPLE_DMA_ARGS:-}
check nvme_driver_load load_suite_modules
check nvme_namespace_appears wait_for_block $DEV
stats=$(ls /sys/kernel/debug/apple_dma/*/stats 2>/dev/null | head -n 1)

# The last 4 KiB block of the namespace carries a marker across the reboot
# (raw, so it works with or without a file system).
marker_block=$(( $(cat /sys/block/nvme0n1/size) / 8 - 1 ))
marker_text() { dd if=$DEV bs=4k count=1 skip=$marker_block iflag=direct 2>/dev/null | tr -d '\0'; }
marker() { marker_text | cut -c1-16; }
head_sum() { dd if=$DEV bs=256k count=64 iflag=direct 2>/dev/null | sha256sum | cut -c1-64; }
mkdir -p /mnt

# ---- second boot: after the guest rebooted ---------------------------------
if [ "$(marker)" = VFIOAPPLE-BOOT-1 ]; then
	echo "SUITE-BEGIN nvme (after reboot) kernel $(uname -r)"
	check reboot_raw_data_intact test "$(head_sum)" = "$(marker_text | cut -c18-81)"
	if [ "$HAVE_EXT4" = 1 ]; then
		check reboot_mount mount -t ext4 $DEV /mnt
		check reboot_files_intact sh -c "cd /mnt && sha256sum -c sums >/dev/null"
		check reboot_write_new_file sh -c "dd if=/dev/urandom of=/mnt/after bs=64k count=16 2>/dev/null && sync"
		umount /mnt
	fi
	dd if=/dev/zero of=$DEV bs=4k count=1 seek=$marker_block oflag=direct 2>/dev/null
	check reboot_marker_cleared test -z "$(marker_text)"
	check reboot_dart_no_new_faults test "$(kv faults "$(hostq status)")" = "$faults_base"
	echo "STATS $(tr '\n' ' ' < "$stats")"
	echo "SUITE-END"
	exit 0
fi

echo "SUITE-BEGIN nvme kernel $(uname -r) seed $SEED"
check nvme_model grep -q "vfio-apple dextd NVMe" /sys/class/nvme/nvme0/model

# ---- raw block I/O, verified ------------------------------------------------
dd if=/dev/urandom of=/tmp/pattern bs=64k count=256 2>/dev/null
check raw_write_16MiB dd if=/tmp/pattern of=$DEV bs=256k oflag=direct conv=fsync
check raw_read_back sh -c "dd if=$DEV of=/tmp/back bs=256k count=64 iflag=direct 2>/dev/null && cmp /tmp/pattern /tmp/back"
off=$((RANDOM % 1000 + 100))
# Beyond the first 16 MiB, which later checks read back.
off=$((off + 4096))
check raw_unaligned_buffer_io sh -c "dd if=/tmp/pattern of=$DEV bs=4k count=37 seek=$off oflag=direct 2>/dev/null &&
	dd if=$DEV of=/tmp/back2 bs=4k count=37 skip=$off iflag=direct 2>/dev/null &&
	dd if=/tmp/pattern of=/tmp/want bs=4k count=37 2>/dev/null && cmp /tmp/want /tmp/back2"
rm -f /tmp/back /tmp/back2 /tmp/want

# ---- a second function in the same VM: dmatest at the same time ----------
# (DT_BDF set by run-nvme.sh: dmatest at host 01:00.1, its own apple-dma-pci.)
if [ -n "${DT_BDF:-}" ]; then
	check two_apple_dma_instances test "$(ls -d /sys/kernel/debug/apple_dma/*/ | wc -l)" = 2
	dt_stats=$(ls /sys/kernel/debug/apple_dma/*/stats | sed -n 2p)
	check dmatest_driver_load insmod /lib/modules/dmatest_guest.ko
	check dmatest_bound test -e "/sys/bus/pci/drivers/dmatest_guest/0000:$DT_BDF"
	# The function has MSI only: one vector, through QEMU's MSI emulation.
	check dmatest_msi_only sh -c "dmesg | grep -q 'dmatest ready, 1 MSI vector'"
	check dmatest_msi_raise sh -c "echo 'raise 5' > /sys/kernel/debug/dmatest/cmd &&
		grep -q 'status ok' /sys/kernel/debug/dmatest/result"
	# BAR2 is plain memory in the model; this function's server does the
	# loads and stores on its own mapping (bars=server), as over IOKit.
	bar2=$(( $(sed -n 3p "/sys/bus/pci/devices/0000:$DT_BDF/resource" | cut -d' ' -f1) ))
	devmem $((bar2 + 0x100)) 32 0x5a5aa5a5
	devmem $((bar2 + 0xff8)) 32 0x01234567
	check dmatest_bar2_by_server sh -c "test $(devmem $((bar2 + 0x100)) 32) = 0x5A5AA5A5 &&
		test $(devmem $((bar2 + 0xff8)) 32) = 0x01234567"
	# Both functions DMA at once: the DMA engine's stress on all CPUs while
	# the NVMe controller writes and reads back 16 MiB.
	(echo "stress 8s" > /sys/kernel/debug/dmatest/cmd; cat /sys/kernel/debug/dmatest/result > /tmp/dt.result) &
	dtpid=$!
	check both_nvme_io_during_dmatest sh -c "dd if=/tmp/pattern of=$DEV bs=256k seek=256 oflag=direct conv=fsync 2>/dev/null &&
		dd if=$DEV of=/tmp/back bs=256k skip=256 count=64 iflag=direct 2>/dev/null && cmp /tmp/pattern /tmp/back"
	wait $dtpid
	check both_dmatest_stress_ok grep -q 'status ok' /tmp/dt.result
	rm -f /tmp/back /tmp/dt.result
	# The dext serves both; each is claimed by its own server.
	st2=$(hostq status "$DT_HOST_BDF")
	check dmatest_function_claimed test "$(kv claims "$st2")" = 1
	check dmatest_function_vectors test "$(kv vectors "$st2")" -gt 0
	check dmatest_function_mapped test "$(kv peak_mappings "$st2")" -gt 0
	check dmatest_no_faults test "$(kv faults "$st2")" = 0
	check dmatest_no_map_failures sh -c "awk '\$1 == \"map_failures\" { exit \$2 != 0 }' $dt_stats"
	check dmatest_driver_unload rmmod dmatest_guest
fi

# ---- a verified fio workload (where fio is provisioned) --------------------
if [ -x /bin/fio ]; then
	check fio_randwrite_verify fio --name=verify --filename=$DEV --offset=128M --size=32M \
		--rw=randwrite --bs=4k --iodepth=16 --ioengine=io_uring --direct=1 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --randseed=$SEED
	check fio_seq_mixed_verify fio --name=seq --filename=$DEV --offset=160M --size=16M \
		--rw=write --bs=128k --iodepth=8 --ioengine=io_uring --direct=1 \
		--verify=md5 --do_verify=1 --verify_fatal=1
fi

# ---- the controller reset from the guest -----------------------------------
check controller_reset sh -c "echo 1 > /sys/class/nvme/nvme0/reset_controller"
check io_after_reset sh -c "dd if=$DEV of=/tmp/back bs=256k count=64 iflag=direct 2>/dev/null && cmp /tmp/pattern /tmp/back"
rm -f /tmp/back

# The mapping cache: the verified I/O above reused idle mappings, and once
# the I/O stops they leave the host within the idle bound (polled, bounded).
st() { awk -v k="$1" '$1 == k { print $2 }' "$stats"; }
check cache_hits_on_io sh -c "test $(st cache_hits) -gt 0"
i=0
while [ "$(st idle_mappings)" != 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check cache_idle_released_after_io sh -c "test $(st idle_mappings) = 0 &&
	test $(kv mappings "$(hostq status)") = $(st live_mappings)"
check no_map_failures sh -c "awk '\$1 == \"map_failures\" { exit \$2 != 0 }' $stats"
st=$(hostq status)
check dart_no_new_faults sh -c "test $(kv faults "$st") = $faults_base || { echo faults: $(hostq faults); false; }"
check dart_mappings_bounded test "$(kv peak_mappings "$st")" -gt 0
echo "DART $st"

# ---- a file system, files with checksums, then a reboot --------------------
if [ "$HAVE_EXT4" = 1 ]; then
	check mkfs_ext4 mkfs.ext4 -q -F $DEV
	check mount_ext4 mount -t ext4 $DEV /mnt
	i=0
	while [ $i -lt 24 ]; do
		dd if=/dev/urandom of=/mnt/file$i bs=1k count=$((RANDOM % 2000 + 1)) 2>/dev/null
		i=$((i + 1))
	done
	(cd /mnt && sha256sum file* > sums)
	check files_written sh -c "sync && test \$(ls /mnt/file* | wc -l) = 24"
	umount /mnt
	echo 3 > /proc/sys/vm/drop_caches
	check remount_checksums sh -c "mount -t ext4 $DEV /mnt && cd /mnt && sha256sum -c sums >/dev/null"
	umount /mnt
fi
printf 'VFIOAPPLE-BOOT-1 %s' "$(head_sum)" | dd of=/tmp/marker bs=4k conv=sync 2>/dev/null
check marker_written dd if=/tmp/marker of=$DEV bs=4k seek=$marker_block oflag=direct
echo "STATS $(tr '\n' ' ' < "$stats")"
echo "rebooting for the second half"
sync
reboot -f
