#!/usr/bin/python3
"""Offline multi-task training of the exit classifiers (DAPDEE's offline stage).

Loss = sum_k w_k * CrossEntropy(exit_k), the weighted sum BranchyNet trains with. Default
weights are all 1.0 (equal weighting); pass --weights to change them, one per exit, final last.
Two ways, as the paper's offline stage allows:
  --train joint   the whole network (backbone and heads) is trained;
  --train heads   the backbone is frozen and only the exit heads learn (deployment then only
                  loads the heads' parameters).
CIFAR-10 is read from --data (the python-pickle layout); nothing is downloaded. Each exit's top-1
accuracy on the test split is measured and written into the sidecar and into the ONNX
metadata_props (`dapdee.exits`) that dapdee-import reads.

    /usr/bin/python3 scripts/zoo/train_exits.py --model ee_vgg16 --data cifar-10-batches-py --epochs 30 --out out/
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cifar  # noqa: E402
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(zoo.MODELS))
    ap.add_argument("--data", required=True, help="folder with CIFAR-10's data_batch_* and test_batch")
    ap.add_argument("--out", required=True, help="folder for <model>.onnx (with weights) and <model>.exits.json")
    ap.add_argument("--train", choices=["joint", "heads"], default="joint")
    ap.add_argument("--weights", type=float, nargs="*", help="loss weight per exit, final last (default: all 1.0)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: full epochs)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--init", help="state_dict of a trained backbone to start from (for --train heads)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

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

    x_train, y_train = cifar.load_split(args.data, train=True)
    x_test, y_test = cifar.load_split(args.data, train=False)
    step, t0 = 0, time.time()
    for epoch in range(args.epochs):
        model.train()
        if args.train == "heads":
            for s in model.stages:
                s.eval()  # frozen backbone: keep its BatchNorm statistics too
        perm = torch.randperm(len(y_train))
        for i in range(0, len(perm), args.batch_size):
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
        print(f"epoch {epoch + 1}: loss {float(loss):.4f} ({time.time() - t0:.0f} s)", file=sys.stderr)
        if args.steps and step >= args.steps:
            break

    acc = evaluate(model, x_test, y_test, args.batch_size, args.device)
    names = zoo.output_names(n_exits)
    accuracies = {n: round(a, 4) for n, a in zip(names, acc)}
    for n, a in accuracies.items():
        print(f"{n}: top-1 {a:.4f} on {len(y_test)} test images", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    model = model.cpu()
    path = exporter.export(model, args.model, args.out, keep_weights=True, accuracies=accuracies)
    sidecar = os.path.join(args.out, args.model + ".exits.json")
    with open(sidecar) as f:
        meta = json.load(f)
    meta["measured"] = {"dataset": os.path.abspath(args.data), "test_images": len(y_test), "train": args.train,
                        "weights": weights, "epochs": args.epochs, "steps": step, "command": " ".join(sys.argv)}
    with open(sidecar, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"{path}, {sidecar}", file=sys.stderr)


if __name__ == "__main__":
    main()
