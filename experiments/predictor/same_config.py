#!/usr/bin/python3
"""How fast the same layer runs in different models: the limit of any per-layer predictor.

    /usr/bin/python3 experiments/predictor/same_config.py --models DIR --profiles DIR [--bin build/tools]
        [--op Conv] [--csv OUT]

Groups the nodes of every profiled model by configuration (op, input shape, output shape, MACs,
weight bytes: the same kernel on the same data sizes) and, for each configuration seen in two or
more models, divides each model's median time by the fastest model's. Per model it prints the
median of those ratios over its configurations of `--op`: 1.00 when the model runs its layers as
fast as the other models do, 1.4 when every such layer of it is 40% slower. A per-layer predictor
cannot see such a factor (the layers are identical). Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True)
    ap.add_argument("--profiles", required=True)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "tools"))
    ap.add_argument("--op", default="Conv")
    ap.add_argument("--csv")
    a = ap.parse_args()
    families = json.load(open(os.path.join(a.models, "families.json")))
    tmp = tempfile.mkdtemp(prefix="dapdee-same-")
    groups = {}
    for m in sorted(families):
        p = os.path.join(a.profiles, m + ".json")
        if not os.path.exists(p):
            continue
        dag_path = os.path.join(tmp, m + ".dag.json")
        r = subprocess.run([os.path.join(a.bin, "dapdee-import"), os.path.join(a.models, m + ".onnx"), "-o", dag_path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"same_config: dapdee-import {m} failed:\n{r.stderr}")
        prof = json.load(open(p))["nodes"]
        nodes = json.load(open(dag_path))["nodes"]
        by_name = {n["name"]: n for n in nodes}
        for n in nodes:
            if n["op"] != a.op or not n["inputs"] or n["name"] not in prof or not prof[n["name"]]["ms"] > 0:
                continue
            src = by_name[n["inputs"][0]]["outputs"][0]["shape"]
            key = (tuple(src), tuple(n["outputs"][0]["shape"]), n["macs"], n["params"])
            groups.setdefault(key, {}).setdefault(m, []).append(prof[n["name"]]["ms"])
    ratios = {}
    for per_model in groups.values():
        if len(per_model) < 2:
            continue
        med = {m: statistics.median(v) for m, v in per_model.items()}
        fastest = min(med.values())
        for m, v in med.items():
            ratios.setdefault(m, []).append(v / fastest)
    rows = [(m, statistics.median(r), max(r), len(r)) for m, r in sorted(ratios.items())]
    print(f"model                     median ratio  max ratio  shared {a.op} configurations")
    for m, med, mx, n in rows:
        print(f"{m:<25} {med:12.2f} {mx:10.2f} {n:8d}")
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("model,median_ratio,max_ratio,shared_configurations\n")
            for m, med, mx, n in rows:
                f.write(f"{m},{med:.4f},{mx:.4f},{n}\n")


if __name__ == "__main__":
    main()
