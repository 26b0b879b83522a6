#!/usr/bin/python3
"""Offline multi-task training of the exit classifiers (DAPDEE's offline stage).

Loss = sum_k w_k * CrossEntropy(exit_k), the weighted sum BranchyNet trains with. Default
weights are all 1.0 (equal weighting); pass --weights to change them, one per exit, final last.
Two ways, as the paper's offline stage allows:
  --train joint   the whole network (backbone and heads) is trained;
  --train heads   the backbone is frozen and only the exit heads learn (deployment then only
                  loads the heads' parameters).
Data (nothing is downloaded):
  --dataset fashion-mnist  Debian's dataset-fashion-mnist IDX files (default folder
                           /usr/share/datasets/fashion-mnist), resized 28->32 and the grey channel
                           repeated, normalised (scripts/zoo/fmnist.py says exactly how);
  --dataset cifar10        CIFAR-10's python-pickle layout in --data.
Learning rate: linear warm-up over the first 5% of the steps, then cosine decay to 0 (SGD with
momentum 0.9, weight decay 5e-4). After every epoch each exit's top-1 accuracy on the whole test
split is measured, and the model (with weights) and its sidecar are written, so a run stopped
early still leaves its last finished epoch; the accuracies go into the sidecar and into the ONNX
metadata_props (`dapdee.exits`) that dapdee-import reads.

    /usr/bin/python3 scripts/zoo/train_exits.py --model ee_vgg16 --dataset fashion-mnist --epochs 4 --out models/trained
    /usr/bin/python3 scripts/zoo/train_exits.py --model ee_vgg16 --dataset cifar10 --data cifar-10-batches-py --epochs 30 --out out/
"""
import math
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cifar  # noqa: E402
import fmnist  # noqa: E402
import export as exporter  # noqa: E402
import models as zoo  # noqa: E402


def evaluate(model, x, y, batch, device):
    model.eval()
    correct = None
    with torch.no_grad():
        for i in range(0, len(y), batch):
            outs = model(x[i:i + batch].to(device))
            hits = [int((o.argmax(1).cpu() == y[i:i + batch]).sum()) for o in outs]
            correct = hits if correct is None else [a + b for a, b in zip(correct, hits)]
    return [c / len(y) for c in correct]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(zoo.MODELS))
    ap.add_argument("--dataset", choices=["fashion-mnist", "cifar10"], default="fashion-mnist")
    ap.add_argument("--data", help="data folder (fashion-mnist: default " + fmnist.DEFAULT_FOLDER +
                    "; cifar10: the folder with data_batch_* and test_batch)")
    ap.add_argument("--out", required=True, help="folder for <model>.onnx (with weights) and <model>.exits.json")
    ap.add_argument("--train", choices=["joint", "heads"], default="joint")
    ap.add_argument("--weights", type=float, nargs="*", help="loss weight per exit, final last (default: all 1.0)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: full epochs)")
    ap.add_argument("--train-subset", type=int, default=0, help="use only the first N training images (tests)")
    ap.add_argument("--test-subset", type=int, default=0, help="evaluate on the first N test images only (tests)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--init", help="state_dict of a trained backbone to start from (for --train heads)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.dataset == "cifar10" and not args.data:
        ap.error("--dataset cifar10 needs --data FOLDER")
    return args


def load_data(args):
    if args.dataset == "fashion-mnist":
        folder = args.data or fmnist.DEFAULT_FOLDER
        train, test = fmnist.load_split(folder, True), fmnist.load_split(folder, False)
        prep = dict(fmnist.PREPROCESSING, folder=os.path.abspath(folder))
    else:
        train, test = cifar.load_split(args.data, train=True), cifar.load_split(args.data, train=False)
        prep = {"dataset": "CIFAR-10 (python pickle)", "folder": os.path.abspath(args.data),
                "normalise": "x / 255 (no mean/std)"}
    if args.train_subset:
        train = (train[0][:args.train_subset], train[1][:args.train_subset])
    if args.test_subset:
        test = (test[0][:args.test_subset], test[1][:args.test_subset])
    return train, test, prep


def build(args):
    torch.manual_seed(args.seed)
    model = zoo.MODELS[args.model]().to(args.device)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=args.device), strict=False)
    n_exits = len(model(torch.zeros(1, 3, 32, 32, device=args.device)))
    weights = args.weights or [1.0] * n_exits
    if len(weights) != n_exits:
        sys.exit(f"train_exits: error: --weights needs {n_exits} values (one per exit, final last)")
    if args.train == "heads":
        for p in model.backbone_parameters():
            p.requires_grad_(False)
        params = model.head_parameters()
    else:
        params = [p for p in model.parameters()]
    opt = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=5e-4)
    return model, weights, opt


def lr_at(step, total, base):
    """Linear warm-up over the first 5% of the steps, then cosine decay to 0."""
    warm = max(1, int(0.05 * total))
    if step < warm:
        return base * (step + 1) / warm
    return base * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def save(args, model, accuracies, weights, step, epoch, wall_s, test_n, prep):
    os.makedirs(args.out, exist_ok=True)
    cpu = model.cpu()
    path = exporter.export(cpu, args.model, args.out, keep_weights=True, accuracies=accuracies)
    model.to(args.device)
    sidecar = os.path.join(args.out, args.model + ".exits.json")
    with open(sidecar) as f:
        meta = json.load(f)
    meta["measured"] = {"dataset": prep["dataset"], "test_images": test_n, "train": args.train,
                        "weights": weights, "epochs": epoch, "steps": step, "wall_s": round(wall_s),
                        "threads": torch.get_num_threads(), "lr": args.lr, "batch_size": args.batch_size,
                        "preprocessing": prep, "command": " ".join(["scripts/zoo/train_exits.py"] + sys.argv[1:])}
    with open(sidecar, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return path, sidecar


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, weights, opt = build(args)
    (x_train, y_train), (x_test, y_test), prep = load_data(args)
    per_epoch = math.ceil(len(y_train) / args.batch_size)
    total = args.steps or per_epoch * args.epochs
    names = zoo.output_names(len(weights))
    step, t0 = 0, time.time()
    for epoch in range(args.epochs):
        model.train()
        if args.train == "heads":
            for s in model.stages:
                s.eval()  # frozen backbone: keep its BatchNorm statistics too
        perm = torch.randperm(len(y_train))
        for i in range(0, len(perm), args.batch_size):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, args.lr)
            idx = perm[i:i + args.batch_size]
            xb, yb = x_train[idx].to(args.device), y_train[idx].to(args.device)
            if torch.rand(1).item() < 0.5:
                xb = xb.flip(3)  # horizontal flip
            outs = model(xb)
            loss = sum(w * F.cross_entropy(o, yb) for w, o in zip(weights, outs))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if args.steps and step >= args.steps:
                break
        acc = evaluate(model, x_test, y_test, args.batch_size, args.device)
        accuracies = {n: round(a, 4) for n, a in zip(names, acc)}
        print(f"epoch {epoch + 1}: loss {float(loss):.4f} ({time.time() - t0:.0f} s) test top-1 " +
              " ".join(f"{n} {a:.4f}" for n, a in accuracies.items()), file=sys.stderr, flush=True)
        path, sidecar = save(args, model, accuracies, weights, step, epoch + 1, time.time() - t0, len(y_test), prep)
        if args.steps and step >= args.steps:
            break
    for n, a in accuracies.items():
        print(f"{n}: top-1 {a:.4f} on {len(y_test)} test images", file=sys.stderr)
    print(f"{path}, {sidecar}", file=sys.stderr)


if __name__ == "__main__":
    main()
