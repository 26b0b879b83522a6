#!/usr/bin/python3
"""Exports the early-exit models as ONNX, one graph output per exit (exit1..exitN-1, final).

    /usr/bin/python3 scripts/zoo/export.py --out models            # the committed zoo (no weights)
    /usr/bin/python3 scripts/zoo/export.py --out DIR --keep-weights

Without --keep-weights every float initializer of 1 KiB or more has its bytes removed and points
to an external data file `<model>.onnx.data` that is not kept, as in ../shared/models: the
files stay small and dapdee-import/dapdee-profile handle them. A sidecar `<model>.exits.json`
records the exits; accuracies are null until scripts/zoo/train_exits.py measures them.
"""
import argparse
import json
import os
import sys

import onnx
import torch
from onnx import external_data_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models as zoo  # noqa: E402


def export(model, name, out_dir, keep_weights=False, accuracies=None):
    """Writes out_dir/name.onnx and out_dir/name.exits.json; returns the ONNX path."""
    model.eval()
    n_out = len(model(torch.zeros(1, 3, 32, 32)))
    names = zoo.output_names(n_out)
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, torch.zeros(1, 3, 32, 32), path, input_names=["input"], output_names=names,
                      opset_version=13, do_constant_folding=True)
    m = onnx.load(path)
    exits = [{"name": n, "accuracy": (accuracies or {}).get(n)} for n in names]
    sidecar = {"format": "dapdee-exits/1", "model": name, "exits": exits}
    del m.metadata_props[:]
    prop = m.metadata_props.add()
    prop.key = "dapdee.exits"
    prop.value = json.dumps({"exits": exits})
    if keep_weights:
        onnx.save(m, path)
    else:
        data = name + ".onnx.data"
        external_data_helper.convert_model_to_external_data(m, all_tensors_to_one_file=True, location=data,
                                                            size_threshold=1024)
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data,
                        size_threshold=1024)
        os.remove(os.path.join(out_dir, data))
    with open(os.path.join(out_dir, name + ".exits.json"), "w") as f:
        json.dump(sidecar, f, indent=1)
        f.write("\n")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models")
    ap.add_argument("--keep-weights", action="store_true")
    ap.add_argument("--only", nargs="*", help="model names (default: all)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    for name, make in zoo.MODELS.items():
        if args.only and name not in args.only:
            continue
        path = export(make(), name, args.out, args.keep_weights)
        print(f"{path}: {os.path.getsize(path)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
