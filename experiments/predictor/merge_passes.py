#!/usr/bin/python3
"""Merges several measurements of the same models into one training set: per model, each node's
`ms` is the median over the passes that have the node, and `total_ms` the median of the totals.
Used to train the predictor on all passes but one and judge it on the one left out.

    /usr/bin/python3 experiments/predictor/merge_passes.py OUT_DIR PASS_DIR PASS_DIR [PASS_DIR ...]

A model missing from the first pass is left out; one missing from another pass is merged from
the passes that have it. Exits 2 on usage errors. Standard library only.
"""
import json
import os
import statistics
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, passes = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for f in sorted(os.listdir(passes[0])):
        if not f.endswith('.json'):
            continue
        ps = []
        for d in passes:
            if os.path.exists(os.path.join(d, f)):
                with open(os.path.join(d, f)) as h:
                    ps.append(json.load(h))
        j = ps[0]
        for name, v in j['nodes'].items():
            v['ms'] = statistics.median(p['nodes'][name]['ms'] for p in ps if name in p['nodes'])
        j['total_ms'] = statistics.median(p['total_ms'] for p in ps)
        j['total']['ms'] = j['total_ms']
        j['merged_from'] = [os.path.basename(os.path.normpath(d)) for d in passes]
        with open(os.path.join(out, f), 'w') as h:
            json.dump(j, h, indent=1)
            h.write('\n')


if __name__ == '__main__':
    main()
