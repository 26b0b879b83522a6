#!/usr/bin/python3
"""The paper's evaluation (DAPDEE, JEIT 2025, Figs. 11-17) as one batch (issue 11).

Models EE-VGG16 and EE-AlexNet of the zoo with their measured exit accuracies
(models/trained/*.exits.json), two device profiles (this machine's CPU, measured with
dapdee-profile; a Raspberry-Pi-4-class board, predicted), a T4-class edge (predicted), networks
CAT1/3G/4G/WiFi, a log-spaced range of deadlines, light and heavy load, every --method; and heavy
load as a stream (streams.py): each method's final exit under `dapdee-plan --fps` at the rates
where Device-Only's utilisation is 0.5, 0.9 and 1.2 (Poisson and periodic arrivals), and each
method's highest stable rate.

Writes into --out (default docs/reproduce):
  points.csv        every planned point (the chosen exit of each method), full precision
  per_exit.csv      every method's plan at every exit (for the same-exit comparisons)
  streams.csv       every method's stream at each rate, with its latency reduction vs Device-Only
  limits.csv        every method's highest stable rate (Poisson), checked with the planner
  claims.csv        the paper's headline claims beside ours
  fig11_accuracy.{png,svg} ... fig15_17_throughput_gain.{png,svg}, fig16_stream_latency.{png,svg}
  REPORT.md         figures and tables beside the paper's claims
and checks the invariants on the JSON Lines the tools wrote (never on rounded CSV); any
violation is printed and the exit status is 1.

    scripts/reproduce [--quick] [--out DIR] [--tools build/tools] [--jobs N]

--quick (the CI version, run by ctest): fewer deadlines, no figures, invariants only (the
streams included).
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import invariants  # noqa: E402
import streams  # noqa: E402

MODELS = [("ee_vgg16", "EE-VGG16"), ("ee_alexnet", "EE-AlexNet")]
DEVICES = [("cpu", "profiles/measured/{m}.opencv-1t.json", "this machine's CPU (OpenCV DNN, 1 thread, measured)"),
           ("rpi4", "profiles/predicted/{m}.rpi4.json", "Raspberry-Pi-4-class board (roofline prediction)")]
EDGE = "profiles/predicted/{m}.edge-t4.json"
METHODS = ["dapdee", "dads", "neurosurgeon", "edgent", "device-only", "edge-only"]
MODES = ["light", "heavy"]
NETWORKS = ["CAT1", "3G", "4G", "WiFi"]
FIELDS = "network,bandwidth_mbps,delay_ms,deadline_ms,mode,method,exit,exit_index,accuracy,T_d,T_t,T_e," \
         "latency_ms,T_max,throughput_fps,sent_bytes,meets_deadline,heavy_search"


def deadlines(quick):
    n, lo, hi = (8, 2.0, 150.0) if quick else (40, 1.0, 200.0)
    return [round(lo * (hi / lo) ** (i / (n - 1)), 6) for i in range(n)]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def import_dags(tools, work, trained):
    """The zoo's DAGs with the measured accuracies (dapdee-import --exits sidecar)."""
    dags = {}
    for m, _ in MODELS:
        sidecar = os.path.join(trained, m + ".exits.json")
        if not os.path.exists(sidecar):
            raise RuntimeError(f"{sidecar}: missing (train with scripts/zoo/train_exits.py, see models/README.md)")
        out = os.path.join(work, m + ".dag.json")
        run([os.path.join(tools, "dapdee-import"), os.path.join(ROOT, "models", m + ".onnx"), "--exits", sidecar, "-o", out])
        dags[m] = out
    return dags


def jobs_for(tools, dags, quick):
    """One dapdee-plan call per (model, device, mode, method, exit-or-search)."""
    dl = ",".join(str(d) for d in deadlines(quick))
    out = []
    for m, _ in MODELS:
        with open(dags[m]) as f:
            exits = [e["name"] for e in json.load(f)["exits"]]
        for dev, pattern, _ in DEVICES:
            for mode in MODES:
                for method in METHODS:
                    for ex in [None] + exits:
                        cmd = [os.path.join(tools, "dapdee-plan"), dags[m], "--device", os.path.join(ROOT, pattern.format(m=m)),
                               "--edge", os.path.join(ROOT, EDGE.format(m=m)), "--network", ",".join(NETWORKS),
                               "--deadline", dl, "--mode", mode, "--method", method, "--fields", FIELDS, "--threads", "1"]
                        if ex:
                            cmd += ["--exit", ex]
                        out.append(({"model": m, "device": dev, "requested_mode": mode, "method": method,
                                     "forced_exit": ex or ""}, cmd))
    return out


def collect(jobs, workers):
    rows = []
    if not jobs:
        return rows
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for meta, text in zip([j[0] for j in jobs], pool.map(lambda j: run(j[1]), jobs)):
            for line in text.splitlines():
                row = json.loads(line)
                row.update(meta)
                rows.append(row)
    return rows


def write_csv(path, rows, keys):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in keys})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI version: fewer deadlines, invariants only")
    ap.add_argument("--out", default=None, help="output folder (default docs/reproduce; --quick: a temporary one)")
    ap.add_argument("--tools", default=os.path.join(ROOT, "build", "tools"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--trained", default=os.path.join(ROOT, "models", "trained"),
                    help="folder with the measured <model>.exits.json sidecars")
    args = ap.parse_args()
    out = args.out or (tempfile.mkdtemp(prefix="dapdee-reproduce-") if args.quick else os.path.join(ROOT, "docs", "reproduce"))
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        dags = import_dags(args.tools, work, args.trained)
        jobs = jobs_for(args.tools, dags, args.quick)
        rows = collect(jobs, args.jobs)
        cases = []
        for m, _ in MODELS:
            with open(dags[m]) as f:
                ex = streams.final_exit(json.load(f))
            for dev, pattern, _ in DEVICES:
                cases.append((m, dev, dags[m], os.path.join(ROOT, pattern.format(m=m)), os.path.join(ROOT, EDGE.format(m=m)),
                              ex, streams.device_only_td(rows, m, dev, ex)))
        plan = os.path.join(args.tools, "dapdee-plan")
        stream_jobs = streams.jobs(plan, cases, METHODS, NETWORKS)
        srows = collect(stream_jobs, args.jobs)
        limit_jobs = streams.limit_jobs(plan, cases, METHODS, NETWORKS, srows)
        srows += collect(limit_jobs, args.jobs)
        sweep_jobs = [] if args.quick else streams.sweep_jobs(plan, cases, METHODS, NETWORKS)
        sweep = collect(sweep_jobs, args.jobs)
    chosen = [r for r in rows if not r["forced_exit"]]
    per_exit = [r for r in rows if r["forced_exit"]]
    checks, problems = invariants.check(rows)
    s_checks, s_problems = invariants.check_streams(srows)
    checks, problems = checks + s_checks, problems + s_problems
    print(f"reproduce: {len(jobs) + len(stream_jobs) + len(limit_jobs) + len(sweep_jobs)} dapdee-plan runs, {len(chosen)} points, "
          f"{len(per_exit)} per-exit plans, {sum(r['kind'] == 'stream' for r in srows)} stream plans; "
          f"{len(problems)} invariant violation(s)", file=sys.stderr)
    for p in problems[:50]:
        print("VIOLATION: " + p, file=sys.stderr)
    keys = ["model", "device", "requested_mode", "method", "forced_exit"] + FIELDS.split(",")
    if not args.quick:
        write_csv(os.path.join(out, "points.csv"), chosen, keys)
        write_csv(os.path.join(out, "per_exit.csv"), per_exit, keys)
        stream_rows, limit_rows = streams.stream_table(srows), streams.limit_table(srows)
        write_csv(os.path.join(out, "streams.csv"), stream_rows, list(stream_rows[0]))
        write_csv(os.path.join(out, "limits.csv"), limit_rows, list(limit_rows[0]))
        import report  # noqa: E402  (matplotlib only for the full run)
        report.write(out, chosen, per_exit, MODELS, DEVICES, NETWORKS, deadlines(False), args.trained,
                     stream_rows, limit_rows, sweep)
        print(f"reproduce: wrote {out}", file=sys.stderr)
    print(f"invariants: {checks - len(problems)} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
