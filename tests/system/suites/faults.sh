#!/bin/sh
# Fault suite: the host takes a process away while the guest works.
#   FAULT=dextd   dextd dies during NVMe I/O: the guest gets I/O errors in
#                 bounded time, nothing hangs, modules still unload
#   FAULT=server  dextd stops answering (SIGSTOP) under a config read of the
#                 passthrough device: the server answers within its request
#                 budget (3 s) and declares the link lost, so dextd (resumed)
#                 holds no mapping and no claim while the guest runs on; then
#                 the server dies: dextd has released everything by the time
#                 the host answers. (The dmatest suite does the same under an
#                 apple-dma doorbell, checking the interrupts-off time.)
#   FAULT=qemu    QEMU dies holding DART mappings (the host checks the rest)
#   FAULT=none    a short verified run (after a dextd restart)
. /lib.sh
. /suite.env
DEV=/dev/nvme0n1
uptime_s() { awk '{ printf "%d", $1 }' /proc/uptime; }

echo "SUITE-BEGIN faults ($FAULT) kernel $(uname -r)"
check apple_dma_load insmod /lib/modules/apple_dma.ko

case $FAULT in
dextd|none)
	check nvme_driver_load load_suite_modules
	i=0
	while [ ! -b $DEV ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	check nvme_namespace test -b $DEV
	dd if=/dev/urandom of=/tmp/data bs=64k count=64 2>/dev/null
	check io_before dd if=/tmp/data of=$DEV bs=64k oflag=direct
	check verified_before sh -c "dd if=$DEV of=/tmp/back bs=64k count=64 iflag=direct 2>/dev/null && cmp /tmp/data /tmp/back"
	;;
esac

case $FAULT in
dextd)
	# Reads in a loop; dextd dies under them.
	( while dd if=$DEV of=/dev/null bs=128k count=256 iflag=direct 2>/dev/null; do :; done
	  echo done > /tmp/reader.exit ) &
	check dextd_killed test "$(hostq kill-dextd)" = killed=dextd
	t0=$(uptime_s)
	i=0
	while [ ! -f /tmp/reader.exit ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
	t1=$(uptime_s)
	check io_error_after_loss test -f /tmp/reader.exit
	check io_error_within_60s test $((t1 - t0)) -lt 60
	echo "FAULT-TIMING I/O failed $((t1 - t0)) s after dextd died"
	check controller_not_live sh -c "test \"\$(cat /sys/class/nvme/nvme0/state 2>/dev/null || echo gone)\" != live"
	check dma_map_fails_cleanly sh -c "! dmesg | grep -E 'BUG:|Oops|Kernel panic|Call Trace'"
	# Answers after the loss never collide with bus addresses held from before.
	check no_bus_overlap_after_loss sh -c "! dmesg | grep -q 'overlaps a live mapping'"
	check apple_dma_unloads sh -c "rmmod nvme && rmmod apple_dma"
	;;
server)
	insmod /lib/modules/dmatest_guest.ko 2>/dev/null
	check dmatest_hold sh -c "echo 'hold 32 4096' > /sys/kernel/debug/dmatest/cmd"
	check mappings_live test "$(kv mappings "$(hostq status)")" -gt 0
	check dextd_stopped test "$(hostq stop-dextd)" = stopped=dextd
	# The whole config space: some of it is read from the device, i.e. the
	# dext, which does not answer. The server (30 s call timeout, 3 s request
	# budget by default) answers within the budget and declares the link lost.
	t0=$(cut -d' ' -f1 /proc/uptime)
	check config_read_answered dd if=/sys/bus/pci/devices/0000:00:05.0/config bs=256 count=1 of=/dev/null
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "FAULT-TIMING config read took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
	# Budget 3 s, plus 1 s for TCG; without it, QEMU's 5 s vfio-user reply timeout.
	check config_read_within_budget awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 4) }'
	st=$(hostq cont-dextd)
	echo "AFTER-LINK-LOSS $st"
	check lost_link_released_mappings test "$(kv mappings "$st")" = 0
	check lost_link_released_claim test "$(kv claims "$st")" = 0
	check lost_link_no_clients test "$(kv clients "$st")" = 0
	check guest_survives_lost_link sh -c "echo release > /sys/kernel/debug/dmatest/cmd"
	check no_kernel_warnings_after_loss sh -c "! dmesg | grep -E 'WARNING:|BUG:|Oops|Kernel panic|Call Trace|rcu.*stall|soft lockup'"
	st=$(hostq kill-server)
	echo "AFTER-SERVER-KILL $st"
	check dext_released_mappings test "$(kv mappings "$st")" = 0
	check dext_released_claim test "$(kv claims "$st")" = 0
	check dext_no_clients test "$(kv clients "$st")" = 0
	echo "SUITE-END"
	# Touch the device now that its server is gone: QEMU must report it.
	echo 'raise 1' > /sys/kernel/debug/dmatest/cmd 2>/dev/null
	exit 0
	;;
qemu)
	insmod /lib/modules/dmatest_guest.ko 2>/dev/null
	check dmatest_hold sh -c "echo 'hold 32 4096' > /sys/kernel/debug/dmatest/cmd"
	echo "SUITE-END"
	hostq kill-qemu
	# Not reached: QEMU is gone.
	sleep 60
	;;
none)
	# The firmware's NVMe probe faults once before Linux; the guest adds none.
	check no_new_faults_after_restart test "$(kv faults "$(hostq status)")" -le 1
	;;
esac
echo "SUITE-END"
