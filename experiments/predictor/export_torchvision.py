#!/usr/bin/python3
"""Exports torchvision classification architectures as weightless ONNX files (the predictor's
training and evaluation set), as ../shared/models are made: torch's ONNX exporter, random
initialisation, opset 13, batch 1, input `input`, output `output`; every float initializer of
1 KiB or more has its bytes removed (external data file not kept).

    /usr/bin/python3 experiments/predictor/export_torchvision.py --out DIR [--only NAME...] [--size 224]

Writes DIR/<name><suffix>.onnx and adds to DIR/families.json ({model: family}), the grouping
the evaluation holds out (every resolution of a family is held out together). Only standard-library and Debian python3-torch/-torchvision/-onnx.
"""
import argparse
import json
import os
import sys

import onnx
import torch
import torchvision.models as tvm
from onnx import external_data_helper

# family -> architectures (OpenCV 4.6 runs all of these; shufflenet/convnext/vit/swin it refuses)
FAMILIES = {
    "alexnet": ["alexnet"],
    "vgg": ["vgg11", "vgg11_bn", "vgg13"],
    "resnet": ["resnet18", "resnet34", "resnet50"],
    "resnext": ["resnext50_32x4d", "wide_resnet50_2"],
    "squeezenet": ["squeezenet1_0", "squeezenet1_1"],
    "densenet": ["densenet121", "densenet169"],
    "inception": ["googlenet", "inception_v3"],
    "mobilenet": ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"],
    "mnasnet": ["mnasnet0_5", "mnasnet1_0"],
    "efficientnet": ["efficientnet_b0", "efficientnet_b1"],
    "regnet": ["regnet_x_400mf", "regnet_y_400mf", "regnet_x_800mf", "regnet_y_800mf"],
    "transformer": ["vit_b_16"],
}


def export(name, out_dir, size, suffix=""):
    kwargs = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    model = getattr(tvm, name)(weights=None, **kwargs).eval()
    side = 299 if name == "inception_v3" and size == 224 else size
    x = torch.zeros(1, 3, side, side)
    path = os.path.join(out_dir, name + suffix + ".onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["output"], opset_version=13,
                      do_constant_folding=True)
    m = onnx.load(path)
    data = name + suffix + ".onnx.data"
    external_data_helper.convert_model_to_external_data(m, all_tensors_to_one_file=True, location=data,
                                                        size_threshold=1024)
    onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data,
                    size_threshold=1024)
    os.remove(os.path.join(out_dir, data))
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--suffix", default="", help="appended to the file names (e.g. _160 for another resolution)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    fam_path = os.path.join(args.out, "families.json")
    families = {}
    if os.path.exists(fam_path):  # several runs (resolutions) share one map
        with open(fam_path) as f:
            families = json.load(f)
    for fam, names in FAMILIES.items():
        for name in names:
            if args.only and name not in args.only:
                continue
            try:
                path = export(name, args.out, args.size, args.suffix)
            except Exception as e:  # e.g. an adaptive pooling torch cannot export at this size
                print(f"{name}: not exported at {args.size}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
                continue
            families[name + args.suffix] = fam
            print(f"{path}: {os.path.getsize(path)} bytes", file=sys.stderr)
    with open(fam_path, "w") as f:
        json.dump(families, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
