#!/usr/bin/python3
"""The closed loop (issue 10): scripts/follow-loop runs dapdee-plan --follow and dapdee-run
through a FIFO for a bounded number of frames. SKIPPED when dapdee-run is not built."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAMES = 20


def main():
    tools = sys.argv[1]
    if not os.path.exists(os.path.join(tools, "dapdee-run")):
        print("SKIPPED: dapdee-run is not built")
        return 77  # ctest's SKIP_RETURN_CODE: a skip before any check
    if not os.path.exists(os.path.join(ROOT, "..", "shared", "traces", "Verizon-LTE-short.up")):
        print("SKIPPED: ../shared/traces is absent")
        return 77
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, DAPDEE_TOOLS=tools, OUT=out)
        r = subprocess.run([os.path.join(ROOT, "scripts", "follow-loop"), "ee_vgg16", "45", str(FRAMES)],
                           env=env, capture_output=True, text=True, timeout=240)
        print(r.stdout, r.stderr[-2000:])
        if r.returncode != 0:
            print("FAILED: follow-loop exit code", r.returncode)
            return 1
        plans = [json.loads(l) for l in open(os.path.join(out, "plans.jsonl")) if l.strip()]
        metrics = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]
        report = json.load(open(os.path.join(out, "report.json")))
    checks = [
        ("one metrics line per frame", len(metrics) == FRAMES),
        ("one plan line per sample (the seed and one per frame)", len(plans) == FRAMES + 1),
        ("every plan line says replanned and trigger",
         all(isinstance(p.get("replanned"), bool) and "trigger" in p for p in plans)),
        ("the first line is the initial plan", plans[0]["replanned"] and plans[0]["trigger"] == "initial"),
        ("every frame ran (the report counts them all)", len(report.get("frames", [])) == FRAMES),
        ("measured times came back", all("measured_latency_ms" in m for m in metrics)),
    ]
    failed = [name for name, ok in checks if not ok]
    for name in failed:
        print("FAILED:", name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
