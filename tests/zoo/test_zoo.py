#!/usr/bin/python3
"""Tests of the model zoo (issue 5), run by ctest with Debian's python3-torch.

1. The whole offline path on a synthetic dataset written in CIFAR-10's on-disk format: build,
   train a few steps (joint and heads-only), evaluate, export, then dapdee-import the result and
   read back its exits and accuracies.
2. Every model in models/ imports with dapdee-import, exits come out in depth order, and its
   MACs agree with Conv + Linear MACs counted in PyTorch with hooks, within 1%.
Prints "SKIPPED: ..." and exits 77 (ctest reports it skipped) where python3-torch or python3-onnx is absent.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
ZOO = os.path.join(ROOT, "scripts", "zoo")

try:
    import numpy as np
    import onnx  # noqa: F401
    import torch
except ImportError as e:  # pragma: no cover
    print(f"SKIPPED: python3-torch / python3-onnx not installed ({e})")
    sys.exit(77)  # ctest SKIP_RETURN_CODE: a skip is an exit status, never a printed marker

sys.path.insert(0, ZOO)
import cifar  # noqa: E402
import models as zoo  # noqa: E402

passed, failed = 0, 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what}")


def dapdee_import(tools, path):
    r = subprocess.run([os.path.join(tools, "dapdee-import"), path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"dapdee-import {path} failed: {r.stderr}")
    return json.loads(r.stdout)


def test_offline_path(tools):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "cifar")
        rng = np.random.default_rng(0)
        cifar.write_split(data, "data_batch_1", rng.integers(0, 256, (64, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, 64))
        cifar.write_split(data, "test_batch", rng.integers(0, 256, (40, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, 40))
        for mode in ("joint", "heads"):
            out = os.path.join(tmp, "out-" + mode)
            cmd = [sys.executable, os.path.join(ZOO, "train_exits.py"), "--model", "ee_alexnet", "--data", data,
                   "--out", out, "--steps", "3", "--batch-size", "16", "--train", mode, "--device", "cpu",
                   "--dataset", "cifar10"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            check(r.returncode == 0, f"train_exits --train {mode} exits 0: {r.stderr[-500:]}")
            if r.returncode != 0:
                continue
            with open(os.path.join(out, "ee_alexnet.exits.json")) as f:
                side = json.load(f)
            acc = {e["name"]: e["accuracy"] for e in side["exits"]}
            check(list(acc) == ["exit1", "exit2", "final"], "sidecar lists exit1, exit2, final")
            check(all(isinstance(a, float) and 0 <= a <= 1 for a in acc.values()), "accuracies are measured numbers")
            check(all(round(a * 40) == a * 40 for a in acc.values()), "accuracies are counts over 40 test images")
            dag = dapdee_import(tools, os.path.join(out, "ee_alexnet.onnx"))
            names = [e["name"] for e in dag["exits"]]
            check(names == ["exit1", "exit2", "final"], f"dapdee-import orders the exits by depth: {names}")
            for e in dag["exits"]:
                check(e["accuracy"] == acc[e["name"]], f"accuracy of {e['name']} read back from metadata_props")


def test_fashion_mnist(tools):
    """The Fashion-MNIST path on a small IDX subset written like Debian's files (gzip, IDX)."""
    import fmnist
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(1)
        for prefix, n in (("train", 48), ("t10k", 20)):
            fmnist.write_idx(os.path.join(tmp, f"{prefix}-images-idx3-ubyte.gz"), rng.integers(0, 256, (n, 28, 28)))
            fmnist.write_idx(os.path.join(tmp, f"{prefix}-labels-idx1-ubyte.gz"), rng.integers(0, 10, n))
        x, y = fmnist.load_split(tmp, train=False)
        check(tuple(x.shape) == (20, 3, 32, 32) and tuple(y.shape) == (20,), f"IDX read and resized: {tuple(x.shape)}")
        check(bool(torch.equal(x[:, 0], x[:, 2])), "the grey channel is repeated")
        bad = os.path.join(tmp, "bad-idx")
        with open(bad, "wb") as f:
            f.write(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]))
        try:
            fmnist.read_idx(bad)
            check(False, "a truncated IDX file is rejected")
        except ValueError:
            check(True, "a truncated IDX file is rejected")
        out = os.path.join(tmp, "out")
        cmd = [sys.executable, os.path.join(ZOO, "train_exits.py"), "--model", "ee_alexnet", "--dataset", "fashion-mnist",
               "--data", tmp, "--out", out, "--steps", "2", "--batch-size", "16", "--device", "cpu"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        check(r.returncode == 0, f"train_exits --dataset fashion-mnist exits 0: {r.stderr[-500:]}")
        if r.returncode == 0:
            with open(os.path.join(out, "ee_alexnet.exits.json")) as f:
                side = json.load(f)
            check(side["measured"]["preprocessing"]["resize"].startswith("bilinear"), "the sidecar records the preprocessing")
            check(all(round(e["accuracy"] * 20) == e["accuracy"] * 20 for e in side["exits"]), "accuracies over 20 images")
    ds = "/usr/share/datasets/fashion-mnist"
    if os.path.isdir(ds):
        x, y = fmnist.load_split(ds, train=False)
        check(tuple(x.shape) == (10000, 3, 32, 32), "Debian's Fashion-MNIST test split reads as 10,000 images")
        check(abs(float(x[:, 0].mean())) < 0.1, f"normalised test images have mean near 0: {float(x[:, 0].mean()):.3f}")


def test_models_folder(tools):
    folder = os.path.join(ROOT, "models")
    found = 0
    for name, make in sorted(zoo.MODELS.items()):
        path = os.path.join(folder, name + ".onnx")
        check(os.path.exists(path), f"{path} is committed")
        if not os.path.exists(path):
            continue
        found += 1
        dag = dapdee_import(tools, path)
        macs = sum(n["macs"] for n in dag["nodes"])
        torch.manual_seed(0)
        ref = zoo.count_macs(make())
        check(abs(macs - ref) <= 0.01 * ref, f"{name}: dapdee-import MACs {macs} vs PyTorch hooks {ref}")
        names = [e["name"] for e in dag["exits"]]
        n = len(zoo.EXITS[name])
        check(names == zoo.output_names(n), f"{name}: exits in depth order {names}")
        check(os.path.getsize(path) < 1_000_000, f"{name}: the committed file is small (no weights)")
    check(found == len(zoo.MODELS), "every zoo model is in models/")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True, help="folder with dapdee-import")
    args = ap.parse_args()
    torch.set_num_threads(2)
    test_offline_path(args.tools)
    test_fashion_mnist(args.tools)
    test_models_folder(args.tools)
    print(f"zoo: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
