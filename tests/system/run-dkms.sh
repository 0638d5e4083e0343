#!/usr/bin/env bash
# System test of the apple-dma-dkms package (scripts/build-dkms-deb):
#  1. the package builds and says what it must (architecture all, DKMS tree
#     with dkms.conf and the ABI header);
#  2. installed with dpkg in a throwaway overlay of the provisioned trixie
#     chroot (6.12 headers, dkms), its postinst makes DKMS build and install
#     apple_dma for that kernel; removing it removes the module again;
#  3. that DKMS-built apple_dma.ko passes the dmatest suite in one guest
#     boot (run-dmatest.sh with $SYS_APPLE_DMA_KO).
# Usage: tests/system/run-dkms.sh KERNEL-ID (6.12-x86_64: the chroot's headers)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib/vm.sh"

id=${1:?usage: run-dkms.sh KERNEL-ID}
[ "$id" = 6.12-x86_64 ] || sys_die "dkms: only 6.12-x86_64 has headers and dkms in the chroot"
sys_kernel "$id"
[ -x "$TRIXIE_CHROOT/usr/sbin/dkms" ] || sys_die "dkms missing in the chroot: run scripts/provision kernels"

out=$BUILD/system/dkms-$id
rm -rf "$out" && mkdir -p "$out"
fail() { echo "RESULT dkms-$1 FAIL ${2:-}"; exit 1; }
pass() { echo "RESULT dkms-$1 PASS"; }

# 1. The package.
deb=$("$REPO/scripts/build-dkms-deb" "$out")
field() { dpkg-deb -f "$deb" "$1"; }
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/guest/linux/apple_dma/dkms.conf")
[ "$(field Package)" = apple-dma-dkms ] && [ "$(field Architecture)" = all ] &&
	field Depends | grep -q '^dkms' || fail package "control: $(dpkg-deb -f "$deb")"
contents=$(dpkg-deb -c "$deb")
for f in dkms.conf Kbuild apple_dma_main.c include/vfio-apple/apple-dma-abi.h; do
	grep -q " \./usr/src/apple-dma-$ver/$f\$" <<< "$contents" || fail package "no $f"
done
pass package

# 2. dpkg -i in an overlay of the chroot: the chroot itself stays untouched.
ov=$out/overlay
mkdir -p "$ov/upper" "$ov/work" "$ov/root"
mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
	done
	# Never through a mount that failed to go (a bound /dev above all).
	rm -rf --one-file-system "$ov"
}
trap cleanup EXIT
mount -t overlay overlay -o "lowerdir=$TRIXIE_CHROOT,upperdir=$ov/upper,workdir=$ov/work" "$ov/root"
mounted+=("$ov/root")
mount -t proc proc "$ov/root/proc" && mounted+=("$ov/root/proc")
mount --bind /dev "$ov/root/dev" && mounted+=("$ov/root/dev")
cp "$deb" "$ov/root/tmp/"
in_ov() {
	chroot "$ov/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive "$@"
}
in_ov dpkg -i "/tmp/$(basename "$deb")" > "$out/dpkg-install.log" 2>&1 ||
	{ cat "$out/dpkg-install.log"; fail install "dpkg -i failed"; }
in_ov dkms status > "$out/dkms-status" 2>&1
cat "$out/dkms-status"
grep -q "^apple-dma/$ver, $KVER, x86_64: installed" "$out/dkms-status" ||
	{ cat "$out/dpkg-install.log"; fail install "DKMS did not install apple_dma for $KVER"; }
ko=$(find "$ov/root/lib/modules/$KVER/updates" -name 'apple_dma.ko*' | head -n1)
[ -n "$ko" ] || fail install "no apple_dma.ko under /lib/modules/$KVER/updates"
case $ko in
*.xz) xz -dc "$ko" > "$out/apple_dma.ko" ;;
*.zst) zstd -dcq "$ko" > "$out/apple_dma.ko" ;;
*) cp "$ko" "$out/apple_dma.ko" ;;
esac
vm=$(strings "$out/apple_dma.ko" | sed -n 's/^vermagic=//p' | head -n1)
[ "${vm%% *}" = "$KVER" ] || fail install "vermagic '$vm' is not $KVER"
pass install
in_ov dpkg --purge apple-dma-dkms > "$out/dpkg-purge.log" 2>&1 ||
	{ cat "$out/dpkg-purge.log"; fail remove "dpkg --purge failed"; }
[ -z "$(in_ov dkms status 2>&1)" ] && [ ! -e "$ko" ] && [ ! -e "$ov/root/usr/src/apple-dma-$ver" ] ||
	fail remove "module or sources left behind"
pass remove
cleanup
trap - EXIT

# 3. The DKMS-built module under the dmatest suite.
SYS_APPLE_DMA_KO=$out/apple_dma.ko SYS_TEST_NAME=dkms-dmatest-$id exec "$here/run-dmatest.sh" "$id"
