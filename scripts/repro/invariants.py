"""Invariants of the reproduction (issue 11), checked on the JSON Lines that dapdee-plan wrote.

Rows are dapdee-plan/1 objects plus model, device, requested_mode, method and forced_exit ("" when
the method chose its exit). At one point (model, device, mode, network, deadline):
1. light load, same exit: dapdee's latency is never above any baseline's;
2. heavy load, same exit: dapdee meets the deadline whenever a baseline does there, and its T_max is
   never above the T_max of any baseline plan that meets the deadline;
3. dapdee's chosen exit meets the deadline whenever any exit can (its per-exit plan does);
4. dapdee's chosen accuracy is the best among exits whose plan meets the deadline, and never below
   the accuracy of any baseline's chosen plan that meets it.
"""

REL = 1e-9


def _point(r):
    return (r["model"], r["device"], r["requested_mode"], r["network"], r["deadline_ms"])


def _le(a, b):
    return a <= b + REL * max(1.0, abs(b))


def check(rows):
    """Returns (checks made, list of violation messages)."""
    per_exit, chosen = {}, {}
    for r in rows:
        if r["forced_exit"]:
            per_exit[(_point(r), r["method"], r["exit"])] = r
        else:
            chosen[(_point(r), r["method"])] = r
    problems, checks = [], 0
    for (pt, method, ex), b in per_exit.items():
        if method == "dapdee":
            continue
        d = per_exit.get((pt, "dapdee", ex))
        if d is None:
            problems.append(f"{pt} exit {ex}: no dapdee plan to compare with {method}")
            continue
        checks += 1
        where = f"{pt} exit {ex} vs {method}"
        if pt[2] == "light" and not _le(d["latency_ms"], b["latency_ms"]):
            problems.append(f"{where}: dapdee light latency {d['latency_ms']} > {b['latency_ms']}")
        if pt[2] == "heavy" and b["meets_deadline"]:
            if not d["meets_deadline"]:
                problems.append(f"{where}: {method} meets the deadline, dapdee heavy does not")
            elif not _le(d["T_max"], b["T_max"]):
                problems.append(f"{where}: dapdee heavy T_max {d['T_max']} > {b['T_max']}")
    for (pt, method), c in chosen.items():
        if method != "dapdee":
            continue
        feasible = [r for (p, m, _), r in per_exit.items() if p == pt and m == "dapdee" and r["meets_deadline"]]
        checks += 1
        if feasible and not c["meets_deadline"]:
            problems.append(f"{pt}: an exit meets the deadline but the chosen exit {c['exit']} does not")
            continue
        if not c["meets_deadline"]:
            continue
        known = [r["accuracy"] for r in feasible if r["accuracy"] is not None]
        if c["accuracy"] is not None and known and not _le(max(known), c["accuracy"]):
            problems.append(f"{pt}: chosen accuracy {c['accuracy']} below the best feasible exit's {max(known)}")
        for m in ("dads", "neurosurgeon", "edgent", "device-only", "edge-only"):
            b = chosen.get((pt, m))
            if b and b["meets_deadline"] and b["accuracy"] is not None and c["accuracy"] is not None \
                    and not _le(b["accuracy"], c["accuracy"]):
                problems.append(f"{pt}: {m}'s accuracy {b['accuracy']} above dapdee's {c['accuracy']}")
    return checks, problems
