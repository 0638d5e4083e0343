#!/bin/sh
# System suite for the dmatest passthrough (issues: server, guest module).
# Runs inside the guest; every check prints one RESULT line.
. /lib.sh
. /suite.env

PT=$(pci_dev "$PT_BDF")
DMA=$(pci_dev "$DMA_BDF")
DT=/sys/kernel/debug/dmatest
RANDOM=$SEED

echo "SUITE-BEGIN dmatest kernel $(uname -r) seed $SEED"

# ---- the two devices, as the guest sees them --------------------------------
check pci_passthrough_ids test "$(cat "$PT/vendor"):$(cat "$PT/device")" = 0x1234:0x11f0
check pci_apple_dma_ids test "$(cat "$DMA/vendor"):$(cat "$DMA/device"):$(cat "$DMA/class")" \
	= 0x1b36:0x0015:0x088000

# ---- apple-dma registers through BAR0 ---------------------------------------
echo 1 > "$DMA/enable"
bar=$(( $(cut -d' ' -f1 "$DMA/resource" | head -n 1) ))
reg() { printf '%d' "$(devmem $((bar + $1)) 32)"; }
check apple_dma_version test "$(reg 0x00)" = 2
check apple_dma_max_entries test "$(reg 0x08)" = "$MAX_ENTRIES"
check apple_dma_managed_bdf test "$(reg 0x04)" = "$PT_MANAGED_BDF"
check apple_dma_status_idle test "$(reg 0x0c)" = 0
check apple_dma_features_sync_doorbell test "$(reg 0x1c)" = 1
devmem $((bar + 0x00)) 32 7
check apple_dma_version_read_only test "$(reg 0x00)" = 2
# A doorbell before CMD_GPA is set: INVAL, and the device keeps serving.
devmem $((bar + 0x18)) 32 1
check apple_dma_doorbell_without_cmd_gpa test "$(reg 0x0c)" = 3
echo 0 > "$DMA/enable"

# ---- BAR2, plain memory handed out by the dext, mapped by QEMU --------------
echo 1 > "$PT/enable"
bar2=$(( $(sed -n 3p "$PT/resource" | cut -d' ' -f1) ))
devmem $((bar2 + 0x40)) 32 0xa5a55a5a
devmem $((bar2 + 0xff0)) 32 0x76543210
check bar2_memory_by_qemu sh -c "test $(devmem $((bar2 + 0x40)) 32) = 0xA5A55A5A &&
	test $(devmem $((bar2 + 0xff0)) 32) = 0x76543210"
echo 0 > "$PT/enable"

# ---- BAR register writes must not reach the dext ----------------------------
before=$(kv bar_writes "$(hostq status)")
orig=$(dd if="$PT/config" bs=1 skip=16 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n')
printf '\377\377\377\377' | dd of="$PT/config" bs=1 seek=16 conv=notrunc 2>/dev/null
printf "$(echo "$orig" | sed 's/../\\x&/g')" | dd of="$PT/config" bs=1 seek=16 conv=notrunc 2>/dev/null
after=$(kv bar_writes "$(hostq status)")
restored=$(dd if="$PT/config" bs=1 skip=16 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n')
check bar_writes_filtered test "$before:$after:$restored" = "0:0:$orig"

# ---- MSI-X from the dext to the guest ---------------------------------------
insmod /lib/modules/dmatest_guest.ko
check msix_raise_20 sh -c "echo 'raise 20' > $DT/cmd && grep -q 'status ok' $DT/result"
irqs=$(awk '/^vector/ { n += $2 } END { print n + 0 }' "$DT/irqs")
check msix_counted test "$irqs" = 20
check msix_in_proc_interrupts grep -q dmatest /proc/interrupts
rmmod dmatest_guest

[ "$SUITE_PART" = server ] && { echo "SUITE-END"; exit 0; }

# ---- the DMA path: apple_dma + stock DMA API --------------------------------
check apple_dma_load insmod /lib/modules/apple_dma.ko
stats=$(ls /sys/kernel/debug/apple_dma/*/stats 2>/dev/null | head -n 1)
check apple_dma_stats_file test -r "$stats"
# FEATURES promises synchronous doorbells: apple_dma never reads STATUS.
check apple_dma_sync_doorbell grep -qx Y "$(dirname "$stats")/sync_doorbell"
insmod /lib/modules/dmatest_guest.ko

dt() {
	echo "$*" > "$DT/cmd" && grep -q 'status ok' "$DT/result" || { cat "$DT/result"; return 1; }
}

for size in 1 2 63 4095 4096 4097 65536 262145 1048576; do
	so=$((RANDOM % 9000)); do_=$((RANDOM % 9000))
	check "copy_single_${size}_at_${so}_${do_}" dt copy "$size" "$so" "$do_" single seed=$RANDOM
done
check copy_single_4MiB dt copy 4194304 0 0 single seed=$RANDOM
for size in 1 4096 200000 1048576; do
	check "copy_coherent_$size" dt copy "$size" $((RANDOM % 4096)) $((RANDOM % 4096)) coherent seed=$RANDOM
done
check copy_coherent_4MiB dt copy 4194304 0 0 coherent seed=$RANDOM
for size in 1 3000 100000 2000000; do
	check "fill_$size" dt fill "$size" $((RANDOM % 4096)) $((RANDOM % 256)) seed=$RANDOM
	check "checksum_$size" dt checksum "$size" $((RANDOM % 4096)) seed=$RANDOM
done
for n in 1 2 17 64 128 256; do
	check "sg_${n}_segments" dt sg "$n" $((512 + RANDOM % 70000)) seed=$RANDOM
done
check stress_all_cpus dt stress 5s

# ---- the mapping cache (apple_dma's default, strict=0) ----------------------
P=/sys/module/apple_dma/parameters
st() { awk -v k="$1" '$1 == k { print $2 }' "$stats"; }
host_mappings() { kv mappings "$(hostq status)"; }
# wait_until SECONDS CMD...: polls CMD every 0.1 s, at most SECONDS.
wait_until() {
	t=$(($1 * 10)); shift
	while ! "$@"; do
		t=$((t - 1)); [ $t -gt 0 ] || return 1
		sleep 0.1
	done
}
idle_is() { test "$(st idle_mappings)" = "$1"; }
check cache_is_default test "$(cat $P/strict)" = N
check cache_hits_counted sh -c "test $(st cache_hits) -gt 0"
# Idle mappings stay registered while the idle bound has not passed...
echo 60000 > $P/cache_idle_ms
check cache_copy dt copy 1048576 5 7 single seed=$RANDOM
idle=$(st idle_mappings) host_before=$(host_mappings)
check cache_idle_kept_on_host sh -c "test $idle -gt 0 && test $host_before = $(st live_mappings)"
# ... and go, in a batch, once it has: the host's count goes down.
ev=$(st evictions)
echo 20 > $P/cache_idle_ms
check cache_idle_released wait_until 10 idle_is 0
host_after=$(host_mappings)
check cache_idle_gone_from_host sh -c "test $host_after -lt $host_before &&
	test $host_after = $(st live_mappings) && test $(st evictions) -ge $((ev + idle))"

# A run of sg entries inside one mapping costs one tree search, not one per
# entry on each side: 16 pieces of one 16 KiB block, 32 entries mapped and
# unmapped (the host may be asked for a new mapping: a few more searches).
lk=$(st lookups) lh=$(st lock_holds)
check sgrun_16_pieces dt sgrun 16 1024 seed=$RANDOM
echo "INFO sgrun 16 pieces: lookups $(( $(st lookups) - lk )) lock_holds $(( $(st lock_holds) - lh ))"
check sgrun_searches_per_run sh -c "test $(( $(st lookups) - lk )) -lt 16"

# ---- strict mode: nothing stays mapped after unmap ---------------------------
echo 60000 > $P/cache_idle_ms
dt copy 65536 0 0 single seed=$RANDOM >/dev/null
check cache_holds_idle_before_strict sh -c "test $(st idle_mappings) -gt 0"
echo 1 > $P/strict
check strict_switch_releases_cache test "$(st idle_mappings)" = 0
live=$(st live_mappings)
check strict_copy dt copy 1048576 3 9 single seed=$RANDOM
check strict_sg dt sg 64 5000 seed=$RANDOM
check strict_nothing_left_mapped sh -c "test $(st idle_mappings) = 0 && test $(st live_mappings) = $live &&
	test $(host_mappings) = $live"

faults_before=$(kv faults "$(hostq status)")
check stale_iova_faults dt stale 65536
faults_after=$(kv faults "$(hostq status)")
check stale_fault_recorded_in_dart test "$faults_after" -gt "$faults_before"

# The function's DART allows MAPPING_LIMIT live mappings: exceed it, with
# the cache holding idle mappings (back to cache mode, long idle bound), so
# the host's refusal at the limit must evict them and retry.
echo 0 > $P/strict
dt copy 1048576 0 0 single seed=$RANDOM >/dev/null
nospc=$(st nospc_evictions) in_use=$(( $(st live_mappings) - $(st idle_mappings) ))
check exhaust_cache_holds_idle sh -c "test $(st idle_mappings) -gt 0"
check exhaust_limit dt exhaust $((MAPPING_LIMIT + 100)) 4096
mapped=$(sed -n 's/^mapped //p' "$DT/result")
check exhaust_stopped_at_limit test "${mapped:-0}" -lt $((MAPPING_LIMIT + 100))
check exhaust_recovered grep -q '^recovered 1' "$DT/result"
check exhaust_evicted_on_host_refusal sh -c "test $(st nospc_evictions) -gt $nospc"
# every idle mapping made room: only the ones in use were not available
check exhaust_no_room_lost_to_cache test "${mapped:-0}" -ge $((MAPPING_LIMIT - in_use - 2))
echo "INFO apple-dma-pci reset methods: $(cat "$DMA/reset_method" 2>/dev/null || echo none)"

# Counters: batching and windows did something.
check counters_batched sh -c "awk '/^max_entries_per_doorbell/ { exit !(\$2 > 1) }' $stats"
check counters_window_hits sh -c "awk '/^window_hits/ { exit !(\$2 > 0) }' $stats"
check counters_no_unknown_unmaps sh -c "awk '/^unmap_unknown/ { exit !(\$2 == 0) }' $stats"
check counters_no_status_reads sh -c "awk '/^status_reads/ { exit !(\$2 == 0) }' $stats"
echo "STATS $(tr '\n' ' ' < "$stats")"

# ---- the driver rebinds while apple_dma stays loaded -------------------------
# (arm64 6.1 clears a device's DMA ops when its driver unbinds; apple_dma must
# put its ops back before the driver probes again, or DMA would bypass the DART)
echo "0000:$PT_BDF" > /sys/bus/pci/drivers/dmatest_guest/unbind
echo "0000:$PT_BDF" > /sys/bus/pci/drivers/dmatest_guest/bind
check copy_after_rebind dt copy 65536 1 2 single seed=$RANDOM
check sg_after_rebind dt sg 32 5000 seed=$RANDOM

# ---- apple_dma cannot go while the managed device's driver may free through it
# (dma-direct would free unrelated pages with our bus addresses)
check unload_refused_while_driver_bound sh -c "! rmmod apple_dma 2>/dev/null"
check copy_after_refused_unload dt copy 65536 3 5 single seed=$RANDOM
# Unbinding apple-dma-pci unbinds the managed device's driver first, and
# releases every mapping, the idle ones of the cache included.
check unbind_with_idle_mappings sh -c "test $(st idle_mappings) -gt 0"
echo "0000:$DMA_BDF" > /sys/bus/pci/drivers/apple_dma/unbind
check unbind_unbound_managed_driver test ! -e "$PT/driver"
check unbind_zero_mappings test "$(kv mappings "$(hostq status)")" = 0
echo "0000:$DMA_BDF" > /sys/bus/pci/drivers/apple_dma/bind
echo "0000:$PT_BDF" > /sys/bus/pci/drivers/dmatest_guest/bind
check copy_after_apple_dma_rebind dt copy 65536 7 9 single seed=$RANDOM

# ---- unload leaves nothing behind in the DART, idle mappings included -------
dt copy 262144 0 0 single seed=$RANDOM >/dev/null
rmmod dmatest_guest
check unload_with_idle_mappings sh -c "test $(st idle_mappings) -gt 0"
check apple_dma_unload rmmod apple_dma
check unload_zero_mappings test "$(kv mappings "$(hostq status)")" = 0
# Reloaded as a guest written for the reference platform: it never reads
# STATUS, only the command page; every result must still be right and no
# registration may leak.
check apple_dma_reload insmod /lib/modules/apple_dma.ko doorbell_status=never
insmod /lib/modules/dmatest_guest.ko
check copy_after_reload dt copy 100000 12 34 single seed=$RANDOM
for size in 1 4097 262145; do
	check "never_status_copy_$size" dt copy "$size" $((RANDOM % 4096)) $((RANDOM % 4096)) single seed=$RANDOM
done
check never_status_sg_64 dt sg 64 $((512 + RANDOM % 70000)) seed=$RANDOM
check never_status_exhaust dt exhaust $((MAPPING_LIMIT + 100)) 4096
check never_status_exhaust_recovered grep -q '^recovered 1' "$DT/result"
stats=$(ls /sys/kernel/debug/apple_dma/*/stats 2>/dev/null | head -n 1)
check never_status_no_status_reads sh -c "awk '/^status_reads/ { exit !(\$2 == 0) }' $stats"
check never_status_no_unknown_unmaps sh -c "awk '/^unmap_unknown/ { exit !(\$2 == 0) }' $stats"
rmmod dmatest_guest
rmmod apple_dma
check reload_unload_zero_mappings test "$(kv mappings "$(hostq status)")" = 0
check no_kernel_warnings sh -c "! dmesg | grep -E 'WARNING:|BUG:|Oops|Kernel panic|Call Trace'"

# ---- a host that stops answering cannot hold a CPU with interrupts off ------
# Last: the server's dext link is lost for the rest of the boot. Strict, so
# the unmaps ring; dextd stopped under them. The server (30 s call timeout,
# 3 s request budget by default) answers within the budget and lets go.
check slow_host_load insmod /lib/modules/apple_dma.ko strict=1
insmod /lib/modules/dmatest_guest.ko
check slow_host_hold dt hold 8 4096
check slow_host_dextd_stopped test "$(hostq stop-dextd)" = stopped=dextd
t0=$(cut -d' ' -f1 /proc/uptime)
echo release > "$DT/cmd"
t1=$(cut -d' ' -f1 /proc/uptime)
stats=$(ls /sys/kernel/debug/apple_dma/*/stats 2>/dev/null | head -n 1)
off_us=$(sed -n 's/^max_irqs_off_us //p' "$stats")
echo "SLOW-HOST release took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s," \
	"longest interrupts-off doorbell ${off_us} us"
# Budget 3 s, plus 1 s for TCG; without it, QEMU's 5 s vfio-user reply timeout.
check slow_host_irqs_off_within_budget test "$off_us" -lt 4000000
st=$(hostq cont-dextd)
check slow_host_released_mappings test "$(kv mappings "$st")" = 0
check slow_host_released_claim test "$(kv claims "$st")" = 0
check slow_host_no_stall sh -c "! dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|rcu.*stall|soft lockup'"

echo "SUITE-END"
