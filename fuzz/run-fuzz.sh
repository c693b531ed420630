#!/bin/sh
# run-fuzz.sh FUZZER SEED_DIR [libFuzzer options...]
# Runs FUZZER on a temporary copy of SEED_DIR, so that the inputs it
# finds do not land in the source tree, and removes the copy. A crash
# leaves its reproducer in the current directory (crash-*, leak-*...).
set -eu
fuzzer=$1
seeds=$2
shift 2
work=$(mktemp -d "${TMPDIR:-/tmp}/vmstate-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp "$seeds"/* "$work"/
"$fuzzer" -artifact_prefix=./ -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 "$@" "$work"
