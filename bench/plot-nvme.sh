#!/usr/bin/env bash
# Plots bench/nvme-bench.sh's CSV as grouped bars: IOPS of the 4 KiB random
# reads and MB/s of the 128 KiB sequential workloads, one bar per
# configuration (a, b, c, d). Needs gnuplot (Debian: gnuplot-nox).
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/plot-nvme.sh [--title TEXT] [--kernel ID] CSV [PNG]

Turns the CSV written by bench/nvme-bench.sh into a PNG (default
docs/nvme-bench.png): left, IOPS of the 4 KiB random-read workloads; right,
MB/s of the 128 KiB sequential workloads; one bar per configuration
(a: vfio-apple defaults, b: QEMU built-in nvme, c: vfio-apple reference
policy, d: vfio-apple with apple_dma strict); a configuration missing from
the CSV leaves its bar out. With several kernels in the CSV, the first one is plotted unless
--kernel ID is given.

  --title TEXT   plot title (default: "NVMe in a TCG guest, <kernel>")
  --kernel ID    which kernel's rows to plot
  -h, --help     this help
EOF
}

title='' kernel=''
while [ $# -gt 0 ]; do
	case $1 in
	--title) title=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "plot-nvme: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { usage >&2; exit 2; }
csv=$1
png=${2:-$(cd "$(dirname "$0")/.." && pwd)/docs/nvme-bench.png}
[ -r "$csv" ] || { echo "plot-nvme: cannot read $csv" >&2; exit 1; }
command -v gnuplot >/dev/null || {
	echo "plot-nvme: gnuplot not found (apt-get install --no-install-recommends gnuplot-nox)" >&2; exit 1; }
[ -n "$kernel" ] || kernel=$(awk -F, 'NR == 2 { print $1 }' "$csv")
[ -n "$title" ] || title="NVMe in a TCG guest (2 vCPUs), kernel $kernel, fio io_uring direct"

tmp=$(mktemp -d /tmp/plot-nvme.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# One data file per panel: workload, then a b c d (IOPS or MB/s); "-" = missing.
awk -F, -v k="$kernel" -v dir="$tmp" '
NR > 1 && $1 == k {
	v[$3, $2] = ($3 ~ /^randread4k/) ? $4 : $5
	if (!($3 in seen)) { seen[$3] = 1; w[++n] = $3 }
}
END {
	for (i = 1; i <= n; i++) {
		f = (w[i] ~ /^randread4k/) ? dir "/iops.dat" : dir "/mbs.dat"
		name = w[i]; sub(/_/, " ", name)
		printf "\"%s\"", name > f
		for (j = 1; j <= 4; j++) { c = substr("abcd", j, 1); printf " %s", ((w[i], c) in v) ? v[w[i], c] : "-" > f }
		printf "\n" > f
	}
}' "$csv"
if ! [ -s "$tmp/iops.dat" ] || ! [ -s "$tmp/mbs.dat" ]; then echo "plot-nvme: no rows for kernel $kernel in $csv" >&2; exit 1; fi

cat > "$tmp/plot.gp" <<EOF
set terminal pngcairo size 1200,600 font "Sans,11" noenhanced
set output "$png"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set key below horizontal
set multiplot layout 1,2 title "$title"
set title "4 KiB random read: IOPS"
set ylabel "IOPS"
plot "$tmp/iops.dat" using 2:xtic(1) title "a: vfio-apple (defaults)" lc rgb "#1f77b4", \
     "" using 3 title "b: QEMU built-in nvme" lc rgb "#7f7f7f", \
     "" using 4 title "c: vfio-apple (reference policy)" lc rgb "#ff7f0e", \
     "" using 5 title "d: vfio-apple (strict)" lc rgb "#2ca02c"
set title "128 KiB sequential, QD8: MB/s"
set ylabel "MB/s"
plot "$tmp/mbs.dat" using 2:xtic(1) title "a: vfio-apple (defaults)" lc rgb "#1f77b4", \
     "" using 3 title "b: QEMU built-in nvme" lc rgb "#7f7f7f", \
     "" using 4 title "c: vfio-apple (reference policy)" lc rgb "#ff7f0e", \
     "" using 5 title "d: vfio-apple (strict)" lc rgb "#2ca02c"
unset multiplot
EOF
gnuplot "$tmp/plot.gp"
echo "plot-nvme: wrote $png" >&2
