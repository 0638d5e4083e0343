#!/usr/bin/env bash
# NVMe benchmark: the same guest kernel, initramfs and fio workloads through
#  (a) vfio-apple: dextd's simulated NVMe -> vfio-apple-server -> QEMU
#      vfio-user-pci, guest apple_dma with its defaults (windows, batching);
#  (b) QEMU's built-in -device nvme on a raw file (no vfio-apple at all);
#  (c) vfio-apple with apple_dma's reference policy (window_shift=0
#      max_batch=1 strict=1: one entry per doorbell, no windows, no cache);
#  (d) as (a) with apple_dma in strict mode (strict=1: no mapping cache, an
#      unmapped range leaves the DART before dma_unmap returns).
# Prints markdown tables and writes a CSV. It measures; it never judges.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/nvme-bench.sh [OPTION]...

Boots one guest per configuration (a: vfio-apple defaults, b: QEMU's
built-in nvme, c: vfio-apple with window_shift=0 max_batch=1 strict=1, d: a
with apple_dma strict=1) and runs the
same fio workloads in each (io_uring, direct, raw namespace, time based):
4 KiB random read QD1 and QD32, 128 KiB sequential read and write QD8, after
writing the whole namespace once. Prints a table of IOPS, MB/s and mean
latency, a table of the DMA path's counters (a, c, d), and writes a CSV.

  --kernel ID        guest kernel id (default 6.12-x86_64; x86_64 only: the
                     guest runs the host's static fio)
  --runtime SECONDS  per workload (default 8)
  --size SIZE        namespace size, also the raw file of (b) (default 512M)
  --memory SIZE      guest RAM (default 1G)
  --configs "a b c d"  which configurations, in this order (default
                     "a b c d")
  --wait-idle SECONDS  before each configuration, wait up to SECONDS until
                     no other qemu-system process runs (default 0: do not
                     wait); other QEMUs seen are recorded either way
  --workloads "..."  a subset of the four workloads, in this order
  --qemu-args "..."  extra QEMU arguments for every configuration (split on
                     spaces; e.g. "-trace enable=vfio_user_region_rw -D F"
                     to count vfio-user messages; not for measured runs)
  --nvme-opts OPTS   extra options of dextd's nvme function for a, c and d
                     (e.g. "workers=1"; comma separated, see dextd --help)
  --strace           run dextd and the server under strace -f -c: syscall
                     counts in DIR/<config>/{dextd,server}.strace (slows
                     both down a lot; for counting, not for measured runs)
  --out DIR          logs, consoles, CSV and tables (default
                     $VFIO_APPLE_BUILD/bench/nvme-<kernel>, else build/...)
  --report           boot nothing: print the tables and rewrite the CSV from
                     DIR/results.raw of an earlier run (with --out DIR)
  -h, --help         this help

Environment: VFIO_APPLE_BUILD (the meson build dir, default build/),
VFIO_APPLE_VM_TIMEOUT (seconds per guest, default 600).
Outputs in DIR: nvme-bench.csv, nvme-bench.md, <config>/console.log and logs.
EOF
}

kernel_id=6.12-x86_64 runtime=8 size=512M memory=1G configs="a b c d" out='' wait_idle=0 report=0
WORKLOADS="randread4k_qd1 randread4k_qd32 seqread128k_qd8 seqwrite128k_qd8" qemu_args= use_strace=0 nvme_opts=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel_id=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--memory) memory=$2; shift 2 ;;
	--configs) configs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--wait-idle) wait_idle=$2; shift 2 ;;
	--workloads) WORKLOADS=$2; shift 2 ;;
	--qemu-args) qemu_args=$2; shift 2 ;;
	--nvme-opts) nvme_opts=,$2; shift 2 ;;
	--strace) use_strace=1; shift ;;
	--report) report=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "nvme-bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
if ! [[ $runtime =~ ^[0-9]+$ ]] || [ "$runtime" -eq 0 ]; then echo "nvme-bench: bad --runtime" >&2; exit 2; fi
for c in $configs; do
	case $c in a|b|c|d) ;; *) echo "nvme-bench: unknown config '$c' (a, b, c, d)" >&2; exit 2 ;; esac
done

# shellcheck source=/dev/null
. "$(dirname "$0")/../scripts/lib/vm.sh"
set -euo pipefail
VM_TIMEOUT=${VFIO_APPLE_VM_TIMEOUT:-600}
sys_kernel "$kernel_id"
[ "$MARCH" = x86_64 ] || sys_die "nvme-bench runs x86_64 guests only (the host's static fio)"
[ -x "${FIO_X86_64:-}" ] || sys_die "no static fio (FIO_X86_64; run scripts/provision)"
QEMU=${VFIO_APPLE_QEMU_X86_64:-$CACHE/bin/qemu-system-x86_64}
for p in "$DEXTD" "$SERVER" "$DEXT_CLI" "$QEMU"; do
	[ -x "$p" ] || sys_die "missing $p (build with meson/ninja first)"
done

out=${out:-$BUILD/bench/nvme-$kernel_id}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d /tmp/nvme-bench.XXXXXX)
for w in $WORKLOADS; do
	case $w in randread4k_qd1|randread4k_qd32|seqread128k_qd8|seqwrite128k_qd8) ;;
	*) echo "nvme-bench: unknown workload '$w'" >&2; exit 2 ;; esac
done
read -r -a extra_qemu <<< "$qemu_args"

# Every process this script starts, newest last; stopped in reverse order.
pids=()
cleanup() {
	local st=$? i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	rm -rf "$tmp"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# stop_pids PID...: stops them and forgets them.
stop_pids() {
	local p q keep=()
	for p in "$@"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for q in "${pids[@]}"; do
		for p in "$@"; do [ "$p" = "$q" ] && continue 2; done
		keep+=("$q")
	done
	pids=(${keep[@]+"${keep[@]}"})
}

if [ "$report" = 0 ]; then
	# ---- one initramfs for every configuration -------------------------------
	initrd=$out/initramfs.cpio.gz
	envfile=$out/suite.env
	printf 'RUNTIME=%s\nWORKLOADS="%s"\n' "$runtime" "$WORKLOADS" > "$envfile"
	echo "nvme-bench: building the initramfs for $kernel_id ($KVER)" >&2
	SYS_SUITE_KMODS="nvme" sys_initramfs "$kernel_id" "$initrd" "$REPO/bench/guest/nvme-bench.sh" "$envfile" \
		--file "$FIO_X86_64:/bin/fio"

	# QEMU processes that are not ours (ours have our initramfs on their command line).
	others() {
		local p n=0
		for p in $(pgrep -f qemu-system 2>/dev/null || true); do
			grep -aqF "$initrd" "/proc/$p/cmdline" 2>/dev/null || n=$((n + 1))
		done
		echo "$n"
	}
	# Samples others() every 2 s into FILE until killed.
	sample_others() {
		while :; do others >> "$1"; sleep 2; done
	}
	meta=$out/meta.txt
	{
		echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "host_cpus=$(nproc)"
		echo "host_kernel=$(uname -r)"
		echo "qemu=$("$QEMU" --version | head -n 1)"
		echo "guest_kernel=$KVER"
		echo "runtime=$runtime size=$size memory=$memory"
		echo "fio=$("$FIO_X86_64" --version)"
	} > "$meta"

	# ---- (a), (c) and (d): the vfio-apple stack -------------------------------------
	boot_stack() {
		local cfg=$1 wd=$out/$1 line='' st=0
		rm -rf "$wd" && mkdir -p "$wd"
		local sock=$wd/dextd.sock fifo=$wd/dextd.ready
		mkfifo "$fifo"
		local wrap=() server=$SERVER
		if [ "$use_strace" = 1 ]; then
			wrap=(strace -f -c -o "$wd/dextd.strace")
			server=$wd/server-strace.sh
			printf '#!/bin/sh\nexec strace -f -c -o "%s" "%s" "$@"\n' "$wd/server.strace" "$SERVER" > "$server"
			chmod +x "$server"
		fi
		${wrap[@]+"${wrap[@]}"} "$DEXTD" --socket "$sock" --function "nvme,bdf=01:00.0,size=$size,backing=$tmp/$cfg.img,cache=none$nvme_opts" \
			--ready-fd 3 3>"$fifo" 2>"$wd/dextd.log" &
		pids+=($!)
		local dextd_pid=$!
		read -r line < "$fifo" || true
		[ "$line" = READY ] || { cat "$wd/dextd.log" >&2; sys_die "dextd did not start"; }
		# Under strace, dextd is strace's child: strace ends (and writes its
		# counts) when dextd does.
		local tracer=''
		if [ "$use_strace" = 1 ]; then
			tracer=$dextd_pid
			dextd_pid=$(pgrep -P "$tracer" | head -n 1)
		fi
		mkfifo "$wd/hostq.in" "$wd/hostq.out"
		sys_hostq_responder "$wd" "$sock" 01:00.0 "$dextd_pid" &
		pids+=($!)
		local responder=$!
		timeout "$VM_TIMEOUT" "$REPO/tools/vfio-apple" run --arch x86_64 --kernel "$KERNEL" \
			--initrd "$initrd" --append "console=ttyS0 panic=-1 bench.config=$cfg" --memory "$memory" \
			--dext-socket "$sock" --host-bdf 01:00.0 --server "$server" \
			--console "$wd/console.log" --workdir "$wd/vm" --keep-workdir -- \
			-device virtio-serial-pci,addr=0x10 \
			-chardev "pipe,id=hostq,path=$wd/hostq" \
			-device virtserialport,chardev=hostq,name=hostq ${extra_qemu[@]+"${extra_qemu[@]}"} &
		pids+=($!)
		local vm=$!
		wait "$vm" || st=$?
		"$DEXT_CLI" --socket "$sock" status > "$wd/dext-status.after" 2>&1 || true
		stop_pids "$vm" "$responder" "$dextd_pid" $tracer
		return "$st"
	}

	# ---- (b): QEMU's own nvme, same machine options as tools/vfio-apple -------
	boot_builtin() {
		local wd=$out/b st=0
		rm -rf "$wd" && mkdir -p "$wd"
		truncate -s "$size" "$tmp/b.img"
		timeout "$VM_TIMEOUT" "$QEMU" -accel tcg -machine q35,memory-backend=mem -cpu max -smp 2 \
			-object "memory-backend-memfd,id=mem,size=$memory,share=on" -m "$memory" \
			-nographic -vga none -nic none -no-reboot -kernel "$KERNEL" \
			-append "console=ttyS0 panic=-1 bench.config=b" -initrd "$initrd" \
			-drive "file=$tmp/b.img,if=none,id=d0,format=raw,cache=none,aio=threads" \
			-device nvme,serial=b,drive=d0,addr=05.0 ${extra_qemu[@]+"${extra_qemu[@]}"} \
			</dev/null >"$wd/console.log" 2>"$wd/qemu.log" &
		pids+=($!)
		local vm=$!
		wait "$vm" || st=$?
		stop_pids "$vm"
		return "$st"
	}

	raw=$out/results.raw
	: > "$raw"
	for cfg in $configs; do
		waited=0
		while [ "$waited" -lt "$wait_idle" ] && [ "$(others)" != 0 ]; do
			sleep 5; waited=$((waited + 5))
		done
		n=$(others)
		: > "$tmp/others.$cfg"
		sample_others "$tmp/others.$cfg" &
		pids+=($!)
		sampler=$!
		echo "config_$cfg: other_qemu_at_start=$n start=$(date -u +%H:%M:%S)" >> "$meta"
		echo "nvme-bench: config $cfg ($n other QEMU running)" >&2
		st=0
		case $cfg in
		b) boot_builtin || st=$? ;;
		*) boot_stack "$cfg" || st=$? ;;
		esac
		stop_pids "$sampler"
		echo "config_$cfg: exit=$st other_qemu_max_during=$(sort -n "$tmp/others.$cfg" | tail -n 1) samples_with_other_qemu=$(grep -vc '^0$' "$tmp/others.$cfg" || true)/$(wc -l < "$tmp/others.$cfg") end=$(date -u +%H:%M:%S) waited=${waited}s" >> "$meta"
		# The longest a guest access (a BAR access, a doorbell) waited for the server.
		[ "$cfg" = b ] || echo "config_$cfg: server_requests: $(grep -a 'requests: longest' "$out/$cfg/vm/server.log" 2>/dev/null | tail -n 1 | sed 's/.*requests: //')" >> "$meta"
		tr -d '\r' < "$out/$cfg/console.log" | grep -a -E '^(FIO|DMA|BENCH-INFO|BENCH-ERROR|BENCH-DMESG) ' |
			sed -E "s/^(BENCH-[A-Z]+) /\1 $cfg /" >> "$raw" || true
		grep -aq '^SUITE-END' "$out/$cfg/console.log" ||
			echo "nvme-bench: config $cfg did not finish (exit $st); see $out/$cfg/console.log" >&2
	done
	grep -a '^BENCH-ERROR' "$raw" >&2 || true

fi
raw=$out/results.raw meta=$out/meta.txt
[ -s "$raw" ] || sys_die "no results in $raw"

# ---- tables and CSV ----------------------------------------------------------
csv=$out/nvme-bench.csv
md=$out/nvme-bench.md
awk -v kernel="$kernel_id" -v csv="$csv" '
function label(c) { return c == "a" ? "a: vfio-apple, defaults" : c == "b" ? "b: QEMU built-in nvme" : c == "c" ? "c: vfio-apple, reference policy" : "d: vfio-apple, strict" }
$1 == "FIO" {
	c = $2; w = $3; bs = $4; split($5, f, ";")
	if (f[47] + 0 > 0) { kb = f[47]; bw = f[48]; iops = f[49]; lat = f[81] }
	else { kb = f[6]; bw = f[7]; iops = f[8]; lat = f[40] }
	key = c SUBSEP w
	IOPS[key] = iops; MBS[key] = bw * 1024 / 1e6; LAT[key] = lat; IOS[key] = kb * 1024 / bs
	if (!(w in seenw)) { seenw[w] = 1; W[++nw] = w }
	if (!(c in seenc)) { seenc[c] = 1; C[++nc] = c }
}
$1 == "DMA" {
	key = $2 SUBSEP $3; HAVEDMA[key] = 1
	for (i = 4; i <= NF; i++) { split($i, kv, "="); D[key, kv[1]] = kv[2] }
}
function d(key, n) { return (key, n) in D ? D[key, n] + 0 : "" }
function per(x, y, fmt) { return (x != "" && y + 0 > 0) ? sprintf(fmt, x / y) : "" }
function ratio(A, x, y, w) { return ((x SUBSEP w) in A && (y SUBSEP w) in A && A[y SUBSEP w] > 0) ? sprintf("%.2f", A[x SUBSEP w] / A[y SUBSEP w]) : "" }
END {
	print "kernel,config,workload,iops,mb_s,lat_mean_us,ios,maps,unmaps,doorbells,entries,entries_per_doorbell,window_hits,host_maps,host_unmaps,host_irqs,map_failures,max_entries_per_doorbell,guest_peak_mappings,host_live_mappings,host_peak_mappings,cache_hits,evictions,nospc_evictions,doorbell_waits,idle_mappings,idle_bytes,lock_holds,lookups" > csv
	print "| workload | config | IOPS | MB/s | mean latency (us) | IOPS vs b |"
	print "| --- | --- | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= nw; i++) for (j = 1; j <= nc; j++) {
		w = W[i]; c = C[j]; key = c SUBSEP w
		if (!(key in IOPS)) continue
		rel = ((("b" SUBSEP w) in IOPS) && IOPS["b" SUBSEP w] > 0) ? sprintf("%.2fx", IOPS[key] / IOPS["b" SUBSEP w]) : ""
		printf "| %s | %s | %.0f | %.1f | %.0f | %s |\n", w, label(c), IOPS[key], MBS[key], LAT[key], rel
		printf "%s,%s,%s,%.0f,%.1f,%.1f,%.0f,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", kernel, c, w, IOPS[key], MBS[key], LAT[key], IOS[key],
			d(key, "maps"), d(key, "unmaps"), d(key, "doorbells"), d(key, "entries"),
			per(d(key, "entries"), d(key, "doorbells"), "%.2f"), d(key, "window_hits"), d(key, "host_maps"),
			d(key, "host_unmaps"), d(key, "host_irqs"), d(key, "map_failures"), d(key, "max_entries_per_doorbell"), d(key, "peak_mappings"),
			d(key, "host_mappings"), d(key, "host_peak_mappings"), d(key, "cache_hits"), d(key, "evictions"),
			d(key, "nospc_evictions"), d(key, "doorbell_waits"), d(key, "idle_mappings"), d(key, "idle_bytes"),
			d(key, "lock_holds"), d(key, "lookups") > csv
	}
	# Ratios of throughput (IOPS, the same as MB/s for one block size) and
	# of mean latency between configurations of this run.
	print ""
	print "| workload | a / b | a / c | d / a | latency a / b |"
	print "| --- | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= nw; i++) {
		w = W[i]
		printf "| %s | %s | %s | %s | %s |\n", w, ratio(IOPS, "a", "b", w), ratio(IOPS, "a", "c", w),
			ratio(IOPS, "d", "a", w), ratio(LAT, "a", "b", w)
	}
	print ""
	print "| workload | config | I/Os | maps / I/O | lock holds / I/O | lookups / I/O | doorbells / I/O | entries / doorbell | reused / map (window_hits) | cache hits / map | host maps / I/O | host unmaps / I/O | evictions | idle mappings at end | device irqs / I/O | map failures | host peak DART mappings |"
	print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= nw; i++) for (j = 1; j <= nc; j++) {
		w = W[i]; c = C[j]; key = c SUBSEP w
		if (!(key in HAVEDMA)) continue
		printf "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, label(c), IOS[key],
			per(d(key, "maps"), IOS[key], "%.2f"), per(d(key, "lock_holds"), IOS[key], "%.2f"),
			per(d(key, "lookups"), IOS[key], "%.2f"), per(d(key, "doorbells"), IOS[key], "%.3f"),
			per(d(key, "entries"), d(key, "doorbells"), "%.2f"), per(d(key, "window_hits"), d(key, "maps"), "%.2f"),
			per(d(key, "cache_hits"), d(key, "maps"), "%.2f"),
			per(d(key, "host_maps"), IOS[key], "%.3f"), per(d(key, "host_unmaps"), IOS[key], "%.3f"),
			d(key, "evictions"), d(key, "idle_mappings"), per(d(key, "host_irqs"), IOS[key], "%.2f"),
			d(key, "map_failures"), d(key, "host_peak_mappings")
	}
}' "$raw" > "$md"
{
	echo "## nvme-bench, $kernel_id ($KVER), ${runtime} s per workload, namespace $size"
	echo
	sed 's/^/    /' "$meta"
	echo
	cat "$md"
} | tee "$md.tmp"
mv "$md.tmp" "$md"
echo "nvme-bench: CSV $csv, tables $md" >&2
