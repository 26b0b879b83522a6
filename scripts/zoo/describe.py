#!/usr/bin/python3
"""Writes models/README.md from the committed ONNX files, via dapdee-import (no torch needed).

    /usr/bin/python3 scripts/zoo/describe.py --tools build/tools > models/README.md
"""
import argparse
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)


def dominators(dag, target):
    """The nodes every path from an input to `target` passes through, in topological order."""
    idx = {n["name"]: i for i, n in enumerate(dag["nodes"])}
    idom, depth = {}, {}

    def lca(a, b):
        while a != b:
            if a is None or b is None:
                return None
            if depth[a] >= depth[b]:
                a = idom[a]
            else:
                b = idom[b]
        return a

    for i, n in enumerate(dag["nodes"]):
        if n["op"] == "Input":
            idom[i], depth[i] = None, 1
            continue
        d = "unset"
        for p in n["inputs"]:
            j = idx[p]
            d = j if d == "unset" else lca(d, j)
        idom[i] = None if d == "unset" else d
        depth[i] = 1 if idom[i] is None else depth[idom[i]] + 1
    chain, x = [], idx[target]
    while x is not None:
        chain.append(x)
        x = idom[x]
    return list(reversed(chain))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    args = ap.parse_args()
    exits_where = {}
    try:
        import models as zoo  # needs torch; only for the exit descriptions
        exits_where = zoo.EXITS
    except ImportError:
        pass
    out = ["# Model zoo: early-exit networks for 32x32 inputs (CIFAR-10)", "",
           "Defined in `scripts/zoo/models.py` (PyTorch, Debian's python3-torch), exported with",
           "`/usr/bin/python3 scripts/zoo/export.py --out models` (opset 13, random initialisation, seed 0).",
           "Weights are not committed: float initializers of 1 KiB or more point to a `<model>.onnx.data`",
           "file that is not kept, as in ../shared/models. One graph output per exit: `exit1..exitN-1`,",
           "`final`; `<model>.exits.json` is the sidecar. Exit heads: conv3x3 (32 ch) -> ReLU -> global",
           "average pool -> linear (BranchyNet-style).", "",
           "**Accuracy**: `null` for every exit. No CIFAR-10 copy is on this machine and nothing is",
           "downloaded; `scripts/zoo/train_exits.py --data cifar-10-batches-py ...` measures them and",
           "writes them into the sidecar and the ONNX `metadata_props` (never invented).", "",
           "This file is generated: `/usr/bin/python3 scripts/zoo/describe.py --tools build/tools > models/README.md`.", ""]
    for f in sorted(os.listdir(os.path.join(ROOT, "models"))):
        if not f.endswith(".onnx"):
            continue
        name = f[:-5]
        r = subprocess.run([os.path.join(args.tools, "dapdee-import"), os.path.join(ROOT, "models", f)],
                           capture_output=True, text=True, check=True)
        dag = json.loads(r.stdout)
        nodes = dag["nodes"]
        idx = {n["name"]: i for i, n in enumerate(nodes)}
        ops = collections.Counter(n["op"] for n in nodes if n["op"] != "Input")
        total = sum(n["macs"] for n in nodes)
        out += [f"## {name}", "",
                f"{len(nodes) - 1} computing nodes, {total / 1e6:.1f} M MACs in all: "
                + ", ".join(f"{op} x{c}" for op, c in ops.most_common()) + ".", "",
                "| exit | where | output node | MACs up to the exit | accuracy |", "|---|---|---|---|---|"]
        where = exits_where.get(name, [])
        for k, e in enumerate(dag["exits"]):
            anc, stack = set(), [idx[e["node"]]]
            while stack:
                v = stack.pop()
                if v in anc:
                    continue
                anc.add(v)
                stack += [idx[p] for p in nodes[v]["inputs"]]
            macs = sum(nodes[v]["macs"] for v in anc)
            w = where[k] if k < len(where) else ""
            acc = "null" if e["accuracy"] is None else f"{e['accuracy']:.4f}"
            out.append(f"| {e['name']} | {w} | `{e['node']}` | {macs / 1e6:.1f} M | {acc} |")
        out += ["", "Candidate single-tensor cuts (the dominators of `final`: everything before runs on the",
                "device, everything after on the edge), with the bytes sent:", "",
                "| after node | op | shape | bytes sent |", "|---|---|---|---|"]
        for v in dominators(dag, dag["exits"][-1]["node"])[:-1]:
            n = nodes[v]
            shape = next(("x".join(map(str, t["shape"])) for t in n.get("outputs", []) if t["consumed"]), "")
            out.append(f"| `{n['name']}` | {n['op']} | {shape} | {n['out_bytes']} |")
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
