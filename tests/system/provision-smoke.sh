#!/bin/bash
# Smoke test of what scripts/provision set up: for each guest kernel, build the
# hello fixture module with scripts/build-guest-module, pack it with
# scripts/mkinitramfs, boot the kernel under the provisioned QEMU (TCG), load
# the module and check the console (x86_64: the static fio runs too). Each
# kernel boots twice: plain, and with the shared memfd RAM backend vfio-user needs.
#
# Usage: tests/system/provision-smoke.sh [KERNEL_ID...]
#   default: 6.1-x86_64 6.12-x86_64, plus 6.1-arm64 6.12-arm64 when the
#   arm64 target was provisioned. Exits non-zero and says what failed.
# Environment: QEMU_ACCEL (default tcg), SMOKE_TIMEOUT (s per boot, default 180).
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${VFIO_APPLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfio-apple}
ACCEL=${QEMU_ACCEL:-tcg}
TIMEOUT=${SMOKE_TIMEOUT:-180}
MARKER=VFIO_APPLE_SMOKE_OK

[[ -r $CACHE/env.sh ]] || { echo "FAIL: $CACHE/env.sh missing: run scripts/provision" >&2; exit 1; }
# shellcheck disable=SC1091
source "$CACHE/env.sh"

if [[ $# -gt 0 ]]; then
    IDS=("$@")
else
    IDS=(6.1-x86_64 6.12-x86_64)
    [[ -n ${VFIO_APPLE_QEMU_AARCH64:-} && -n ${GUEST_KVER_6_1_ARM64:-} ]] && IDS+=(6.1-arm64)
    [[ -n ${VFIO_APPLE_QEMU_AARCH64:-} && -n ${GUEST_KVER_6_12_ARM64:-} ]] && IDS+=(6.12-arm64)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/provision-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
FAILURES=()
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); echo "FAIL: $1" >&2; }
pass() { PASSED=$((PASSED + 1)); echo "ok: $1"; }

# The guest side: load hello.ko, report, power off.
cat > "$WORK/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "smoke: uname -r = \$(uname -r)"
if insmod /lib/modules/hello.ko; then
    echo "smoke: insmod ok"
else
    echo "smoke: insmod failed"
fi
dmesg | grep -iE 'hello|unknown symbol|invalid module format|disagrees about version'
grep -q '^hello ' /proc/modules && echo "$MARKER \$(uname -r)"
# The static fio (x86_64, when provisioned) must run in the guest.
[ -x /bin/fio ] && echo "smoke: fio \$(/bin/fio --version)"
poweroff -f
EOF

# qemu_args ID: the machine for that kernel id.
qemu_for() {
    case $1 in
        *-x86_64) echo "${VFIO_APPLE_QEMU_X86_64:?}" ;;
        *-arm64) echo "${VFIO_APPLE_QEMU_AARCH64:?}" ;;
    esac
}

# boot ID NAME MEMFD(0|1): boot kernel ID with its initramfs, check the log.
boot() {
    local id=$1 name=$2 memfd=$3 log=$WORK/$2.log
    local kv=${id%-*} arch=${id#*-}
    local sfx=${kv//./_}_${arch^^}
    local kernel_var=GUEST_KERNEL_$sfx kver_var=GUEST_KVER_$sfx
    local kernel=${!kernel_var:-} kver=${!kver_var:-}
    local qemu
    qemu=$(qemu_for "$id")
    local args=(-accel "$ACCEL" -cpu max -m 512M -smp 2 -nographic -no-reboot -nic none
                -kernel "$kernel" -initrd "$WORK/$id.cpio.gz")
    local machine console
    case $arch in
        x86_64) machine=q35; console=ttyS0 ;;
        arm64) machine=virt; console=ttyAMA0 ;;
    esac
    if [[ $memfd == 1 ]]; then
        # shellcheck disable=SC2054  # the commas are QEMU's
        args+=(-object memory-backend-memfd,id=mem,size=512M,share=on -machine "$machine,memory-backend=mem")
    else
        args+=(-machine "$machine")
    fi
    args+=(-append "console=$console panic=-1 quiet")
    local t0=$SECONDS rc=0
    timeout "$TIMEOUT" "$qemu" "${args[@]}" < /dev/null > "$log" 2>&1 || rc=$?
    local dt=$((SECONDS - t0))
    if [[ $rc == 124 ]]; then
        fail "$name: QEMU timed out after ${TIMEOUT}s (log tail below)"; tail -n 20 "$log" >&2; return
    fi
    if [[ $rc != 0 ]]; then
        fail "$name: QEMU exited $rc (log tail below)"; tail -n 20 "$log" >&2; return
    fi
    if grep -qiE 'unknown symbol|invalid module format|disagrees about version' "$log"; then
        fail "$name: module load errors:"; grep -iE 'unknown symbol|invalid module format|disagrees' "$log" >&2; return
    fi
    if ! grep -q "^$MARKER $kver" "$log"; then
        fail "$name: no '$MARKER $kver' line on the console (log tail below)"; tail -n 20 "$log" >&2; return
    fi
    if [[ $arch == x86_64 && -n ${FIO_X86_64:-} ]] && ! grep -q '^smoke: fio fio-' "$log"; then
        fail "$name: the static fio did not run in the guest (log tail below)"; tail -n 20 "$log" >&2; return
    fi
    pass "$name: booted $kver, hello.ko loaded (${dt}s)"
}

for id in "${IDS[@]}"; do
    echo "== $id"
    if ! "$REPO/scripts/build-guest-module" "$id" "$REPO/tests/fixtures/hello-module" "$WORK/$id" \
            > "$WORK/$id-build.log" 2>&1; then
        fail "$id: build-guest-module failed"; tail -n 20 "$WORK/$id-build.log" >&2; continue
    fi
    pass "$id: hello.ko built"
    extra=()
    [[ $id == *-x86_64 && -n ${FIO_X86_64:-} ]] && extra=(--file "$FIO_X86_64:/bin/fio")
    if ! "$REPO/scripts/mkinitramfs" --arch "${id#*-}" --out "$WORK/$id.cpio.gz" \
            --init "$WORK/init" --module "$WORK/$id/hello.ko" "${extra[@]}" > "$WORK/$id-initramfs.log" 2>&1; then
        fail "$id: mkinitramfs failed"; cat "$WORK/$id-initramfs.log" >&2; continue
    fi
    boot "$id" "$id" 0
    # vfio-user needs guest RAM in a shared memfd; check QEMU takes it.
    boot "$id" "$id+memfd" 1
done

echo
for f in "${FAILURES[@]}"; do echo "failed: $f"; done
echo "$PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
