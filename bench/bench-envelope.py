#!/usr/bin/python3
# bench-envelope.py: the envelope's costs in one run (issue 13)
#
# 1. vmstate-bench-envelope: CRC-32C vs memcpy, zstd on the conntrack-like
#    table, envelope encode/decode;
# 2. a 32-helper save (and load) through VmstateCollector, helpers raw,
#    in uncompressed envelopes, and in zstd envelopes, rounds interleaved
#    (raw, envelope, zstd, raw, ...) so that all three see the same load
#    of the machine; medians of every sample and the ratios to raw.
#
#   bench/bench-envelope.py BUILD_DIR [--rounds K] [--reps R] [--sizes 16k,1000k]
#
# The states are the tests' incompressible pattern (the worst case for
# compression: stored uncompressed after zstd tried), and 1000k rather
# than 1m because an envelope adds 24 bytes to QEMU's 1 MiB limit.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

MODES = [("raw", {}),
         ("envelope", {"VMSTATE_BENCH_STATE_VERSION": "1"}),
         ("envelope+zstd", {"VMSTATE_BENCH_STATE_VERSION": "1", "VMSTATE_BENCH_COMPRESS": "1"})]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--n", default="32")
    p.add_argument("--sizes", default="16k,1000k")
    args = p.parse_args()
    bench = os.path.join(args.build, "bench")

    print("## codec\n")
    subprocess.run([os.path.join(bench, "vmstate-bench-envelope")], check=True)

    samples = {}   # (mode, n, size) -> {"save": [...], "load": [...]}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for mode, env in MODES:
                out = os.path.join(tmp, f"{mode}-{r}.json")
                subprocess.run([os.path.join(bench, "vmstate-bench"), "--n", args.n,
                                "--sizes", args.sizes, "--delays", "0",
                                "--methods", "collector", "--no-codec", "--reps", str(args.reps),
                                "--rounds", "1", "--json", out],
                               env={**os.environ, **env}, check=True,
                               stdout=subprocess.DEVNULL)
                with open(out) as f:
                    for row in json.load(f)["rows"]:
                        key = (mode, row["n"], row["state_size"])
                        s = samples.setdefault(key, {"save": [], "load": []})
                        s["save"] += row["collector"]["save"]["samples_ms"]
                        s["load"] += row["collector"]["load"]["samples_ms"]

    print("\n## 32 helpers through VmstateCollector (medians of %d samples, ms)\n"
          % (args.rounds * args.reps))
    print("| N | state | helpers | save | save / raw | load | load / raw |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for (mode, n, size) in sorted(samples, key=lambda k: (k[1], k[2], [m for m, _ in MODES].index(k[0]))):
        s = samples[(mode, n, size)]
        raw = samples[("raw", n, size)]
        save, load = statistics.median(s["save"]), statistics.median(s["load"])
        rs, rl = statistics.median(raw["save"]), statistics.median(raw["load"])
        print(f"| {n} | {size // 1024} KiB | {mode} | {save:.1f} | {save / rs:.2f} | "
              f"{load:.1f} | {load / rl:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
