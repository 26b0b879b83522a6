#!/usr/bin/python3
"""The spread between six measurements of five models (MODEL.PASS.txt: per round the reference's
ms, the model's ms, their ratio; experiments/predictor/alternate.cpp) for several statistics: raw
median, raw p10, and the reference-normalised ones. Prints max/min - 1 over the passes, in %."""
import glob, os, sys
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
models = sorted({os.path.basename(f).split('.')[0] for f in glob.glob(os.path.join(here, '*.txt'))})
stats = {
    'raw median': lambda r, m: np.median(m),
    'raw p10': lambda r, m: np.percentile(m, 10),
    'median of per-round ratios': lambda r, m: np.median(m / r),
    'ratio of medians': lambda r, m: np.median(m) / np.median(r),
    'ratio of p10s': lambda r, m: np.percentile(m, 10) / np.percentile(r, 10),
}
print(f"{'statistic':28s}" + ''.join(f'{m[:12]:>13s}' for m in models) + '     mean')
for name, f in stats.items():
    row = []
    for m in models:
        v = [f(d[:, 0], d[:, 1]) for d in (np.loadtxt(p) for p in sorted(glob.glob(os.path.join(here, f'{m}.*.txt'))))]
        row.append((max(v) / min(v) - 1) * 100)
    print(f'{name:28s}' + ''.join(f'{x:12.1f}%' for x in row) + f'{np.mean(row):8.1f}%')
corr = [np.corrcoef(d[:, 0], d[:, 1])[0, 1] for d in (np.loadtxt(p) for p in glob.glob(os.path.join(here, '*.txt')))]
print(f'per-round correlation of the two models\' times: median {np.median(corr):.2f} over {len(corr)} measurements')
