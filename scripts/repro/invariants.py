"""Invariants of the reproduction (issue 11), checked on the JSON Lines that dapdee-plan wrote.

Rows are dapdee-plan/1 objects plus model, device, requested_mode, method and forced_exit ("" when
the method chose its exit). At one point (model, device, mode, network, deadline):
1. light load, same exit: dapdee's latency is never above any baseline's;
2. heavy load, same exit: dapdee meets the deadline whenever a baseline does there, and its T_max is
   never above the T_max of any baseline plan that meets the deadline;
3. dapdee's chosen exit meets the deadline whenever any exit can (its per-exit plan does);
4. dapdee's chosen accuracy is the best among exits whose plan meets the deadline, and never below
   the accuracy of any baseline's chosen plan that meets it.

check_streams does the same for the stream rows (streams.py; final exit, no deadline):
5. Device-Only's utilisation is the rate's load, stable below 1 and unstable above;
6. a stable stream has a finite latency, no negative waiting, no waiting at all with periodic
   arrivals (one client: none below saturation), a latency no lower than its method's one-frame
   light latency (waiting only adds), and no stage at or past saturation; an unstable one has a
   null latency, no deadline met, a stage at utilisation >= 1 and a backlog growth >= 0;
7. dapdee is stable whenever a baseline is, at a latency no higher: it minimises over every
   partition of the exit, which includes each baseline's (for Device-Only always; for the others
   where its search is exact);
8. each method's highest stable rate is the planner's: stable just below, unstable just above;
   dapdee's is never below a baseline's.
"""
import streams

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


def check_streams(rows):
    """Returns (checks made, list of violation messages) over the stream, one-frame and limit rows."""
    problems, checks = [], 0
    idx = streams.one_frame_index(rows)
    by_point = {}
    for r in rows:
        if r.get("kind") != "stream":
            continue
        load = streams.load_of(r)
        pt = (r["model"], r["device"], r["network"], r["arrivals"], load)
        by_point.setdefault(pt, {})[r["method"]] = r
        where = f"{pt} {r['method']}"
        util = max(r["utilisation"].values())
        checks += 1
        if r["method"] == "device-only":
            if abs(r["utilisation"]["device"] - load) > 1e-9 * max(1.0, load):
                problems.append(f"{where}: Device-Only's utilisation {r['utilisation']['device']} is not the load")
            if r["stable"] != (load < 1):
                problems.append(f"{where}: Device-Only stable={r['stable']} at utilisation {load}")
        if r["stable"]:
            light = idx[(r["model"], r["device"], r["network"], r["method"], "light")]["latency_ms"]
            if r["latency_ms"] is None or r["wait_ms"] is None or r["wait_ms"] < 0:
                problems.append(f"{where}: stable but latency {r['latency_ms']}, waiting {r['wait_ms']}")
            elif not _le(light, r["latency_ms"]):
                problems.append(f"{where}: stream latency {r['latency_ms']} below the one-frame light {light}")
            elif r["arrivals"] == "periodic" and r["wait_ms"] != 0:
                problems.append(f"{where}: periodic, stable, yet waits {r['wait_ms']} ms")
            if util > 1 or (r["arrivals"] == "poisson" and util >= 1):
                problems.append(f"{where}: stable at utilisation {util}")
        else:
            if r["latency_ms"] is not None or r["meets_deadline"]:
                problems.append(f"{where}: unstable but latency {r['latency_ms']}, meets {r['meets_deadline']}")
            if util < 1 or (r["arrivals"] == "periodic" and util <= 1):
                problems.append(f"{where}: unstable at utilisation {util}")
            if r.get("backlog_growth_fps") is None or r["backlog_growth_fps"] < 0:
                problems.append(f"{where}: unstable, backlog growth {r.get('backlog_growth_fps')}")
    for pt, ms in by_point.items():
        d = ms.get("dapdee")
        if d is None:
            problems.append(f"{pt}: no dapdee stream")
            continue
        for method, b in ms.items():
            if method == "dapdee" or (method != "device-only" and d["heavy_search"] != "exact"):
                continue
            checks += 1
            if b["stable"] and not d["stable"]:
                problems.append(f"{pt}: {method} stable, dapdee not")
            elif b["stable"] and not _le(d["latency_ms"], b["latency_ms"]):
                problems.append(f"{pt}: dapdee's stream latency {d['latency_ms']} above {method}'s {b['latency_ms']}")
    limits = {}
    for r in rows:
        if r.get("kind") == "limit":
            limits.setdefault((r["model"], r["device"], r["network"], r["method"]), []).append(r)
    for (m, dev, net, method), ps in limits.items():
        checks += 1
        ps.sort(key=lambda r: r["fps"])
        if len(ps) != 2 or not ps[0]["stable"] or ps[1]["stable"]:
            problems.append(f"{(m, dev, net)} {method}: the limit {ps[0]['limit_fps']} frames/s is not where the "
                            f"planner's stability ends: {[(r['fps'], r['stable']) for r in ps]}")
        d = limits.get((m, dev, net, "dapdee"))
        if method != "dapdee" and d and not _le(ps[0]["limit_fps"], d[0]["limit_fps"]):
            problems.append(f"{(m, dev, net)}: {method}'s highest stable rate {ps[0]['limit_fps']} above dapdee's "
                            f"{d[0]['limit_fps']}")
    return checks, problems
