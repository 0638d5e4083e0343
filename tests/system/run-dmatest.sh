#!/usr/bin/env bash
# System test: one guest boot per kernel proves the server (devices, apple-dma
# registers, BAR write filter, MSI-X) and the guest module (DMA integrity, sg
# lists, concurrency, limits, stale-IOVA faults, unload) on dmatest.
# Usage: tests/system/run-dmatest.sh KERNEL-ID [server|all]
# $SYS_TEST_NAME names the run (default dmatest-KERNEL-ID); $SYS_APPLE_DMA_KO
# replaces the tree-built apple_dma.ko (run-dkms.sh).
. "$(dirname "$0")/../../scripts/lib/vm.sh"
suites=$(cd "$(dirname "$0")" && pwd)/suites

id=${1:?usage: run-dmatest.sh KERNEL-ID [server|all]}
part=${2:-all}
name=${SYS_TEST_NAME:-dmatest-$id}
sys_kernel "$id"

limit=512
seed=${VFIO_APPLE_TEST_SEED:-$(( $(date +%s) % 32768 ))}
mkdir -p "$BUILD/system"
envfile=$BUILD/system/$name.env
cat > "$envfile" <<ENV
PT_BDF=00:05.0
DMA_BDF=00:06.0
PT_MANAGED_BDF=40
MAX_ENTRIES=256
MAPPING_LIMIT=$limit
SEED=$seed
SUITE_PART=$part
ENV
initrd=$BUILD/system/$name.cpio.gz
sys_initramfs "$id" "$initrd" "$suites/dmatest.sh" "$envfile"

echo "system: $name on $id (seed $seed)"
status=0
sys_boot "$id" "$name" "$initrd" "dmatest,bdf=01:00.0,max-mappings=$limit" \
	--memory 1G --max-entries 256 || status=$?
sys_judge "$SYS_WD/console.log" "$name" || status=1
exit "$status"
