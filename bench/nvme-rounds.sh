#!/usr/bin/env bash
# Runs bench/nvme-bench.sh several times in a row and reports, per workload,
# each round's ratios between configurations and their median. On a shared
# 2-CPU host one configuration's figures move by 10-80 % between runs; the
# ratios of one round move less, and their median over rounds is what a
# goal such as "a >= 0.9x b" should be judged by.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/nvme-rounds.sh [--rounds N] [--out DIR] [NVME-BENCH-OPTION]...

Runs bench/nvme-bench.sh N times (default 3) with the given options (see
bench/nvme-bench.sh --help; configurations run in their order within each
round, so the rounds interleave them), round K in DIR/round-K. Then prints
one table: per workload and round, a / b (IOPS), a / c, d / a and mean
latency a / b where those configurations ran, and the median of each over
the rounds. Writes DIR/rounds.csv and DIR/rounds.md.

  --rounds N   rounds (1..20, default 3)
  --out DIR    default build/bench/nvme-rounds-<kernel> (the kernel as given
               to --kernel, default 6.12-x86_64)
  --report     boot nothing: recompute the table from DIR/round-*/
  -h, --help   this help

Hold the VM lock (flock /tmp/vfio-apple-vm.lock) so that no other guest
shares the CPUs.
EOF
}

repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 out='' kernel=6.12-x86_64 report=0
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--report) report=1; shift ;;
	--kernel) kernel=$2; args+=("$1" "$2"); shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) args+=("$1"); shift ;;
	esac
done
case $rounds in
''|*[!0-9]*) echo "nvme-rounds: --rounds '$rounds' is not 1..20" >&2; exit 2 ;;
esac
if [ "$rounds" -lt 1 ] || [ "$rounds" -gt 20 ]; then
	echo "nvme-rounds: --rounds '$rounds' is not 1..20" >&2
	exit 2
fi
out=${out:-${VFIO_APPLE_BUILD:-$repo/build}/bench/nvme-rounds-$kernel}

if [ "$report" = 0 ]; then
	rm -rf "$out"/round-* "$out"/rounds.*
	mkdir -p "$out"
	for k in $(seq 1 "$rounds"); do
		echo "nvme-rounds: round $k of $rounds" >&2
		"$repo/bench/nvme-bench.sh" "${args[@]}" --out "$out/round-$k" > "$out/round-$k.log" 2>&1 ||
			{ cat "$out/round-$k.log" >&2; echo "nvme-rounds: round $k failed" >&2; exit 1; }
	done
fi

# Rounds in order (round-10 after round-9).
csvs=() k=1
while [ -d "$out/round-$k" ]; do
	[ -f "$out/round-$k/nvme-bench.csv" ] && csvs+=("$out/round-$k/nvme-bench.csv")
	k=$((k + 1))
done
[ ${#csvs[@]} -gt 0 ] || { echo "nvme-rounds: no round-K/nvme-bench.csv in $out" >&2; exit 1; }

awk -F, -v csv="$out/rounds.csv" '
FNR == 1 {
	r++
	for (i = 1; i <= NF; i++) col[$i] = i
	next
}
{
	c = $(col["config"]); w = $(col["workload"])
	if (!(w in seenw)) { seenw[w] = 1; W[++nw] = w }
	IOPS[r, c, w] = $(col["iops"]); LAT[r, c, w] = $(col["lat_mean_us"])
}
function ratio(A, k, x, y, w) {
	return ((k, x, w) in A && (k, y, w) in A && A[k, y, w] > 0) ? A[k, x, w] / A[k, y, w] : ""
}
function median(v, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function fmt(x) { return x == "" ? "" : sprintf("%.2f", x) }
function bold(x) { return x == "" ? "" : "**" fmt(x) "**" }
END {
	print "workload,round,a_b,a_c,d_a,lat_a_b" > csv
	print "| workload | round | a / b | a / c | d / a | latency a / b |"
	print "| --- | --- | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= nw; i++) {
		w = W[i]
		for (m = 1; m <= 4; m++) n[m] = 0
		for (k = 1; k <= r; k++) {
			q[1] = ratio(IOPS, k, "a", "b", w); q[2] = ratio(IOPS, k, "a", "c", w)
			q[3] = ratio(IOPS, k, "d", "a", w); q[4] = ratio(LAT, k, "a", "b", w)
			for (m = 1; m <= 4; m++) if (q[m] != "") V[m, ++n[m]] = q[m]
			printf "| %s | %d | %s | %s | %s | %s |\n", w, k, fmt(q[1]), fmt(q[2]), fmt(q[3]), fmt(q[4])
			printf "%s,%d,%s,%s,%s,%s\n", w, k, fmt(q[1]), fmt(q[2]), fmt(q[3]), fmt(q[4]) > csv
		}
		for (m = 1; m <= 4; m++) {
			delete v
			for (j = 1; j <= n[m]; j++) v[j] = V[m, j]
			med[m] = n[m] ? median(v, n[m]) : ""
		}
		printf "| %s | **median** | %s | %s | %s | %s |\n", w, bold(med[1]), bold(med[2]), bold(med[3]), bold(med[4])
		printf "%s,median,%s,%s,%s,%s\n", w, fmt(med[1]), fmt(med[2]), fmt(med[3]), fmt(med[4]) > csv
	}
}' "${csvs[@]}" > "$out/rounds.md"
{
	echo "## nvme-rounds: ${#csvs[@]} rounds of bench/nvme-bench.sh ${args[*]}"
	echo
	cat "$out/rounds.md"
} | tee "$out/rounds.md.tmp"
mv "$out/rounds.md.tmp" "$out/rounds.md"
echo "nvme-rounds: $out/rounds.csv, $out/rounds.md (each round's tables in round-K/nvme-bench.md)" >&2
