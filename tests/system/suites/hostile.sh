#!/bin/sh
# System suite for hostile guests (issue: reliability and security, item 2).
# Runs inside the guest with hostile_guest.ko bound to apple-dma-pci (and
# apple_dma NOT loaded): every malformed batch must get the status that
# lib/apple-dma/batch.h documents, nothing may be written outside the areas
# R1-R7 allow, nothing may stay registered, and the host keeps serving.
# Every check prints one RESULT line.
. /lib.sh
. /suite.env

H=/sys/kernel/debug/hostile
OK=0
IOERR=1
INVAL=3

echo "SUITE-BEGIN hostile kernel $(uname -r)"

# hg CASE EXPECTED-STATUS: runs one case; passes if the module saw the
# documented behaviour, STATUS is EXPECTED-STATUS and no byte outside the
# allowed areas changed. Prints the key fields first (RESULT detail).
hg() {
	echo "$1" > "$H/cmd"
	rc=$?
	res=$(cat "$H/result")
	st=$(echo "$res" | sed -n 's/^status //p')
	reg=$(echo "$res" | sed -n 's/^reg_status //p')
	cst=$(echo "$res" | sed -n 's/^cmd_status //p')
	out=$(echo "$res" | sed -n 's/^outside_changes //p')
	det=$(echo "$res" | sed -n 's/^detail //p')
	echo "reg_status $reg cmd_status $cst outside_changes $out want $2 detail $det"
	echo "$res" | sed "s/^/HOSTILE $1 /" > /dev/console
	[ "$rc" = 0 ] && [ "$st" = ok ] && [ "$reg" = "$2" ] && [ "$out" = 0 ]
}

mappings() { kv mappings "$(hostq status)"; }

check apple_dma_not_loaded sh -c "! grep -q '^apple_dma ' /proc/modules"
check hostile_load insmod /lib/modules/hostile_guest.ko ram_end="$RAM_END"
check hostile_bound sh -c "test -e $H/cmd && readlink $(pci_dev "$DMA_BDF")/driver | grep -q hostile_guest"
echo info > "$H/cmd" && sed 's/^/INFO /' "$H/result"
check hostile_max_entries sh -c "grep -qx 'max_entries $MAX_ENTRIES' $H/result"
check status_idle sh -c "grep -qx 'reg_status 0' $H/result"
mappings_before=$(mappings)
check mappings_zero_at_start test "$mappings_before" = 0

# R1: no command page. First, while CMD_GPA is still 0 from the fresh probe.
check doorbell_without_cmd_gpa hg nocmd $INVAL
check cmd_gpa_beyond_ram hg cmd_far $INVAL
check cmd_gpa_straddles_ram_end hg cmd_straddle $INVAL
check cmd_gpa_in_mmio_hole hg cmd_mmio $INVAL

# R2: the command page's own fields.
check count_0 hg count0 $INVAL
check count_max_entries_plus_1 hg count_max_plus1 $INVAL
check type_0 hg type0 $INVAL
check type_3 hg type3 $INVAL
check type_ffffffff hg type_ffffffff $INVAL
check req_gpa_0 hg req_zero $INVAL
check resp_gpa_0 hg resp_zero $INVAL

# R3: arrays not in RAM, wrapping, overlapping.
check req_beyond_ram hg req_far $INVAL
check resp_beyond_ram hg resp_far $INVAL
check req_straddles_ram_end hg req_straddle $INVAL
check resp_straddles_ram_end hg resp_straddle $INVAL
check req_in_mmio_hole hg req_mmio $INVAL
check resp_in_mmio_hole hg resp_mmio $INVAL
check req_wraps_64bit hg req_wrap $INVAL
check resp_wraps_64bit hg resp_wrap $INVAL
check resp_overlaps_cmd_page hg resp_overlap_cmd $INVAL
check req_overlaps_cmd_page hg req_overlap_cmd $INVAL
check req_overlaps_resp hg req_overlap_resp $INVAL
check resp_overlaps_req hg resp_overlap_req $INVAL
check no_mappings_after_rejected_batches test "$(mappings)" = 0

# R4-R6: bad entries next to a valid one (which is then unmapped).
check map_len_0_entry_inval hg map_len0 $IOERR
check map_len_huge_entry_ioerr hg map_huge $IOERR
check map_flags_entry_inval hg map_flags $IOERR
check map_gpa_not_ram_entry_ioerr hg map_not_ram $IOERR
check map_straddles_ram_end_entry_ioerr hg map_straddle $IOERR
check map_duplicate_key_entry_ioerr hg map_dup $IOERR
check unmap_unknown_id_ioerr hg unmap_unknown $IOERR
check unmap_twice_ioerr hg unmap_twice $IOERR

# Read-only guest RAM (x86: the BIOS area q35 leaves read-only), which the
# server maps read-only: never written, never registered (docs/security.md).
if [ -n "${ROM_GPA:-}" ]; then
	check cmd_page_in_read_only_ram hg cmd_rom $INVAL
	check resp_in_read_only_ram hg resp_rom $INVAL
	check map_of_read_only_ram_refused hg map_rom $IOERR
fi

# Synchronous doorbells: a guest that never reads STATUS sees every batch done.
check features_sync_doorbell sh -c "echo info > $H/cmd && grep -qx 'features 0x1' $H/result"
check sync_doorbell_without_status_read hg sync $OK

# A flood of guest errors: counted exactly, logged within the rate limits
# (10 lines + 1 "suppressed" line per 5 s per message site).
st0=$(hostq server-stats)
t0=$(awk '{ printf "%d", $1 }' /proc/uptime)
check flood_of_guest_errors hg flood $INVAL
t1=$(awk '{ printf "%d", $1 }' /proc/uptime)
st=$(hostq server-stats)
echo "FLOOD $((t1 - t0)) s: before $st0, after $st"
check flood_counted_exactly test \
	"$(( $(kv inval "$st") - $(kv inval "$st0") )):$(( $(kv bad_accesses "$st") - $(kv bad_accesses "$st0") ))" = 2000:2000
check flood_log_bounded test $(( $(kv lines "$st") - $(kv lines "$st0") )) -le $(( 3 * 11 * ((t1 - t0) / 5 + 2) + 10 ))

# The host still serves a correct guest, and nothing was leaked.
check host_still_serving hg valid $OK
check host_still_serving_again hg valid $OK
check no_mappings_leaked test "$(mappings)" = 0
status=$(hostq status)
echo "HOSTQ $status"
check dext_function_still_claimed test "$(kv claims "$status")" -ge 1
check hostile_unload rmmod hostile_guest
check no_mappings_after_unload test "$(mappings)" = 0
check no_kernel_warnings sh -c "! dmesg | grep -E 'WARNING:|BUG:|Oops|Kernel panic|Call Trace'"

echo "SUITE-END"
