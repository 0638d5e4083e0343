#!/usr/bin/env bash
# Smoke of bench/dmatest-bench.c against a real dextd with a dmatest
# function: the table must have one row per size with a positive copy rate.
# Usage: run-dmatest-smoke.sh DMATEST-BENCH
set -euo pipefail
bench=${1:?usage: run-dmatest-smoke.sh DMATEST-BENCH}
. "$(dirname "$0")/../../scripts/lib/vm.sh"
set -euo pipefail
[ -x "$DEXTD" ] || sys_die "missing $DEXTD (build first)"
tmp=$(mktemp -d /tmp/dmatest-smoke.XXXXXX)
dextd_pid=
cleanup() {
	[ -z "$dextd_pid" ] || { kill "$dextd_pid" 2>/dev/null; wait "$dextd_pid" 2>/dev/null; } || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkfifo "$tmp/ready"
"$DEXTD" --socket "$tmp/dextd.sock" --function dmatest,bdf=01:00.0 \
	--ready-fd 3 3>"$tmp/ready" 2>"$tmp/dextd.log" &
dextd_pid=$!
read -r line < "$tmp/ready" || true
[ "$line" = READY ] || { cat "$tmp/dextd.log" >&2; sys_die "dextd did not start"; }
out=$(timeout 60 "$bench" --socket "$tmp/dextd.sock" --bdf 01:00.0)
echo "$out"
echo "$out" | awk -F'|' '
	$2 ~ /^ *[0-9]+ *$/ { rows++; if ($5 + 0 <= 0) bad++ }
	END { if (rows != 4 || bad) { printf "dmatest-bench smoke: %d rows, %d without a positive rate\n", rows, bad; exit 1 } }'
