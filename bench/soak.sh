#!/usr/bin/env bash
# Soak: a verified NVMe workload through the whole stack for a while, then
# zero data errors and live mappings back to the baseline. Not part of the
# test suite (it takes as long as you ask).
# Usage: bench/soak.sh [--seconds N] [--kernel ID]
set -euo pipefail
seconds=600 kernel=6.12-x86_64
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	-h|--help)
		echo "Usage: bench/soak.sh [--seconds N (default 600)] [--kernel 6.12-x86_64|6.1-x86_64|6.12-arm64|6.1-arm64]"
		echo "Runs a verified fio (x86_64) or dd workload on the passed-through NVMe for N seconds."
		exit 0 ;;
	*) echo "soak.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
. "$(dirname "$0")/../scripts/lib/vm.sh"
sys_kernel "$kernel"
mkdir -p "$BUILD/system"
envfile=$BUILD/system/soak.env
echo "SOAK_SECONDS=$seconds" > "$envfile"
extra=()
[ "$MARCH" = x86_64 ] && [ -x "${FIO_X86_64:-}" ] && extra+=(--file "$FIO_X86_64:/bin/fio")
initrd=$BUILD/system/soak-$kernel.cpio.gz
SYS_SUITE_KMODS=nvme sys_initramfs "$kernel" "$initrd" "$(dirname "$0")/guest/soak.sh" "$envfile" \
	"${extra[@]}"
echo "soak: $seconds s on $kernel"
VM_TIMEOUT=$((seconds + 600)) sys_boot "$kernel" soak "$initrd" "nvme,bdf=01:00.0,size=256M" \
	--memory 1G || true
grep -a '^SOAK' "$SYS_WD/console.log"
grep -aq '^SOAK-OK' "$SYS_WD/console.log"
