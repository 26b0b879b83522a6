#!/usr/bin/python3
"""Held-out-by-family evaluation of the latency predictors on measured profiles.

    /usr/bin/python3 experiments/predictor/evaluate.py --models DIR --profiles DIR [--profiles2 DIR]
        [--truth DIR] [--bin build/tools] [--spec profiles/specs/xeon-2300-1t.json] [--json OUT]

DIR/families.json maps each model to its family (experiments/predictor/export_torchvision.py). For
each family F: the kernel predictor (`dapdee-profile fit --kind kernel`) and the per-op
regression (`--kind op`) are fitted on the measured profiles of every model outside F, then
predict each model of F; the roofline (`predict --device SPEC`) needs no training. Ground truth:
the measured whole-model median (`total_ms`). Reports, per predictor, the share of held-out
models within +-10% and +-5%, and the MAPE per op over held-out nodes (measured ms > 0).
--profiles2 (a second measurement of the same models in the same sitting) gives the noise band:
the whole-model difference between the two measurements. --truth DIR takes the ground truth from
another measurement than the training profiles (train on one pass, judge on the next).
Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"evaluate: {' '.join(cmd)} failed:\n{r.stderr}")
    return r


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True)
    ap.add_argument("--profiles", required=True)
    ap.add_argument("--profiles2")
    ap.add_argument("--truth", help="ground truth from these profiles instead of --profiles (an independent measurement)")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "tools"))
    ap.add_argument("--spec", default=os.path.join(os.path.dirname(__file__), "..", "..", "profiles", "specs",
                                                   "xeon-2300-1t.json"))
    ap.add_argument("--json")
    a = ap.parse_args()
    prof = os.path.join(a.bin, "dapdee-profile")
    families = load(os.path.join(a.models, "families.json"))
    tmp = tempfile.mkdtemp(prefix="dapdee-eval-")
    dags, measured = {}, {}
    for m in families:
        p = os.path.join(a.profiles, m + ".json")
        if not os.path.exists(p):
            print(f"evaluate: {m}: no profile in {a.profiles}, left out", file=sys.stderr)
            continue
        dags[m] = os.path.join(tmp, m + ".dag.json")
        run([os.path.join(a.bin, "dapdee-import"), os.path.join(a.models, m + ".onnx"), "-o", dags[m]])
        measured[m] = p
    rows, node_err = [], {"kernel": {}, "op": {}, "roofline": {}}
    for fam in sorted(set(families[m] for m in measured)):
        test = [m for m in measured if families[m] == fam]
        train = [m for m in measured if families[m] != fam]
        pairs = [x for m in train for x in ("--pair", f"{dags[m]}={measured[m]}")]
        fits = {}
        for kind in ("kernel", "op"):
            fits[kind] = os.path.join(tmp, f"{fam}.{kind}.json")
            run([prof, "fit", "--kind", kind, "-o", fits[kind]] + pairs)
        for m in test:
            tp = os.path.join(a.truth, m + ".json") if a.truth else measured[m]
            if not os.path.exists(tp):
                print(f"evaluate: {m}: no profile in {a.truth}, left out", file=sys.stderr)
                continue
            truth = load(tp)
            row = {"model": m, "family": fam, "measured_ms": truth["total_ms"], "node_sum_ms": truth.get("sum_node_ms"),
                   "median_node_cv": truth.get("noise", {}).get("median_node_cv")}
            if a.profiles2 and os.path.exists(os.path.join(a.profiles2, m + ".json")):
                row["measured2_ms"] = load(os.path.join(a.profiles2, m + ".json"))["total_ms"]
            for kind, args in (("kernel", ["--model", fits["kernel"]]), ("op", ["--model", fits["op"]]),
                               ("roofline", ["--device", a.spec])):
                out = os.path.join(tmp, f"{m}.{kind}.pred.json")
                run([prof, "predict", dags[m], "-o", out] + args)
                pred = load(out)
                total = pred.get("whole_ms") or sum(v["ms"] for v in pred["nodes"].values())
                row[kind + "_ms"] = total
                row[kind + "_err_pct"] = 100 * (total / truth["total_ms"] - 1)
                ops = {n["name"]: n["op"] for n in load(dags[m])["nodes"]}
                for name, v in truth["nodes"].items():
                    if v["ms"] > 0 and name in pred["nodes"]:
                        node_err[kind].setdefault(ops.get(name, "?"), []).append(abs(pred["nodes"][name]["ms"] / v["ms"] - 1))
            rows.append(row)
    report = {"models": rows, "summary": {}, "op_mape": {}}
    for kind in ("kernel", "op", "roofline"):
        errs = [abs(r[kind + "_err_pct"]) for r in rows]
        report["summary"][kind] = {
            "within_10pct": sum(e <= 10 for e in errs) / len(errs), "within_5pct": sum(e <= 5 for e in errs) / len(errs),
            "median_abs_err_pct": statistics.median(errs), "models": len(errs)}
        report["op_mape"][kind] = {op: (100 * statistics.mean(v), len(v)) for op, v in sorted(node_err[kind].items())}
    if a.profiles2:
        band = []
        for m in measured:
            p2 = os.path.join(a.profiles2, m + ".json")
            if os.path.exists(p2):
                band.append(abs(load(p2)["total_ms"] / load(measured[m])["total_ms"] - 1) * 100)
        if band:
            report["noise_band_pct"] = {"median": statistics.median(band), "max": max(band), "models": len(band)}
    print("model                  family        measured   kernel    op-regr   roofline   2nd measurement")
    for r in rows:
        second = f"{100 * (r['measured2_ms'] / r['measured_ms'] - 1):+7.1f}%" if "measured2_ms" in r else ""
        print(f"{r['model']:<22} {r['family']:<12} {r['measured_ms']:8.2f}  {r['kernel_err_pct']:+7.1f}%  "
              f"{r['op_err_pct']:+7.1f}%  {r['roofline_err_pct']:+7.1f}%  {second}")
    for kind, s in report["summary"].items():
        print(f"{kind:<9} within 10%: {100 * s['within_10pct']:.0f}%  within 5%: {100 * s['within_5pct']:.0f}%  "
              f"median |err| {s['median_abs_err_pct']:.1f}%  ({s['models']} models)")
    print("per-op MAPE (held-out nodes): op, kernel, op-regr, roofline, nodes")
    for op in sorted(report["op_mape"]["kernel"]):
        k, o, r = (report["op_mape"][x].get(op, (float("nan"), 0)) for x in ("kernel", "op", "roofline"))
        print(f"  {op:<20} {k[0]:7.1f}% {o[0]:7.1f}% {r[0]:7.1f}%  {k[1]}")
    if "noise_band_pct" in report:
        print(f"noise band (two measurements, whole model): median {report['noise_band_pct']['median']:.1f}%, "
              f"max {report['noise_band_pct']['max']:.1f}%")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
