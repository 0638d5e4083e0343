#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-all.sh [SECONDS]
#
# Runs every fuzz target for SECONDS (default $FUZZ_SECONDS, else 60) over a
# temporary copy of its seed corpus in fuzz/corpus/<target>/. Targets are
# taken from $FUZZ_BUILD_DIR (the build's fuzz/ directory); when it is not
# set, a clang build is configured in ./build-fuzz if needed. Crash
# reproducers go to <fuzz build dir>/artifacts/<target>/.
# Exit status: 0 if no target found anything, else 1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-${FUZZ_SECONDS:-60}}
targets="fuzz_apple_dma_batch fuzz_dext_msg fuzz_dart_ops fuzz_nvme_cmd fuzz_config_filter"

if [ -z "${FUZZ_BUILD_DIR:-}" ]; then
	build=${FUZZ_BUILD:-$PWD/build-fuzz}
	if [ ! -d "$build" ]; then
		CC=clang meson setup "$build" "$here/.." -Dfuzz=enabled
	fi
	ninja -C "$build" $(for t in $targets; do printf 'fuzz/%s ' "$t"; done)
	FUZZ_BUILD_DIR=$build/fuzz
fi

status=0
for t in $targets; do
	echo "=== $t: ${seconds}s ==="
	if ! FUZZ_ARTIFACT_DIR="$FUZZ_BUILD_DIR/artifacts/$t" \
		"$here/run-fuzz.sh" "$FUZZ_BUILD_DIR/$t" "$here/corpus/$t" "$seconds"; then
		echo "=== $t: FAILED, see $FUZZ_BUILD_DIR/artifacts/$t/ ===" >&2
		status=1
	fi
done
exit $status
