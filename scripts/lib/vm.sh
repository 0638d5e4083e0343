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

# The "depends=" of a module's .modinfo (no kmod needed on the host).
_sys_kmod_depends() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -dcq "$1" ;;
	*) cat "$1" ;;
	esac | tr '\0' '\n' | sed -n 's/^depends=//p'
}

# sys_kmods NAME... : the kernel's modules for NAMEs with their
# dependencies, in load order; built-in ones are skipped.
sys_kmods() {
	local index name
	declare -A seen=()
	index=$(find "$KMODS" -name '*.ko*')
	_sys_kmod_visit() {
		local n=${1//-/_} f dep
		[ -n "${seen[$n]:-}" ] && return 0
		seen[$n]=1
		f=$(awk -v n="$n" '{ b = $0; sub(/.*\//, "", b); sub(/\.ko.*/, "", b); gsub(/-/, "_", b); if (b == n && !done) { print; done = 1 } }' <<< "$index")
		[ -n "$f" ] || return 0
		for dep in $(_sys_kmod_depends "$f" | tr ',' ' '); do
			_sys_kmod_visit "$dep"
		done
		echo "$f"
	}
	for name in "$@"; do
		_sys_kmod_visit "$name"
	done
}

# Kernel modules every test guest loads first: the virtio console behind the
# host-query port (built into some kernels, modules in others).
sys_boot_modules() {
	sys_kmods virtio_pci virtio_console
}

# Copies modules (decompressed: busybox insmod cannot) into DIR with an
# "order" file listing them in load order.
_sys_stage_kmods() {
	local dir=$1 f; shift
	rm -rf "$dir" && mkdir -p "$dir"
	: > "$dir/order"
	for f in "$@"; do
		case $f in
		*.xz) xz -dc "$f" > "$dir/$(basename "${f%.xz}")" ;;
		*) cp "$f" "$dir/" ;;
		esac
		basename "${f%.xz}" >> "$dir/order"
	done
}

# sys_initramfs ID OUT SUITE ENVFILE [extra mkinitramfs args...]
# The guest gets /lib/modules/boot (loaded by /init), /lib/modules/suite
# (the kernel modules named in $SYS_SUITE_KMODS, with dependencies, for the
# suite to load when it wants: load_suite_modules), our modules in
# /lib/modules (apple_dma.ko from $SYS_APPLE_DMA_KO if set, e.g. one that
# DKMS built), /lib.sh, /suite.sh and /suite.env.
sys_initramfs() {
	local id=$1 out=$2 suite=$3 envfile=$4; shift 4
	local mods boot=$BUILD/guest/$id/boot-modules extra=$BUILD/guest/$id/suite-modules f
	mods=$(sys_modules "$id")
	# shellcheck disable=SC2046
	_sys_stage_kmods "$boot" $(sys_boot_modules)
	# shellcheck disable=SC2046,SC2086
	_sys_stage_kmods "$extra" $(sys_kmods ${SYS_SUITE_KMODS:-})
	local files=()
	for f in "$boot"/*; do files+=(--file "$f:/lib/modules/boot/"); done
	for f in "$extra"/*; do files+=(--file "$f:/lib/modules/suite/"); done
	"$REPO/scripts/mkinitramfs" --arch "$MARCH" --out "$out" --init "$GUEST_FS/init" \
		--file "$GUEST_FS/lib.sh:/lib.sh" --file "$suite:/suite.sh" \
		--file "$envfile:/suite.env" \
		--file "${SYS_APPLE_DMA_KO:-$mods/apple_dma.ko}:/lib/modules/apple_dma.ko" \
		--file "$mods/dmatest_guest.ko:/lib/modules/" \
		"${files[@]}" "$@" >/dev/null
}

# The dext's view of the function at bdf as "key=value ..." (empty if dextd is gone).
sys_dext_status() {
	local sock=$1 bdf=$2 row
	row=$("$DEXT_CLI" --socket "$sock" status 2>/dev/null | awk -v b="$bdf" '$1 == b') || true
	[ -n "$row" ] || return 0
	# BDF claims clients vectors mappings bytes peak-maps peak-bytes faults irqs resets bar-writes off-16k
	set -- $row
	echo "claims=$2 clients=$3 vectors=$4 mappings=$5 bytes=$6 peak_mappings=$7 peak_bytes=$8 faults=$9 irqs=${10} resets=${11} bar_writes=${12} offset_mismatch=${13}"
}

# Waits (bounded) until process pid has exited; it is not our child, so an
# exited one may linger as a zombie until its parent reaps it.
_sys_running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat")" != Z ]; }
_sys_wait_gone() {
	local pid=$1 i=0
	while _sys_running "$pid" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	! _sys_running "$pid"
}

# Waits (bounded: 15 s) until the dext's view of bdf shows no claim and no mapping.
_sys_wait_released() {
	local sock=$1 bdf=$2 i=0 st
	while [ $i -lt 150 ]; do
		st=$(sys_dext_status "$sock" "$bdf")
		case " $st " in *" claims=0 "*" mappings=0 "*) return 0 ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# SIGUSR1 makes the server log its counters; waits (bounded: 10 s) for that line.
_sys_server_stats() {
	local wd=$1 log=$1/vm/server.log n0 i=0 line
	n0=$(grep -c 'apple-dma: batches' "$log" || true)
	kill -USR1 "$(cat "$wd/vm/server.pid")"
	while [ "$(grep -c 'apple-dma: batches' "$log" || true)" -le "$n0" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	line=$(grep 'apple-dma: batches' "$log" | tail -n 1)
	echo "inval=$(echo "$line" | sed -n 's/.*inval \([0-9]*\)).*/\1/p')" \
		"bad_accesses=$(echo "$line" | sed -n 's/.*bad accesses \([0-9]*\).*/\1/p')" \
		"lines=$(wc -l < "$log")"
}

# Answers the guest's host queries, one line "Q <id> <query>" each, until the
# pipe closes:
#   status [BDF] the dext's view of the passthrough function (or of BDF)
#   boot         counts the guest's boots (guards against reboot loops)
#   faults       the function's most recent DART faults
#   kill-dextd   SIGKILL dextd (fault tests)
#   kill-server  SIGKILL the server, wait for it, then the dext's view
#   kill-qemu    SIGKILL QEMU after saving the dext's view to status.before-kill
#   server-log   lines=N: the server's log length
#   server-stats the server's counters (SIGUSR1): inval=N bad_accesses=N lines=N
#   stop-dextd   SIGSTOP dextd: it stops answering, but its sessions stay open
#   cont-dextd   SIGCONT dextd, then the dext's view once it holds no claim
#                and no mapping (or after 15 s)
sys_hostq_responder() {
	local wd=$1 sock=$2 bdf=$3 dextd_pid=$4 tag id q rest boots pid
	while read -r tag id q rest; do
		[ "$tag" = Q ] || continue
		case $q in
		status)
			echo "A $id $(sys_dext_status "$sock" "${rest:-$bdf}")"
			;;
		kill-dextd)
			kill -9 "$dextd_pid"
			echo "A $id killed=dextd"
			;;
		kill-server)
			pid=$(cat "$wd/vm/server.pid")
			kill -9 "$pid"
			_sys_wait_gone "$pid" || true
			echo "A $id $(sys_dext_status "$sock" "$bdf")"
			;;
		server-log)
			echo "A $id lines=$(wc -l < "$wd/vm/server.log")"
			;;
		server-stats)
			echo "A $id $(_sys_server_stats "$wd")"
			;;
		stop-dextd)
			kill -STOP "$dextd_pid"
			echo "A $id stopped=dextd"
			;;
		cont-dextd)
			kill -CONT "$dextd_pid"
			_sys_wait_released "$sock" "$bdf" || true
			echo "A $id $(sys_dext_status "$sock" "$bdf")"
			;;
		kill-qemu)
			sys_dext_status "$sock" "$bdf" > "$wd/status.before-kill"
			echo "A $id killing=qemu"
			kill -9 "$(cat "$wd/vm/qemu.pid")"
			;;
		boot)
			boots=$(( $(cat "$wd/boots" 2>/dev/null || echo 0) + 1 ))
			echo "$boots" > "$wd/boots"
			echo "A $id boots=$boots"
			;;
		faults)
			echo "A $id $("$DEXT_CLI" --socket "$sock" faults 4 | awk -v b="$bdf" '$1 == b { printf "%s:%s ", $3, $4 }')"
			;;
		*) echo "A $id error=unknown-query" ;;
		esac
	done < "$wd/hostq.out" > "$wd/hostq.in"
}

# sys_boot ID NAME INITRD FUNCTION-SPEC[;FUNCTION-SPEC...] [launcher args...]
# Boots the guest with each function passed through (the first is the one
# "status" reports); console in $SYS_WD/console.log. Sets SYS_WD. With
# SYS_KEEP_WD=1 the directory of an earlier boot of that name (and a stale
# dextd socket in it) is kept.
sys_boot() {
	local id=$1 name=$2 initrd=$3 fspec=$4; shift 4
	SYS_WD=$BUILD/system/$name
	[ "${SYS_KEEP_WD:-0}" = 1 ] || rm -rf "$SYS_WD"
	mkdir -p "$SYS_WD"
	rm -f "$SYS_WD/dextd.ready" "$SYS_WD/hostq.in" "$SYS_WD/hostq.out" "$SYS_WD/boots"
	rm -rf "$SYS_WD/vm"
	local sock=$SYS_WD/dextd.sock fifo=$SYS_WD/dextd.ready line status=0 spec
	local -a dargs=() largs=() fspecs=()
	IFS=';' read -r -a fspecs <<< "$fspec"
	for spec in "${fspecs[@]}"; do
		# dextd takes the spec; the launcher its bdf= and bars= (dextd has no bars=).
		largs+=(--function "bdf=$(echo "$spec" | sed -n 's/.*bdf=\([0-9a-f:.]*\).*/\1/p')$(echo "$spec" | sed -n 's/.*\(,bars=[a-z]*\).*/\1/p')")
		dargs+=(--function "$(echo "$spec" | sed 's/,bars=[a-z]*//')")
	done
	mkfifo "$fifo"
	"$DEXTD" --socket "$sock" "${dargs[@]}" --ready-fd 3 3>"$fifo" 2>"$SYS_WD/dextd.log" &
	local dextd_pid=$!
	read -r line < "$fifo" || true
	[ "$line" = READY ] || { cat "$SYS_WD/dextd.log" >&2; sys_die "dextd did not start"; }

	mkfifo "$SYS_WD/hostq.in" "$SYS_WD/hostq.out"
	local bdf
	bdf=$(echo "${fspecs[0]}" | sed -n 's/.*bdf=\([0-9a-f:.]*\).*/\1/p')
	sys_hostq_responder "$SYS_WD" "$sock" "$bdf" "$dextd_pid" &
	local responder=$!

	timeout "$VM_TIMEOUT" "$REPO/tools/vfio-apple" run --arch "$QARCH" --kernel "$KERNEL" \
		--initrd "$initrd" --dext-socket "$sock" "${largs[@]}" \
		--server "$SERVER" --console "$SYS_WD/console.log" --workdir "$SYS_WD/vm" --keep-workdir \
		"$@" -- \
		-device virtio-serial-pci,addr=0x10 \
		-chardev "pipe,id=hostq,path=$SYS_WD/hostq" \
		-device virtserialport,chardev=hostq,name=hostq || status=$?

	kill "$responder" 2>/dev/null || true
	wait "$responder" 2>/dev/null || true
	kill -CONT "$dextd_pid" 2>/dev/null || true	# a suite may have stopped it
	sys_dext_status "$sock" "$bdf" > "$SYS_WD/dext-status.kv"
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
	# Every registration of the run, on every function, was congruent to its
	# GPA modulo 16 KiB, as on a Mac (server/ram-alias.h); dextd counts the
	# ones that were not (the last column of its status table).
	local mismatch
	mismatch=$(awk '$1 ~ /^[0-9a-f][0-9a-f]:/ { n += $13; seen = 1 } END { if (seen) print n }' \
		"$(dirname "$console")/dext-status.after" 2>/dev/null)
	if [ -n "$mismatch" ]; then
		echo "[$name] registrations not 16 KiB-congruent to their GPA: $mismatch"
		[ "$mismatch" = 0 ] || fail=$((fail + 1))
	fi
	[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
}
