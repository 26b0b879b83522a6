"""Figures (Debian's python3-matplotlib, Agg) and REPORT.md of the reproduction (issue 11)."""
import csv
import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
METHOD_STYLE = {"dapdee": ("tab:red", "-", "o"), "dads": ("tab:blue", "--", "s"), "neurosurgeon": ("tab:green", "-.", "^"),
                "edgent": ("tab:purple", ":", "v"), "device-only": ("black", "-", "x"), "edge-only": ("tab:orange", "--", "d")}
PAPER = {"accuracy_loss_pct": 1.2, "latency_reduction_light_pct": 7.5, "latency_reduction_heavy_pct": 7.7,
         "throughput_gain_x": 9.9}
CLAIM_NETWORKS = ["CAT1", "3G", "4G"]


def _save(fig, out, name):
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"{name}.{ext}"), dpi=110)
    plt.close(fig)


def _panels(models, devices, networks):
    fig, axes = plt.subplots(len(models) * len(devices), len(networks),
                             figsize=(4.2 * len(networks), 3.1 * len(models) * len(devices)), squeeze=False)
    cells = []
    for i, (m, mlabel) in enumerate(models):
        for j, (dev, _, _) in enumerate(devices):
            for c, net in enumerate(networks):
                ax = axes[i * len(devices) + j][c]
                ax.set_title(f"{mlabel}, {dev} device, {net}", fontsize=9)
                cells.append((ax, m, dev, net))
    return fig, axes, cells


def _series(rows, m, dev, net, mode, method):
    pts = [r for r in rows if r["model"] == m and r["device"] == dev and r["network"] == net
           and r["requested_mode"] == mode and r["method"] == method]
    return sorted(pts, key=lambda r: r["deadline_ms"])


def fig_vs_deadline(out, rows, models, devices, networks, name, mode, ylabel, value):
    fig, axes, cells = _panels(models, devices, networks)
    for ax, m, dev, net in cells:
        for method, (color, ls, mk) in METHOD_STYLE.items():
            pts = _series(rows, m, dev, net, mode, method)
            ax.plot([p["deadline_ms"] for p in pts], [value(p) for p in pts], color=color, ls=ls, marker=mk,
                    ms=3, lw=1.2, label=method)
        ax.set_xscale("log")
        ax.set_xlabel("deadline (ms)", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    _save(fig, out, name)


def _final(per_exit, m, dev, net, mode, method):
    """The method's plan at the final exit, at the largest deadline (nearly unconstrained)."""
    pts = [r for r in per_exit if r["model"] == m and r["device"] == dev and r["network"] == net
           and r["requested_mode"] == mode and r["method"] == method]
    top = max(r["exit_index"] for r in pts)
    pts = [r for r in pts if r["exit_index"] == top]
    return max(pts, key=lambda r: r["deadline_ms"])


def fig_bars(out, per_exit, models, devices, networks, name, title, value):
    fig, axes = plt.subplots(len(models) * len(devices), 2, figsize=(12, 3.0 * len(models) * len(devices)), squeeze=False)
    methods = [m for m in METHOD_STYLE if m != "device-only"]
    for i, (m, mlabel) in enumerate(models):
        for j, (dev, _, _) in enumerate(devices):
            for c, mode in enumerate(("light", "heavy")):
                ax = axes[i * len(devices) + j][c]
                width = 0.8 / len(methods)
                for k, method in enumerate(methods):
                    vals = [value(_final(per_exit, m, dev, net, mode, method), _final(per_exit, m, dev, net, mode, "device-only"))
                            for net in networks]
                    ax.bar([x + k * width for x in range(len(networks))], vals, width, color=METHOD_STYLE[method][0],
                           label=method)
                ax.axhline(1.0, color="black", lw=0.8)
                ax.set_xticks([x + 0.4 - width / 2 for x in range(len(networks))], networks, fontsize=8)
                ax.set_yscale("log")
                ax.set_title(f"{mlabel}, {dev} device, {mode} load: {title}", fontsize=9)
                ax.grid(alpha=0.3, axis="y")
                ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7, ncol=2)
    _save(fig, out, name)


def claims(chosen, per_exit, models, devices, trained):
    """Per model and device: accuracy loss, latency reduction and throughput gain vs device-only."""
    out = []
    for m, mlabel in models:
        with open(os.path.join(trained, m + ".exits.json")) as f:
            acc = {e["name"]: e["accuracy"] for e in json.load(f)["exits"]}
        final_acc = acc["final"]
        for dev, _, _ in devices:
            met = [r for r in chosen if r["model"] == m and r["device"] == dev and r["method"] == "dapdee"
                   and r["network"] in CLAIM_NETWORKS and r["meets_deadline"]]
            losses = [100 * (final_acc - r["accuracy"]) for r in met]
            row = {"model": mlabel, "device": dev, "points_meeting_deadline": len(met),
                   "accuracy_loss_max_pct": round(max(losses), 2) if losses else None,
                   "accuracy_loss_mean_pct": round(sum(losses) / len(losses), 2) if losses else None}
            for mode in ("light", "heavy"):
                red, gain = [], []
                for net in CLAIM_NETWORKS:
                    d, o = _final(per_exit, m, dev, net, mode, "dapdee"), _final(per_exit, m, dev, net, mode, "device-only")
                    red.append(100 * (1 - d["latency_ms"] / o["latency_ms"]))
                    gain.append(d["throughput_fps"] / o["throughput_fps"])
                row[f"latency_reduction_{mode}_pct"] = round(sum(red) / len(red), 2)
                row[f"throughput_gain_{mode}_x"] = round(sum(gain) / len(gain), 2)
            out.append(row)
    return out


def write(out, chosen, per_exit, models, devices, networks, deadlines, trained):
    fig_vs_deadline(out, chosen, models, devices, networks[:3], "fig11_accuracy", "light", "accuracy (0 when missed)",
                    lambda p: p["accuracy"] if p["meets_deadline"] else 0.0)
    fig_vs_deadline(out, chosen, models, devices, networks[:3], "fig12_latency", "light", "latency (ms)",
                    lambda p: p["latency_ms"])
    fig_vs_deadline(out, chosen, models, devices, networks[:3], "fig13_throughput", "heavy",
                    "throughput (frames/s, 0 when missed)", lambda p: p["throughput_fps"] if p["meets_deadline"] else 0.0)
    fig_bars(out, per_exit, models, devices, networks, "fig14_16_speedup", "latency speed-up over device-only",
             lambda d, o: o["latency_ms"] / d["latency_ms"])
    fig_bars(out, per_exit, models, devices, networks, "fig15_17_throughput_gain", "throughput gain over device-only",
             lambda d, o: d["throughput_fps"] / o["throughput_fps"])
    rows = claims(chosen, per_exit, models, devices, trained)
    with open(os.path.join(out, "claims.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    write_report(out, rows, models, devices, networks, deadlines, trained)


def write_report(out, rows, models, devices, networks, deadlines, trained):
    acc_lines, loss_words, near_words = [], [], []
    for m, mlabel in models:
        with open(os.path.join(trained, m + ".exits.json")) as f:
            side = json.load(f)
        exits = side["exits"]
        final = [e for e in exits if e["name"] == "final"][0]["accuracy"]
        meas = side.get("measured", {})
        acc_lines.append(f"| {mlabel} | " + ", ".join(
            f"{e['name']} {100 * e['accuracy']:.2f}% ({100 * (e['accuracy'] - final):+.2f})" for e in exits) +
            f" | {meas.get('epochs', '?')} epochs, {meas.get('wall_s', '?')} s |")
        first = exits[0]
        loss_words.append(f"{100 * (final - first['accuracy']):.0f} points ({mlabel}'s {first['name']}, "
                          f"{meas.get('epochs', '?')} epochs)")
        if len(exits) > 1:
            last_two = exits[-2]
            near_words.append(f"{100 * (final - last_two['accuracy']):.2f} points for {mlabel} "
                              f"({last_two['name']} {100 * last_two['accuracy']:.2f}% vs final {100 * final:.2f}%)")
    claim_lines = []
    for r in rows:
        claim_lines.append(
            f"| {r['model']} | {r['device']} | {r['accuracy_loss_max_pct']} (mean {r['accuracy_loss_mean_pct']}) | "
            f"{r['latency_reduction_light_pct']} | {r['latency_reduction_heavy_pct']} | "
            f"{r['throughput_gain_light_x']} | {r['throughput_gain_heavy_x']} |")
    text = f"""# The paper's evaluation, reproduced

Made by `scripts/reproduce` (this file, the figures and the CSVs are its output; `--quick`, the
CI version, checks the invariants only). Every number comes from `dapdee-plan` JSON Lines.

## Setup
- Models: the zoo's EE-VGG16 and EE-AlexNet (`models/`), exits trained on Fashion-MNIST
  (`models/trained/`, see `models/README.md`); accuracies on the 10,000 test images:

| model | exit accuracies (difference to the final exit, points) | training |
|---|---|---|
{chr(10).join(acc_lines)}

- Devices: {"; ".join(f"`{d}`: {desc}" for d, _, desc in devices)}. Edge: T4-class (roofline prediction,
  `profiles/predicted/*.edge-t4.json`).
- Networks: {", ".join(networks)} (`networks/`: DADS's Table I uplinks; the delays are this project's
  assumptions). Deadlines: {len(deadlines)} log-spaced values from {deadlines[0]} to {deadlines[-1]} ms.
- Methods: every `--method`, light and heavy load.

## The paper's claims beside ours
Over CAT1, 3G and 4G. Accuracy loss: the final exit's accuracy minus the chosen exit's, over
every point where dapdee meets the deadline (points: {", ".join(str(r['points_meeting_deadline']) for r in rows)}).
Latency reduction and throughput gain: dapdee vs Device-Only at the final exit (largest deadline),
averaged over the three networks.

| | accuracy loss, max (points) | latency reduction, light (%) | latency reduction, heavy (%) | throughput gain, light (x) | throughput gain, heavy (x) |
|---|---|---|---|---|---|
| paper | < {PAPER['accuracy_loss_pct']} | {PAPER['latency_reduction_light_pct']} | {PAPER['latency_reduction_heavy_pct']} | | {PAPER['throughput_gain_x']} |

| model | device | accuracy loss, max (mean) | latency reduction, light (%) | latency reduction, heavy (%) | throughput gain, light (x) | throughput gain, heavy (x) |
|---|---|---|---|---|---|---|
{chr(10).join(claim_lines)}

## Figures
Accuracy against the deadline (Fig. 11; a missed deadline counts as no answer, accuracy 0):

![accuracy](fig11_accuracy.png)

Latency against the deadline (Fig. 12):

![latency](fig12_latency.png)

Throughput against the deadline, heavy load (Fig. 13; 0 when the deadline is missed):

![throughput](fig13_throughput.png)

Latency speed-up over Device-Only per network, light and heavy load (Figs. 14 and 16):

![speed-up](fig14_16_speedup.png)

Throughput gain over Device-Only per network, light and heavy load (Figs. 15 and 17):

![throughput gain](fig15_17_throughput_gain.png)

## Where our numbers differ from the paper's, and why
- Data set and models: the exits are trained on Fashion-MNIST (28x28 grey, resized to 32x32),
  not CIFAR-10 (no copy is reachable here), for a short schedule; early exits lose more accuracy
  here than the paper's, so deadlines that force an early exit cost more accuracy.
- Profiles: the edge is a roofline prediction of a T4-class GPU, tens of times faster than either
  device; the paper measures its own edge server. With such an edge, offloading the whole network
  wins as soon as the link carries the input quickly, which inflates gains on fast links and
  makes them vanish on CAT1.
- The device is either this machine's CPU (fast: device-only is hard to beat) or a predicted
  Raspberry-Pi-4-class board (slow: offloading pays); the paper's robot sits somewhere between.
- Delays are assumed (`networks/`), not measured; they add to every offloaded plan's latency.
- Throughput gain (heavy load) compares pipelined `1000 / T_max`; with a fast edge the link is
  the bottleneck stage, so the gain follows the uplink bandwidth.
- Latency under heavy load: our `latency_ms` is one frame's latency through the pipelined plan,
  without queueing; a heavy plan trades it for throughput (lower `T_max`), so it is above
  Device-Only's here (negative "reduction"). The paper's heavy-load latency includes frames
  waiting for a busy device, which grows without bound for Device-Only once frames arrive faster
  than `1000 / T_d` per second; we do not model arrivals, so that claim is not comparable.
- Accuracy loss: the paper's exits lose at most 1.2 points; ours lose up to {" and ".join(loss_words)},
  so deadlines that only the first exit can meet cost that much. With deadlines that the exit
  before the final one can meet, the loss is {"; ".join(near_words)}.
"""
    with open(os.path.join(out, "REPORT.md"), "w") as f:
        f.write(text)
