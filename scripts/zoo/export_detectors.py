#!/usr/bin/python3
"""Exports torchvision 0.14 detectors and segmenters as weightless ONNX (opset 13, batch 1).

    /usr/bin/python3 scripts/zoo/export_detectors.py --out models/detectors      # the committed set
    /usr/bin/python3 scripts/zoo/export_detectors.py --out DIR --only retinanet_resnet50_fpn_heads
    /usr/bin/python3 scripts/zoo/export_detectors.py --out DIR --macs           # torch-side MAC count only

Random initialisation (seed 0), no download: every builder is called with weights=None and
weights_backbone=None. As in ../shared/models, every float initializer of 1 KiB or more has
its bytes removed and points to `<model>.onnx.data`, which is not kept.

Models (input `input`, 1x3xHxW, already resized and normalised where the model has a transform):
- ssdlite320_mobilenet_v3_large_heads (320x320): backbone + SSDlite head; outputs the raw heads
  `bbox_regression` (1x3234x4) and `cls_logits` (1x3234x91), without anchors, decoding or NMS.
- retinanet_resnet50_fpn_heads (800x800): ResNet-50 + FPN (P3-P7) + RetinaNet head; outputs
  `bbox_regression` and `cls_logits`, likewise raw.
- fcn_resnet50, deeplabv3_mobilenet_v3_large (520x520): outputs `out` and `aux` (the auxiliary
  head torchvision's published weights carry; both 1x21x520x520), upsampled to the input.
- lraspp_mobilenet_v3_large (520x520): output `out`.
- ssdlite320_mobilenet_v3_large_full (320x320): the whole torchvision model, image transform and
  post-processing (score threshold, top-k, batched NMS) included; outputs `boxes`, `scores`,
  `labels` of data-dependent length. For `dapdee-import --outputs`. Written gzipped
  (`.onnx.gz`, `gzip -dc` it first): its unrolled per-class post-processing makes it ~0.5 MB.

--macs prints, per model, the MACs of Conv2d/Linear layers counted by forward hooks in PyTorch
(an independent check of dapdee-import's count), and torchvision's published figure.
"""
import argparse
import gzip
import os
import shutil
import sys

import onnx
import torch
import torchvision
from onnx import external_data_helper
from torchvision.models import detection, segmentation

# torchvision's published "GFLOPS" (the `_ops` of each model's weights metadata, torchvision >= 0.15),
# counted on the model that carries the published weights (segmenters: with the aux head).
PUBLISHED_GMACS = {
    "ssdlite320_mobilenet_v3_large_heads": 0.583,
    "retinanet_resnet50_fpn_heads": 151.54,
    "fcn_resnet50": 152.717,
    "deeplabv3_mobilenet_v3_large": 10.452,
    "lraspp_mobilenet_v3_large": 2.086,
    "ssdlite320_mobilenet_v3_large_full": 0.583,
}


class RawHeads(torch.nn.Module):
    """A torchvision one-stage detector up to its raw heads (no anchors, decoding, NMS)."""

    def __init__(self, det):
        super().__init__()
        self.backbone = det.backbone
        self.head = det.head

    def forward(self, x):
        features = self.backbone(x)
        if isinstance(features, torch.Tensor):
            features = {"0": features}
        out = self.head(list(features.values()))
        return out["bbox_regression"], out["cls_logits"]


class SegOut(torch.nn.Module):
    """A torchvision segmenter returning its dict's tensors as a tuple (out, then aux)."""

    def __init__(self, seg):
        super().__init__()
        self.seg = seg

    def forward(self, x):
        d = self.seg(x)
        return tuple(d[k] for k in ("out", "aux") if k in d)


class Full(torch.nn.Module):
    """The whole detector on one image: transform, network, post-processing."""

    def __init__(self, det):
        super().__init__()
        self.det = det

    def forward(self, x):
        d = self.det([x[0]])[0]
        return d["boxes"], d["scores"], d["labels"]


def ssdlite():
    return detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)


MODELS = {
    # name: (builder, input size, output names)
    "ssdlite320_mobilenet_v3_large_heads": (lambda: RawHeads(ssdlite()), 320, ["bbox_regression", "cls_logits"]),
    "retinanet_resnet50_fpn_heads": (
        lambda: RawHeads(detection.retinanet_resnet50_fpn(weights=None, weights_backbone=None)), 800,
        ["bbox_regression", "cls_logits"]),
    "fcn_resnet50": (lambda: SegOut(segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=True)),
                     520, ["out", "aux"]),
    "deeplabv3_mobilenet_v3_large": (
        lambda: SegOut(segmentation.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=True)),
        520, ["out", "aux"]),
    "lraspp_mobilenet_v3_large": (
        lambda: SegOut(segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)), 520, ["out"]),
    "ssdlite320_mobilenet_v3_large_full": (lambda: Full(ssdlite()), 320, ["boxes", "scores", "labels"]),
}


def torch_macs(model, size):
    """MACs of Conv2d and Linear layers in one forward pass, counted by hooks."""
    total = [0]

    def conv(m, inp, out):
        k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]  # in/groups * kh * kw
        total[0] += out.numel() * k

    def linear(m, inp, out):
        total[0] += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear))
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return total[0]


def strip_weights(path, name, out_dir):
    """Moves float initializers >= 1 KiB to an external file, then deletes that file."""
    m = onnx.load(path)
    data = name + ".onnx.data"
    external_data_helper.convert_model_to_external_data(m, all_tensors_to_one_file=True, location=data,
                                                        size_threshold=1024)
    onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data,
                    size_threshold=1024)
    os.remove(os.path.join(out_dir, data))


def export(name, out_dir, keep_weights):
    make, size, outputs = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    path = os.path.join(out_dir, name + ".onnx")
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, size, size), path, input_names=["input"], output_names=outputs,
                          opset_version=13, do_constant_folding=True)
    if not keep_weights:
        strip_weights(path, name, out_dir)
    if name.endswith("_full") and not keep_weights:
        # The unrolled post-processing makes this one ~0.5 MB: kept gzipped (~47 KB).
        with open(path, "rb") as src, gzip.GzipFile(path + ".gz", "wb", compresslevel=9, mtime=0) as dst:
            shutil.copyfileobj(src, dst)
        os.remove(path)
        path += ".gz"
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models/detectors")
    ap.add_argument("--keep-weights", action="store_true")
    ap.add_argument("--macs", action="store_true", help="print torch-side MAC counts, export nothing")
    ap.add_argument("--only", nargs="*", help="model names (default: all)")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    for name in MODELS:
        if args.only and name not in args.only:
            continue
        if args.macs:
            make, size, _ = MODELS[name]
            torch.manual_seed(0)
            g = torch_macs(make().eval(), size) / 1e9
            print(f"{name} {size}x{size}: {g:.3f} GMACs (torch hooks), published {PUBLISHED_GMACS[name]} G")
            continue
        path = export(name, args.out, args.keep_weights)
        print(f"{path}: {os.path.getsize(path)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
