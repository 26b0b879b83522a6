#!/usr/bin/python3
"""The committed kernel model and its held-out error in ms after one-reference calibration (issue 26).

    /usr/bin/python3 experiments/predictor/calibrated.py --dags DAGS --passes PASSES [--bin build/tools]
        [--fit-out profiles/fitted/opencv-1t.ref-resnet18.kernel-model.json] [--json OUT]

DAGS: the DAGs of the 46 torchvision exports (`<model>.dag.json`, from dapdee-import of
experiments/predictor/export_torchvision.py's models; committed as
results/reference-profiles/dags.tar.xz) with their families.json. PASSES: the four passes of
results/reference-profiles/passes.tar.xz extracted (A/ B/ C/ D/): every profile measured with
`dapdee-profile --reference resnet18.onnx --reference-ms 57.5`, so in units where resnet18 is 57.5.

1. Merges the four passes (median per node and of the whole model, merge_passes.py) and fits the
   kernel model on all 46 models: `dapdee-profile fit --kind kernel --pair DAG=PROFILE ...`
   (written to --fit-out: the committed model).
2. Held out in ms: each committed measured profile of profiles/measured/*.opencv-1t.json (OpenCV
   1 thread, raw ms, measured in one sitting on 2026-11-29 except vit_b_16) is predicted by the
   kernel model fitted on the merged passes without the model's family, calibrated with
   `--calibrate profiles/measured/resnet18.opencv-1t.json` (the same sitting), and compared with
   its measured whole-model median (`total_ms`) through the prediction's `whole_ms`.
Prints a table and the share within +-10%. Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# The committed measured models and the family the evaluation holds out for each
# (export_torchvision.py's families; the ee_ models are the zoo's early-exit versions).
MEASURED = {"alexnet": "alexnet", "googlenet": "inception", "inception_v3": "inception", "mobilenet_v2": "mobilenet",
            "vgg16": "vgg", "ee_alexnet": "alexnet", "ee_inception": "inception", "ee_resnet18": "resnet",
            "ee_vgg16": "vgg", "vit_b_16": "transformer"}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"calibrated: {' '.join(cmd)} failed:\n{r.stderr}")
    return r


def fit(prof, dags, merged, models, out):
    pairs = []
    for m in models:
        pairs += ["--pair", f"{os.path.join(dags, m + '.dag.json')}={os.path.join(merged, m + '.json')}"]
    run([prof, "fit", "--kind", "kernel", *pairs, "-o", out])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dags", required=True)
    ap.add_argument("--passes", required=True)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "tools"))
    ap.add_argument("--fit-out")
    ap.add_argument("--json")
    a = ap.parse_args()
    prof = os.path.join(a.bin, "dapdee-profile")
    with open(os.path.join(a.dags, "families.json")) as f:
        families = json.load(f)
    tmp = tempfile.mkdtemp(prefix="dapdee-calibrated-")
    merged = os.path.join(tmp, "ABCD")
    run(["/usr/bin/python3", os.path.join(HERE, "merge_passes.py"), merged] +
        [os.path.join(a.passes, p) for p in "ABCD"])
    models = sorted(m for m in families if os.path.exists(os.path.join(merged, m + ".json")))
    if a.fit_out:
        fit(prof, a.dags, merged, models, a.fit_out)
        with open(a.fit_out) as f:  # name the training profiles by where they are committed, not the temporary folder
            k = json.load(f)
        k["trained_on"] = [f"experiments/predictor/results/reference-profiles/passes.tar.xz: median of A-D, {m}.json"
                           for m in models]
        with open(a.fit_out, "w") as f:
            json.dump(k, f, separators=(",", ":"))
            f.write("\n")
    ref = os.path.join(ROOT, "profiles", "measured", "resnet18.opencv-1t.json")
    rows = []
    for m, fam in MEASURED.items():
        k = os.path.join(tmp, f"not-{fam}.json")
        if not os.path.exists(k):
            fit(prof, a.dags, merged, [x for x in models if families[x] != fam], k)
        p = os.path.join(tmp, f"{m}.pred.json")
        run([prof, "predict", os.path.join(ROOT, "profiles", "dags", m + ".dag.json"), "--model", k, "--calibrate", ref,
             "-o", p])
        with open(p) as f:
            pred = json.load(f)["whole_ms"]
        with open(os.path.join(ROOT, "profiles", "measured", m + ".opencv-1t.json")) as f:
            meas = json.load(f)
        rows.append({"model": m, "held_out_family": fam, "measured_ms": meas["total_ms"], "measured_date": meas.get("date"),
                     "predicted_ms": pred, "error_pct": 100 * (pred / meas["total_ms"] - 1)})
    print(f"{'model':14s} {'held out':12s} {'measured':>10s} {'predicted':>10s} {'error':>8s}  measured at")
    for r in rows:
        print(f"{r['model']:14s} {r['held_out_family']:12s} {r['measured_ms']:10.1f} {r['predicted_ms']:10.1f} "
              f"{r['error_pct']:+7.1f}%  {r['measured_date']}")
    within = [r for r in rows if abs(r["error_pct"]) <= 10]
    same = [r for r in rows if r["model"] != "vit_b_16"]
    print(f"within +-10%: {len(within)} of {len(rows)}; of the {len(same)} measured in the reference's sitting: "
          f"{sum(abs(r['error_pct']) <= 10 for r in same)}; median |error| "
          f"{statistics.median(abs(r['error_pct']) for r in rows):.1f}%")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"reference_profile": os.path.relpath(ref, ROOT), "rows": rows}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
