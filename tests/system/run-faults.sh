#!/usr/bin/env bash
# Fault tests: kill dextd during I/O, restart it and run again, kill the
# server, kill QEMU; after each the platform must have released every
# mapping and claim, and nothing may hang.
# Usage: tests/system/run-faults.sh KERNEL-ID
. "$(dirname "$0")/../../scripts/lib/vm.sh"
suites=$(cd "$(dirname "$0")" && pwd)/suites

id=${1:?usage: run-faults.sh KERNEL-ID}
sys_kernel "$id"
mkdir -p "$BUILD/system"
status=0
host_fail() { echo "[faults-$id] RESULT $1 FAIL $2"; status=1; }
host_pass() { echo "[faults-$id] RESULT $1 PASS"; }

# boot FAULT NAME FUNCTION-SPEC [launcher args...]
boot() {
	local fault=$1 name=$2 fspec=$3; shift 3
	local envfile=$BUILD/system/faults-$fault-$id.env initrd=$BUILD/system/faults-$fault-$id.cpio.gz
	# Short NVMe timeouts so a dead controller is noticed in seconds.
	printf 'FAULT=%s\nKMOD_ARGS_nvme_core="io_timeout=5 admin_timeout=5"\n' "$fault" > "$envfile"
	SYS_SUITE_KMODS=nvme sys_initramfs "$id" "$initrd" "$suites/faults.sh" "$envfile"
	sys_boot "$id" "$name" "$initrd" "$fspec" --memory 512M "$@" || true
	sys_judge "$SYS_WD/console.log" "faults-$fault-$id" || status=1
}

# 1. dextd dies during I/O.
boot dextd "faults-dextd-$id" "nvme,bdf=01:00.0,size=64M"
if grep -q "lost: the dext stopped answering" "$SYS_WD/vm/server.log"; then
	host_pass server_reports_device_lost
else
	host_fail server_reports_device_lost "no 'lost' line in the server's log"
fi

cp "$SYS_WD/console.log" "$SYS_WD/console-dextd-killed.log"
cp "$SYS_WD/vm/server.log" "$SYS_WD/server-dextd-killed.log"

# 2. A new dextd on the same socket path (the dead one's file is still there).
SYS_KEEP_WD=1 boot none "faults-dextd-$id" "nvme,bdf=01:00.0,size=64M"

# 3. dextd stops answering under a doorbell, then the server dies: checked in
# the guest through the host's answers; QEMU reports the server's death.
# The server's defaults (30 s call timeout, 3 s request budget): the budget ends it.
boot server "faults-server-$id" "dmatest,bdf=01:00.0"
if grep -q "dext session ended" "$SYS_WD/vm/server.log"; then
	host_pass server_ends_session_on_loss
else
	host_fail server_ends_session_on_loss "no 'dext session ended' line in the server's log"
fi
if grep -q "did not finish a passthrough request within the 3000 ms budget" "$SYS_WD/vm/server.log"; then
	host_pass server_request_budget
else
	host_fail server_request_budget "no request-budget line in the server's log"
fi
if grep -qi "vfio-user\|vfio" "$SYS_WD/vm/qemu.log"; then
	host_pass qemu_reports_server_loss
else
	host_fail qemu_reports_server_loss "QEMU logged nothing about the lost server"
fi

# 4. QEMU dies holding mappings: the server ends and dextd releases everything.
boot qemu "faults-qemu-$id" "dmatest,bdf=01:00.0"
before=$(cat "$SYS_WD/status.before-kill" 2>/dev/null || true)
after=$(cat "$SYS_WD/dext-status.kv")
echo "[faults-qemu-$id] before kill: $before"
echo "[faults-qemu-$id] after: $after"
kv() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
[ "$(kv mappings "$before")" -gt 0 ] 2>/dev/null && host_pass qemu_kill_had_mappings ||
	host_fail qemu_kill_had_mappings "before: $before"
[ "$(kv mappings "$after")" = 0 ] && [ "$(kv claims "$after")" = 0 ] &&
	[ "$(kv clients "$after")" = 0 ] && host_pass qemu_kill_released_all ||
	host_fail qemu_kill_released_all "after: $after"
if grep -q "QEMU disconnected" "$SYS_WD/vm/server.log"; then
	host_pass server_ends_with_qemu
else
	host_fail server_ends_with_qemu "the server did not notice QEMU's death by itself"
fi
exit "$status"
