# Booting guests for the system tests and the main job (bash): build guest
# modules and an initramfs for a kernel, boot it with the vfio-apple
# launcher against a dextd this script owns, answer the guest's host queries
# ("hostq" in guest/initramfs/lib.sh), and judge the RESULT lines a guest
# suite prints.
#
# Kernel ids: 6.1-x86_64, 6.12-x86_64 (arm64 ids when provisioned).

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GUEST_FS=$REPO/guest/initramfs
BUILD=${VFIO_APPLE_BUILD:-$REPO/build}
CACHE=${VFIO_APPLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfio-apple}
[ -f "$CACHE/env.sh" ] || { echo "system: not provisioned (run scripts/provision)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$CACHE/env.sh"

DEXTD=$BUILD/dextd/dextd
SERVER=$BUILD/server/vfio-apple-server
DEXT_CLI=$BUILD/tools/vfio-apple-dext
VM_TIMEOUT=${VFIO_APPLE_VM_TIMEOUT:-900}

sys_die() { echo "system: $*" >&2; exit 1; }

# Kernel id -> variables: KVER, KERNEL, KMODS (module tree), QARCH, MARCH.
sys_kernel() {
	local id=$1 v
	case $id in
	6.1-x86_64) v=6_1_X86_64; QARCH=x86_64; MARCH=x86_64 ;;
	6.12-x86_64) v=6_12_X86_64; QARCH=x86_64; MARCH=x86_64 ;;
	6.1-arm64) v=6_1_ARM64; QARCH=aarch64; MARCH=arm64 ;;
	6.12-arm64) v=6_12_ARM64; QARCH=aarch64; MARCH=arm64 ;;
	*) sys_die "unknown kernel id $id" ;;
	esac
	KVER=$(eval echo "\${GUEST_KVER_$v:-}")
	KERNEL=$(eval echo "\${GUEST_KERNEL_$v:-}")
	KMODS=$(eval echo "\${GUEST_MODULES_$v:-}")
	[ -n "$KERNEL" ] && [ -r "$KERNEL" ] || sys_die "kernel $id not provisioned"
}

# Builds apple_dma and dmatest_guest for kernel id into $BUILD/guest/<id>/.
sys_modules() {
	local id=$1 out=$BUILD/guest/$1
	mkdir -p "$out"
	for m in apple_dma dmatest_guest; do
		"$REPO/scripts/build-guest-module" "$id" "$REPO/guest/linux/$m" "$out" >"$out/$m.build.log" 2>&1 ||
			{ cat "$out/$m.build.log" >&2; sys_die "building $m for $id failed"; }
	done
	echo "$out"
}

# Kernel modules the guest needs before the suite (virtio console for the
# host-query port), in load order; only those the kernel builds as modules.
sys_boot_modules() {
	local m f
	for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console; do
		f=$(find "$KMODS" -name "$m.ko*" | head -n 1)
		[ -n "$f" ] && echo "$f"
	done
	return 0
}

# sys_initramfs ID OUT SUITE ENVFILE [extra mkinitramfs args...]
sys_initramfs() {
	local id=$1 out=$2 suite=$3 envfile=$4; shift 4
	local mods stage=$BUILD/guest/$id/boot-modules
	mods=$(sys_modules "$id")
	rm -rf "$stage" && mkdir -p "$stage"
	: > "$stage/order"
	for f in $(sys_boot_modules); do
		case $f in
		*.xz) xz -dc "$f" > "$stage/$(basename "${f%.xz}")" ;;
		*) cp "$f" "$stage/" ;;
		esac
		basename "${f%.xz}" >> "$stage/order"
	done
	local files=()
	for f in "$stage"/*; do files+=(--file "$f:/lib/modules/boot/"); done
	"$REPO/scripts/mkinitramfs" --arch "$MARCH" --out "$out" --init "$GUEST_FS/init" \
		--file "$GUEST_FS/lib.sh:/lib.sh" --file "$suite:/suite.sh" \
		--file "$envfile:/suite.env" \
		--file "$mods/apple_dma.ko:/lib/modules/" --file "$mods/dmatest_guest.ko:/lib/modules/" \
		"${files[@]}" "$@" >/dev/null
}

# Answers the guest's host queries: "Q <id> status" -> the dext's view of
# the passthrough function. Runs until the pipe closes.
sys_hostq_responder() {
	local wd=$1 sock=$2 bdf=$3 tag id q rest row
	while read -r tag id q rest; do
		[ "$tag" = Q ] || continue
		case $q in
		status)
			row=$("$DEXT_CLI" --socket "$sock" status | awk -v b="$bdf" '$1 == b')
			# BDF claims clients vectors mappings bytes peak-maps peak-bytes faults irqs resets bar-writes
			set -- $row
			echo "A $id claims=$2 clients=$3 vectors=$4 mappings=$5 bytes=$6 peak_mappings=$7 peak_bytes=$8 faults=$9 irqs=${10} resets=${11} bar_writes=${12}"
			;;
		*) echo "A $id error=unknown-query" ;;
		esac
	done < "$wd/hostq.out" > "$wd/hostq.in"
}

# sys_boot ID NAME INITRD FUNCTION-SPEC [launcher args...]
# Boots the guest; console in $SYS_WD/console.log. Sets SYS_WD.
sys_boot() {
	local id=$1 name=$2 initrd=$3 fspec=$4; shift 4
	SYS_WD=$BUILD/system/$name
	rm -rf "$SYS_WD" && mkdir -p "$SYS_WD"
	local sock=$SYS_WD/dextd.sock fifo=$SYS_WD/dextd.ready line status=0
	mkfifo "$fifo"
	"$DEXTD" --socket "$sock" --function "$fspec" --ready-fd 3 3>"$fifo" 2>"$SYS_WD/dextd.log" &
	local dextd_pid=$!
	read -r line < "$fifo" || true
	[ "$line" = READY ] || { cat "$SYS_WD/dextd.log" >&2; sys_die "dextd did not start"; }

	mkfifo "$SYS_WD/hostq.in" "$SYS_WD/hostq.out"
	local bdf
	bdf=$(echo "$fspec" | sed -n 's/.*bdf=\([0-9a-f:.]*\).*/\1/p')
	sys_hostq_responder "$SYS_WD" "$sock" "$bdf" &
	local responder=$!

	timeout "$VM_TIMEOUT" "$REPO/tools/vfio-apple" run --arch "$QARCH" --kernel "$KERNEL" \
		--initrd "$initrd" --dext-socket "$sock" --host-bdf "$bdf" \
		--server "$SERVER" --console "$SYS_WD/console.log" --workdir "$SYS_WD/vm" --keep-workdir \
		"$@" -- \
		-device virtio-serial-pci,addr=0x10 \
		-chardev "pipe,id=hostq,path=$SYS_WD/hostq" \
		-device virtserialport,chardev=hostq,name=hostq || status=$?

	kill "$responder" 2>/dev/null || true
	wait "$responder" 2>/dev/null || true
	"$DEXT_CLI" --socket "$sock" status > "$SYS_WD/dext-status.after" 2>&1 || true
	kill "$dextd_pid" 2>/dev/null || true
	wait "$dextd_pid" 2>/dev/null || true
	return "$status"
}

# Prints the RESULT lines and a summary; fails unless the suite ended and
# every result passed.
sys_judge() {
	local console=$1 name=$2 pass fail
	grep -a '^RESULT ' "$console" | sed "s/^/[$name] /" || true
	pass=$(grep -ac '^RESULT [^ ]* PASS' "$console" || true)
	fail=$(grep -ac '^RESULT [^ ]* FAIL' "$console" || true)
	if ! grep -aq '^SUITE-END' "$console"; then
		echo "[$name] the guest suite did not finish; console tail:" >&2
		tail -n 40 "$console" >&2
		return 1
	fi
	echo "[$name] $pass passed, $fail failed"
	[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
}
