#!/usr/bin/env bash
# vfio-apple-dext built as on macOS (IOKit transport, here over the shim)
# against a real dextd: 'list' from "the registry" equals dextd's own list;
# 'status' and 'faults' exit 1 and name the reason.
# Usage: test-dext-cli.sh DEXTD VFIO_APPLE_DEXT VFIO_APPLE_DEXT_IOKIT
set -euo pipefail
dextd=$1 cli=$2 cli_iokit=$3
wd=$(mktemp -d /tmp/dext-cli-test.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	rm -rf "$wd"
}
trap cleanup EXIT
mkfifo "$wd/ready"
"$dextd" --socket "$wd/sock" --function dmatest,bdf=01:00.0 --function dmatest,bdf=03:00.0 \
	--ready-fd 3 3>"$wd/ready" 2>"$wd/dextd.log" &
pid=$!
read -r line < "$wd/ready" || true
[ "$line" = READY ] || { cat "$wd/dextd.log"; echo "FAIL: dextd did not start"; exit 1; }
export VFIO_APPLE_DEXT_SOCKET=$wd/sock

"$cli" list > "$wd/socket.txt"
"$cli_iokit" list > "$wd/iokit.txt"
[ "$(wc -l < "$wd/iokit.txt")" = 3 ] || { cat "$wd/iokit.txt"; echo "FAIL: want a header and 2 functions"; exit 1; }
diff -u "$wd/socket.txt" "$wd/iokit.txt" || { echo "FAIL: IOKit list differs from dextd's"; exit 1; }
for cmd in status faults; do
	if "$cli_iokit" "$cmd" > "$wd/out" 2> "$wd/err"; then
		echo "FAIL: $cmd succeeded over IOKit"; exit 1
	fi
	grep -q "dextd's control operations" "$wd/err" || { cat "$wd/err"; echo "FAIL: $cmd: no reason given"; exit 1; }
done
echo "PASS: list over IOKit = dextd's list; status/faults refused with a reason"
