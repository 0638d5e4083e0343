#!/usr/bin/env bash
# Smoke of bench/dart-bench.c: a short run must print its table with
# non-zero rates (it fills the DART model to the platform's 65,536 mappings).
# Usage: run-dart-smoke.sh DART-BENCH
set -euo pipefail
bench=${1:?usage: run-dart-smoke.sh DART-BENCH}
out=$("$bench" --ops 20000 --seed 7)
echo "$out"
# Every rate row ("| ... | N maps/s |" and the like) must be a positive number.
echo "$out" | awk -F'|' '
	/\/s \|$/ { rows++; split($3, v, " "); if (v[1] + 0 <= 0) bad++ }
	END { if (rows < 3 || bad) { printf "dart-bench smoke: %d rate rows, %d not positive\n", rows, bad; exit 1 } }'
