#!/usr/bin/env bash
# The launcher's function list: clashes are clear errors, before anything
# starts. Usage: test-launcher-args.sh PATH-TO-tools/vfio-apple
set -u
launcher=${1:?usage: test-launcher-args.sh LAUNCHER}
fails=0

# The whole script parses (bash reads it command by command, so an error
# late in it would otherwise only show when a VM is started).
bash -n "$launcher" || { echo "FAIL the launcher does not parse"; exit 1; }

# expect NAME PATTERN ARGS...: the launcher exits 2 and says PATTERN.
expect() {
	local name=$1 pattern=$2 out st
	shift 2
	out=$("$launcher" run --kernel /dev/null --qemu /bin/false --server /bin/false \
		--dextd /bin/false "$@" 2>&1)
	st=$?
	if [ "$st" = 2 ] && grep -q -- "$pattern" <<< "$out"; then
		echo "ok $name"
	else
		echo "FAIL $name (status $st): $out"
		fails=$((fails + 1))
	fi
}

expect host_twice "host function 01:00.0 is already passed through" \
	--function nvme,bdf=01:00.0 --function dmatest,bdf=01:00.0
expect host_twice_default "host function 01:00.0 is already passed through" \
	--function nvme --function dmatest
expect companion_slot_taken "guest slot 00:06.0 is already taken by 01:00.0" \
	--function nvme,bdf=01:00.0,guest=00:05.0 --function dmatest,bdf=01:00.1,guest=00:06.0
expect device_slot_taken "guest slot 00:05.0 is already taken by 01:00.0" \
	--function nvme,bdf=01:00.0,guest=00:04.0 --function dmatest,bdf=01:00.1,guest=00:05.0
expect slot_range "guest slot must be 01..1e" --function nvme,bdf=01:00.0,guest=00:1f.0
expect bad_bdf "bdf must be BB:DD.F" --function nvme,bdf=1:0.0
expect bad_guest "guest= must be 00:DD.0" --function nvme,bdf=01:00.0,guest=01:05.0
expect bad_bars "bars= must be qemu or server" --function dmatest,bdf=01:00.0,bars=dext

# Two functions at their default slots (05/06 and 07/08) pass the checks:
# the launcher goes on to start dextd (here /bin/false, so it fails there).
out=$("$launcher" run --kernel /dev/null --qemu /bin/false --server /bin/false \
	--dextd /bin/false --function nvme,bdf=01:00.0 --function dmatest,bdf=01:00.1 2>&1)
if grep -q "dextd failed to start" <<< "$out"; then echo "ok two_functions_accepted"
else echo "FAIL two_functions_accepted: $out"; fails=$((fails + 1)); fi

[ "$fails" = 0 ]
