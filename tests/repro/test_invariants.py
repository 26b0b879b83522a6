#!/usr/bin/python3
"""The reproduction's invariant checker finds violations: a clean set passes, broken ones fail.

Rows are built as dapdee-plan writes them (JSON Lines), then broken on purpose, one way each.
"""
import copy
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "repro"))
import invariants  # noqa: E402

passed, failed = 0, 0


def expect(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED: " + what)


def row(method, mode, forced, exit_name, idx, acc, lat, tmax, meets):
    return json.loads(json.dumps({
        "format": "dapdee-plan/1", "model": "ee", "device": "cpu", "requested_mode": mode, "method": method,
        "forced_exit": forced, "network": "3G", "deadline_ms": 20.0, "exit": exit_name, "exit_index": idx,
        "accuracy": acc, "latency_ms": lat, "T_max": tmax, "meets_deadline": meets}))


def clean():
    rows = []
    for mode in ("light", "heavy"):
        # dapdee: exit1 (0.80) in 10 ms, final (0.90) in 18 ms; dads: final in 25 ms (misses).
        rows += [row("dapdee", mode, "exit1", "exit1", 1, 0.80, 10, 8, True),
                 row("dapdee", mode, "final", "final", 2, 0.90, 18, 12, True),
                 row("dapdee", mode, "", "final", 2, 0.90, 18, 12, True),
                 row("dads", mode, "exit1", "exit1", 1, 0.80, 12, 9, True),
                 row("dads", mode, "final", "final", 2, 0.90, 25, 20, False),
                 row("dads", mode, "", "final", 2, 0.90, 25, 20, False)]
    return rows


def main():
    checks, problems = invariants.check(clean())
    expect(checks > 0 and not problems, f"a clean set passes: {problems}")
    broken = {
        "light latency above a baseline's": lambda r: r["method"] == "dapdee" and r["requested_mode"] == "light"
        and r["forced_exit"] == "exit1" and r.update(latency_ms=13),
        "heavy T_max above a baseline's that meets the deadline": lambda r: r["method"] == "dapdee"
        and r["requested_mode"] == "heavy" and r["forced_exit"] == "exit1" and r.update(T_max=9.5),
        "chosen exit misses while one exit meets": lambda r: r["method"] == "dapdee" and not r["forced_exit"]
        and r.update(meets_deadline=False),
        "chosen accuracy below the best feasible": lambda r: r["method"] == "dapdee" and not r["forced_exit"]
        and r.update(exit="exit1", exit_index=1, accuracy=0.80),
    }
    for what, mutate in broken.items():
        rows = copy.deepcopy(clean())
        for r in rows:
            mutate(r)
        _, problems = invariants.check(rows)
        expect(len(problems) > 0, f"caught: {what}")
    print(f"invariants test: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
