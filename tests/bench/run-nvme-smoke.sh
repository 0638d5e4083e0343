#!/usr/bin/env bash
# Smoke of bench/nvme-bench.sh (configurations a and b, one second per
# workload), run as the one round of bench/nvme-rounds.sh, and of
# bench/plot-nvme.sh on its CSV: every workload must have a row with
# non-zero IOPS in both configurations, a must have its DMA counters, the
# rounds table a median a / b per workload, and the plot must be written.
# Asserts no speed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${VFIO_APPLE_BUILD:-$repo/build}
rounds=$build/bench/nvme-smoke
out=$rounds/round-1
"$repo/bench/nvme-rounds.sh" --rounds 1 --out "$rounds" --runtime 1 --size 64M --configs "a b"
csv=$out/nvme-bench.csv
awk -F, '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	{
		n[$2]++
		if ($(col["iops"]) + 0 <= 0) { print "no IOPS: " $0; bad++ }
		if ($2 == "a" && $(col["maps"]) == "") { print "no DMA counters: " $0; bad++ }
	}
	END {
		if (n["a"] != 4 || n["b"] != 4) { printf "rows: a %d, b %d (want 4 each)\n", n["a"], n["b"]; bad++ }
		exit bad != 0
	}' "$csv"
awk -F, '$2 == "median" && $3 + 0 > 0 { n++ } END { exit n != 4 }' "$rounds/rounds.csv" ||
	{ echo "nvme-rounds: want a median a / b for each of 4 workloads" >&2; cat "$rounds/rounds.csv" >&2; exit 1; }
"$repo/bench/plot-nvme.sh" "$csv" "$out/nvme-bench.png"
[ "$(head -c 4 "$out/nvme-bench.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] ||
	{ echo "plot-nvme wrote no PNG" >&2; exit 1; }
echo "nvme-bench smoke: 4 workloads x (a, b) with non-zero IOPS, rounds table, plot written"
