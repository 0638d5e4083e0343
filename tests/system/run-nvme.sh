#!/usr/bin/env bash
# System test: the stock nvme driver on dextd's simulated NVMe controller
# through apple_dma (raw I/O, fio where provisioned, controller reset,
# ext4 with checksums across a guest reboot on x86_64).
# Usage: tests/system/run-nvme.sh KERNEL-ID [refpolicy]
# refpolicy: apple_dma as the reference does it (one entry per doorbell, no
# windows), which exercises the key-collision path; and a second function
# (dmatest at 01:00.1, its own server and apple-dma-pci) driven at the same
# time, with the teardown of both checked.
. "$(dirname "$0")/../../scripts/lib/vm.sh"
suites=$(cd "$(dirname "$0")" && pwd)/suites

id=${1:?usage: run-nvme.sh KERNEL-ID [refpolicy]}
policy=${2:-default}
sys_kernel "$id"
seed=${VFIO_APPLE_TEST_SEED:-$(( $(date +%s) % 32768 ))}
extra=()
have_ext4=0
if [ "$MARCH" = x86_64 ]; then
	# Host binaries run in x86_64 guests: mkfs.ext4 with its libraries, static fio.
	extra+=(--bin-dynamic "$(command -v mke2fs):/sbin/mkfs.ext4")
	[ -x "${FIO_X86_64:-}" ] && extra+=(--file "$FIO_X86_64:/bin/fio")
	have_ext4=1
fi
mkdir -p "$BUILD/system"
envfile=$BUILD/system/nvme-$policy-$id.env
printf 'SEED=%s\nHAVE_EXT4=%s\n' "$seed" "$have_ext4" > "$envfile"
functions="nvme,bdf=01:00.0,size=256M"
if [ "$policy" = refpolicy ]; then
	echo 'APPLE_DMA_ARGS="window_shift=0 max_batch=1"' >> "$envfile"
	# Two functions of one dextd in one VM: dmatest at 01:00.1 (guest
	# 00:07.0, its apple-dma-pci at 00:08.0), driven at the same time. It
	# has MSI only, so the server's and the driver's MSI fallback are used,
	# and its server accesses BAR2 through its own mapping (as over IOKit).
	functions="$functions;dmatest,bdf=01:00.1,irq=msi,bars=server"
	printf 'DT_BDF=00:07.0\nDT_HOST_BDF=01:00.1\n' >> "$envfile"
fi
initrd=$BUILD/system/nvme-$policy-$id.cpio.gz
SYS_SUITE_KMODS="nvme ext4 crc32c_generic crc32c_intel" sys_initramfs "$id" "$initrd" "$suites/nvme.sh" "$envfile" "${extra[@]}"

echo "system: nvme on $id, $policy apple_dma policy (seed $seed)"
status=0
sys_boot "$id" "nvme-$policy-$id" "$initrd" "$functions" --memory 1G --allow-reboot ||
	status=$?
sys_judge "$SYS_WD/console.log" "nvme-$policy-$id" || status=1
# The second function's server did the BAR2 accesses on its own mapping.
if [ "$policy" = refpolicy ]; then
	n=$(sed -n 's/.*, \([0-9]*\) BAR accesses by the server.*/\1/p' "$SYS_WD/vm/server-1.log" | tail -n 1)
	echo "[nvme-$policy-$id] BAR accesses by the dmatest function's server: ${n:-none}"
	[ "${n:-0}" -gt 0 ] || status=1
fi
# Teardown released every function: no claim, client or mapping left.
if ! awk '$1 ~ /^[0-9a-f][0-9a-f]:/ { n++; if ($2 || $3 || $5) bad = bad " " $1 }
	END { if (bad) print "held after teardown:" bad; exit bad != "" || n != want }' \
	want="$(echo "$functions" | tr ';' '\n' | wc -l)" "$SYS_WD/dext-status.after"; then
	echo "[nvme-$policy-$id] teardown: the dext still holds a function (or lists too few)"
	cat "$SYS_WD/dext-status.after"
	status=1
fi
exit "$status"
