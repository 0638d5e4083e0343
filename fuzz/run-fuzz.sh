#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-fuzz.sh TARGET CORPUS SECONDS [libFuzzer options...]
#
# Runs the libFuzzer binary TARGET for SECONDS over a temporary copy of the
# seed corpus directory CORPUS, so the repository's corpus is never written.
# Crash, leak, timeout and OOM reproducers go to $FUZZ_ARTIFACT_DIR
# (default ./fuzz-artifacts/<target>/); the exit status is libFuzzer's
# (0 when nothing was found).
set -eu

if [ $# -lt 3 ]; then
	echo "usage: $0 TARGET CORPUS SECONDS [libFuzzer options...]" >&2
	exit 2
fi
target=$1
corpus=$2
seconds=$3
shift 3
name=$(basename "$target")
artifacts=${FUZZ_ARTIFACT_DIR:-$PWD/fuzz-artifacts/$name}

work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts"
if [ -d "$corpus" ]; then
	cp "$corpus"/* "$work/corpus/" 2>/dev/null || true
fi

# -max_total_time bounds the run; -timeout catches hangs of one input.
# Failures exit 1: libFuzzer's default 77 would read as "skipped" to meson.
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$artifacts/" "$@" "$work/corpus"
