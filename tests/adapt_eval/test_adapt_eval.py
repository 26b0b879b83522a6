#!/usr/bin/python3
"""scripts/adapt-eval on a synthetic uplink trace whose answers are known.

The trace alternates 20 s at 24 Mbit/s and 20 s at 0.48 Mbit/s (Mahimahi format). With the
preset delay of 4G (the file name says LTE) ee_alexnet's final exit meets 30 ms only when
offloaded at >= 10.5 Mbit/s, so: the oracle never misses and switches at every step; the
last-window re-plan misses exactly once per drop; the adaptive controller misses at most as
often; the static plan (mean 12.24 Mbit/s: offload) misses every low window; the shallowest exit
never misses and is the least accurate."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    tools = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        traces = os.path.join(tmp, "traces")
        os.mkdir(traces)
        lines = []
        for second in range(120):
            per_ms = 2 if (second // 20) % 2 == 0 else 0  # 2 packets/ms = 24 Mbit/s
            if per_ms:
                lines += [str(second * 1000 + ms) for ms in range(1000) for _ in range(per_ms)]
            else:
                lines += [str(second * 1000 + ms) for ms in range(0, 1000, 25)]  # 0.48 Mbit/s
        with open(os.path.join(traces, "Synthetic-LTE.up"), "w") as f:
            f.write("\n".join(lines) + "\n")
        out = subprocess.run([os.path.join(ROOT, "scripts", "adapt-eval"), "--tools", tools, "--traces", traces,
                              "--models", "ee_alexnet"], check=True, capture_output=True, text=True).stdout
    case = out[out.index("**ee_alexnet, deadline 30 ms, Synthetic-LTE.up**"):]
    rows = {}
    for line in [l for l in case.splitlines() if l.startswith("| ") and not l.startswith("| policy")][:5]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(["miss", "mean", "p95", "acc", "switches"], map(float, cells[1:])))
    print(case[:1500])
    oracle, last, adaptive = rows["oracle (foresight)"], rows["last-window re-plan"], rows["adaptive (--follow)"]
    static, shallow = rows["static (mean bandwidth)"], rows["shallowest exit"]
    drops = 3  # high -> low steps at 20, 60 and 100 s (the trace starts high)
    checks = [
        ("oracle never misses", oracle["miss"] == 0),
        ("oracle switches at every step", oracle["switches"] == 5),
        ("last-window misses once per drop", abs(last["miss"] - 100 * drops / 120) < 0.05),
        ("adaptive misses at most as often as last-window", adaptive["miss"] <= last["miss"]),
        ("static misses every low window", abs(static["miss"] - 50.0) < 0.05),
        ("shallowest never misses", shallow["miss"] == 0),
        ("shallowest is the least accurate", shallow["acc"] < min(r["acc"] for n, r in rows.items() if n != "shallowest exit")),
        ("summary table present", re.search(r"^Adaptive goal met on \d+ of \d+", out, re.M) is not None),
    ]
    failed = [name for name, ok in checks if not ok]
    for name in failed:
        print("FAILED:", name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
