#!/usr/bin/python3
"""Fits the roofline's efficiency and per-node overhead of profiles/specs/{rpi4,jetson-nano}.json
to published whole-model times (issue 26), and shows what a second, separate memory efficiency
would give (a trial: the spec format has one efficiency).

    /usr/bin/python3 experiments/predictor/fit_specs.py

Published times: ncnn's benchncnn (github.com/Tencent/ncnn, benchmark/README.md): Raspberry Pi 4
Model B at 1.5 GHz, 4 threads, CPU, at commit d9e45ec7; Jetson Nano, Vulkan GPU, at commit
a4d2ea1d. Models: the committed DAGs of profiles/dags/. The roofline is dapdee-profile predict
--device's: per node max(FLOP / (peak x eff), bytes / (bandwidth x eff)) + overhead, FLOP =
2 x MACs + other ops, bytes = weights + inputs + outputs. The fit minimises the largest
|log(predicted / published)| over a grid (efficiency in steps of 0.01, overhead 0.005 ms).
Standard library only.
"""
import json
import math
import os

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BOARDS = {
    "rpi4": (48, 12.8, {"resnet18": 176.18, "mobilenet_v2": 72.62, "googlenet": 143.09, "alexnet": 143.52, "vgg16": 873.71}),
    "jetson-nano": (236, 25.6, {"resnet18": 43.98, "mobilenet_v2": 12.99, "googlenet": 43.43, "alexnet": 74.45, "vgg16": 310.52}),
}


def nodes(model):
    with open(os.path.join(ROOT, "profiles", "dags", model + ".dag.json")) as f:
        d = json.load(f)
    by = {n["name"]: n for n in d["nodes"]}
    return [(2 * n["macs"] + n["ops"],
             n["params"] + sum(t["bytes"] for t in n["outputs"]) + sum(by[u]["out_bytes"] for u in n["inputs"]))
            for n in d["nodes"] if n["op"] != "Input"]


def total(ns, peak, bw, ec, em, ov):
    return sum(max(f / (peak * ec * 1e9) * 1e3, b / (bw * em * 1e9) * 1e3) + ov for f, b in ns)


def fit(dags, peak, bw, meas, ecs, ems, ovs, one):
    best = None
    for ec in ecs:
        for em in ([ec] if one else ems):
            for ov in ovs:
                worst = max(abs(math.log(total(dags[m], peak, bw, ec, em, ov) / meas[m])) for m in meas)
                if best is None or worst < best[0]:
                    best = (worst, ec, em, ov)
    return best


def main():
    effs = [x / 100 for x in range(5, 101)]
    for board, (peak, bw, meas) in BOARDS.items():
        dags = {m: nodes(m) for m in meas}
        for one, ovs in ((True, [x / 1000 for x in range(0, 1001, 5)]), (False, [x / 1000 for x in range(0, 501, 10)])):
            _, ec, em, ov = fit(dags, peak, bw, meas, effs, effs, ovs, one)
            what = f"efficiency {ec}" if one else f"compute efficiency {ec}, memory efficiency {em}"
            print(f"{board}: {what}, node_overhead_ms {ov}")
            for m, ms in meas.items():
                p = total(dags[m], peak, bw, ec, em, ov)
                print(f"  {m:14s} published {ms:8.2f}  predicted {p:8.1f}  {100 * (p / ms - 1):+6.1f}%")


if __name__ == "__main__":
    main()
