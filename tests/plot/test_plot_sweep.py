#!/usr/bin/python3
"""scripts/plot-sweep on a real sweep and a real breakpoint map, and its messages (issue 15).

Usage: test_plot_sweep.py TOOLS_DIR. Exits 77 (SKIPPED) without python3-matplotlib.
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLOT = os.path.join(ROOT, "scripts", "plot-sweep")
SKIP = 77


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}")
        sys.exit(1)


def main():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("SKIPPED: python3-matplotlib is not installed (scripts/deps installs it)")
        return SKIP
    tools = sys.argv[1]
    prof = os.path.join(ROOT, "profiles")
    base = [os.path.join(tools, "dapdee-plan"), os.path.join(prof, "dags", "ee_vgg16.dag.json"),
            "--device", os.path.join(prof, "predicted", "ee_vgg16.rpi4.json"),
            "--edge", os.path.join(prof, "predicted", "ee_vgg16.edge-t4.json")]
    with tempfile.TemporaryDirectory() as d:
        csvs = []
        for method in ("dapdee", "edge-only"):
            out = os.path.join(d, f"{method}.csv")
            r = run(base + ["--bandwidth", "0.1:20:6log", "--delay", "20", "--deadline", "60", "--method", method,
                            "--format", "csv", "-o", out])
            check(r.returncode == 0, f"dapdee-plan sweep: {r.stderr}")
            csvs.append(out)
        r = run([PLOT] + csvs + ["-o", os.path.join(d, "sweep")])
        check(r.returncode == 0, f"plot-sweep on two CSVs: {r.stderr}")
        for ext in ("png", "svg"):
            path = os.path.join(d, f"sweep.{ext}")
            check(os.path.getsize(path) > 10000, f"{path} written")
        with open(os.path.join(d, "sweep.png"), "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", "a PNG")
        with open(os.path.join(d, "sweep.svg")) as f:
            svg = f.read()
        check("<svg" in svg and "edge-only" in svg, "an SVG with the methods in its legend")

        bp = os.path.join(d, "bp.jsonl")
        r = run(base + ["--breakpoints", "--delay", "20", "-o", bp])
        check(r.returncode == 0, f"dapdee-plan --breakpoints: {r.stderr}")
        r = run([PLOT, "--breakpoints", bp, "-o", os.path.join(d, "bp")])
        check(r.returncode == 0, f"plot-sweep --breakpoints: {r.stderr}")
        check(os.path.getsize(os.path.join(d, "bp.png")) > 10000, "breakpoint PNG written")

        # Messages: exit 1 naming the file, 2 on usage; never a traceback.
        bad = os.path.join(d, "bad.csv")
        with open(bad, "w") as f:
            f.write("a,b\n1,2\n")
        broken = os.path.join(d, "broken.csv")
        with open(csvs[0]) as f:
            lines = f.read().splitlines()
        header = lines[0].split(",")
        row = lines[1].split(",")
        row[header.index("latency_ms")] = "fast"
        with open(broken, "w") as f:
            f.write(lines[0] + "\n" + ",".join(row) + "\n")
        notbp = os.path.join(d, "notbp.jsonl")
        with open(notbp, "w") as f:
            f.write('{"format":"dapdee-plan/1"}\n')
        lacking = os.path.join(d, "lacking.jsonl")
        with open(lacking, "w") as f:
            f.write('{"format":"dapdee-breakpoints/1","exit":"final"}\n')
        cases = [
            ([bad], 1, "bad.csv: not a dapdee-plan CSV"),
            ([broken], 1, "broken.csv: line 2: latency_ms 'fast' is not a number"),
            ([os.path.join(d, "absent.csv")], 1, "absent.csv: cannot open"),
            (["--breakpoints", notbp], 1, "not a dapdee-breakpoints/1 line"),
            (["--breakpoints", lacking], 1, "lacking.jsonl: a line lacks or mistypes a field"),
            ([csvs[0], "--x", "deadline", "--title", "t"], 0, ""),
            ([], 2, "give sweep CSV file(s) or --breakpoints FILE"),
            (["-", "-"], 2, "'-' (stdin) can be given once"),
            ([csvs[0], "--x", "time"], 2, "invalid choice"),
        ]
        for args, code, msg in cases:
            r = run([PLOT] + args + ["-o", os.path.join(d, "x")])
            check(r.returncode == code, f"{args}: exit {r.returncode}, expected {code}: {r.stderr}")
            check(msg in r.stderr, f"{args}: '{msg}' in {r.stderr!r}")
            check("Traceback" not in r.stderr, f"{args}: no traceback")
    print("plot-sweep: sweeps, breakpoint maps and messages OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
