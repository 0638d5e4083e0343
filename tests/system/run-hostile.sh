#!/usr/bin/env bash
# System test: a hostile guest (hostile_guest.ko bound to apple-dma-pci,
# apple_dma not loaded) submits malformed batches; each must get the status
# lib/apple-dma/batch.h documents, with no write outside the allowed areas,
# no mapping left behind and the host still serving afterwards.
# Usage: tests/system/run-hostile.sh KERNEL-ID
. "$(dirname "$0")/../../scripts/lib/vm.sh"
suites=$(cd "$(dirname "$0")" && pwd)/suites

id=${1:?usage: run-hostile.sh KERNEL-ID}
sys_kernel "$id"

mods=$BUILD/guest/$id
mkdir -p "$mods" "$BUILD/system"
"$REPO/scripts/build-guest-module" "$id" "$REPO/guest/linux/hostile_guest" "$mods" \
	>"$mods/hostile_guest.build.log" 2>&1 ||
	{ cat "$mods/hostile_guest.build.log" >&2; sys_die "building hostile_guest for $id failed"; }

# 1 GiB of guest RAM, one range: [0, 1G) on q35, [1G, 2G) on virt.
# ROM_GPA: read-only guest RAM QEMU shares (q35's BIOS area); none on virt.
case $QARCH in
x86_64) ram_end=0x40000000 rom_gpa=0xf0000 ;;
*) ram_end=0x80000000 rom_gpa= ;;
esac
envfile=$BUILD/system/hostile-$id.env
cat > "$envfile" <<ENV
DMA_BDF=00:06.0
MAX_ENTRIES=256
RAM_END=$ram_end
ROM_GPA=$rom_gpa
ENV
initrd=$BUILD/system/hostile-$id.cpio.gz
sys_initramfs "$id" "$initrd" "$suites/hostile.sh" "$envfile" \
	--file "$mods/hostile_guest.ko:/lib/modules/"

echo "system: hostile guest on $id"
status=0
sys_boot "$id" "hostile-$id" "$initrd" "dmatest,bdf=01:00.0" \
	--memory 1G --max-entries 256 || status=$?
sys_judge "$SYS_WD/console.log" "hostile-$id" || status=1
# The *_rom cases mean something only if the server holds ROM_GPA as
# read-only guest RAM it can reach (QEMU shared it with an fd): the server
# before it honoured protections died at cmd_rom (SIGSEGV, QEMU with it).
rom_in_read_only_ram() {
	local lo len
	while read -r lo len; do
		[ $((rom_gpa)) -ge $((lo)) ] && [ $((rom_gpa)) -lt $((lo + len)) ] && return 0
	done < <(grep 'guest RAM \[.*read-only' "$SYS_WD/vm/server.log" | grep -v 'no fd' |
		sed -n 's/.*guest RAM \[\(0x[0-9a-f]*\), +\(0x[0-9a-f]*\)).*/\1 \2/p')
	return 1
}
if [ -n "$rom_gpa" ]; then
	if rom_in_read_only_ram; then
		echo "[hostile-$id] RESULT rom_gpa_is_read_only_ram PASS"
	else
		echo "[hostile-$id] RESULT rom_gpa_is_read_only_ram FAIL (no read-only region holds $rom_gpa)"
		status=1
	fi
fi
exit "$status"
