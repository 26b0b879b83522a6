"""Heavy load as a stream of frames (issue 22): the paper's heavy-load claims, comparable.

Per model and device, Device-Only's final-exit plan takes T_d ms a frame; the rates are those at
which its utilisation lambda T_d (lambda = F / 1000 frames per ms) is LOADS (0.5, 0.9, 1.2). At
each rate, every method's final-exit plan is put under the stream (`dapdee-plan --fps`, Poisson
and periodic arrivals, one client) on every network of the grid. The highest stable rate of each
method is 1000 / T_max of the plan the planner streams at the limit (dapdee: its least-T_max plan,
which is its heavy plan; a baseline: its one-frame plan, which --fps does not change), confirmed by
the planner itself: stable at (1 - MARGIN) times that rate, unstable at (1 + MARGIN) times.

Jobs are (meta, command) pairs like reproduce.py's; rows are the JSON Lines plus the meta.
"""
LOADS = [0.5, 0.9, 1.2]
ARRIVALS = ["poisson", "periodic"]
MARGIN = 1e-3
STREAM_FIELDS = "network,bandwidth_mbps,delay_ms,method,exit,exit_index,accuracy,T_d,T_t,T_e,latency_ms,T_max," \
                "throughput_fps,sent_bytes,meets_deadline,heavy_search,fps,arrivals,clients,stable,wait_ms," \
                "latency_p95_ms,latency_p95_method,backlog_growth_fps,utilisation"


def final_exit(dag):
    """The deepest exit's name (the one Device-Only and the exit-less baselines plan): the DAG
    lists its exits shallowest first."""
    return dag["exits"][-1]["name"]


def device_only_td(rows, model, device, exit_name):
    """T_d of Device-Only's one-frame plan of the final exit (the same at every network)."""
    tds = {r["T_d"] for r in rows if r["model"] == model and r["device"] == device and r["method"] == "device-only"
           and r["forced_exit"] == exit_name and r["requested_mode"] == "light"}
    if len(tds) != 1:
        raise RuntimeError(f"{model}/{device}: Device-Only's T_d is not one value: {sorted(tds)}")
    return tds.pop()


def rates(td):
    """{load: frames/s} at which Device-Only's utilisation is load."""
    return {load: load * 1000.0 / td for load in LOADS}


def _cmd(plan, dag, device, edge, networks, exit_name, extra):
    return [plan, dag, "--device", device, "--edge", edge, "--network", ",".join(networks), "--exit", exit_name,
            "--fields", STREAM_FIELDS, "--threads", "1", "--format", "jsonl"] + extra


def jobs(plan, cases, methods, networks):
    """cases: [(model, device, dag path, device profile, edge profile, final exit, T_d of Device-Only)].
    Per case and method: the one-frame light and heavy plans (no deadline) and the stream at the
    LOADS rates for each arrival process."""
    out = []
    for m, dev, dag, dprof, eprof, ex, td in cases:
        fps = ",".join(repr(f) for f in rates(td).values())
        for method in methods:
            base = {"model": m, "device": dev, "method": method, "forced_exit": ex, "td_device_only": td}
            for mode in ("light", "heavy"):
                out.append((dict(base, kind="one-frame", requested_mode=mode),
                            _cmd(plan, dag, dprof, eprof, networks, ex, ["--method", method, "--mode", mode])))
            for arr in ARRIVALS:
                out.append((dict(base, kind="stream", requested_mode="stream"),
                            _cmd(plan, dag, dprof, eprof, networks, ex, ["--method", method, "--fps", fps,
                                                                         "--arrivals", arr])))
    return out


def limit(method, one_frame):
    """The highest stable rate the planner allows `method` (frames/s): 1000 / T_max of the plan it
    streams at the limit; one_frame maps requested_mode to that method's one-frame plan."""
    plan = one_frame["heavy"] if method == "dapdee" else one_frame["light"]
    return 1000.0 / plan["T_max"]


def one_frame_index(rows):
    idx = {}
    for r in rows:
        if r.get("kind") == "one-frame":
            idx[(r["model"], r["device"], r["network"], r["method"], r["requested_mode"])] = r
    return idx


def limit_jobs(plan, cases, methods, networks, rows):
    """Per case, method and network: the stream just below and just above the method's limit,
    Poisson arrivals (a periodic stream at exactly the limit is still stable; Poisson is not)."""
    idx = one_frame_index(rows)
    out = []
    for m, dev, dag, dprof, eprof, ex, td in cases:
        for method in methods:
            for net in networks:
                one = {mode: idx[(m, dev, net, method, mode)] for mode in ("light", "heavy")}
                f = limit(method, one)
                out.append(({"model": m, "device": dev, "method": method, "forced_exit": ex, "td_device_only": td,
                             "kind": "limit", "requested_mode": "stream", "limit_fps": f},
                            _cmd(plan, dag, dprof, eprof, [net], ex, ["--method", method, "--fps",
                                                                     f"{f * (1 - MARGIN)!r},{f * (1 + MARGIN)!r}",
                                                                     "--arrivals", "poisson"])))
    return out


def load_of(r):
    """The Device-Only utilisation a stream row was planned at (its rate times T_d)."""
    return min(LOADS, key=lambda x: abs(x - r["fps"] * r["td_device_only"] / 1000.0))


def stream_table(rows):
    """One dict per (model, device, network, arrivals, load, method): the stream row with the
    one-frame light latency of the same method and the reduction vs Device-Only."""
    idx = one_frame_index(rows)
    streams = {}
    for r in rows:
        if r.get("kind") == "stream":
            streams[(r["model"], r["device"], r["network"], r["arrivals"], load_of(r), r["method"])] = r
    out = []
    for (m, dev, net, arr, load, method), r in sorted(streams.items(), key=lambda kv: kv[0]):
        o = streams[(m, dev, net, arr, load, "device-only")]
        light = idx[(m, dev, net, method, "light")]
        if not o["stable"]:
            red = "Device-Only unstable"
        elif not r["stable"]:
            red = "method unstable"
        else:
            red = 100 * (1 - r["latency_ms"] / o["latency_ms"])
        out.append({"model": m, "device": dev, "network": net, "arrivals": arr, "device_only_utilisation": load,
                    "fps": r["fps"], "method": method, "stable": r["stable"], "latency_ms": r["latency_ms"],
                    "wait_ms": r["wait_ms"], "latency_p95_ms": r["latency_p95_ms"], "T_d": r["T_d"], "T_t": r["T_t"],
                    "T_e": r["T_e"], "T_max": r["T_max"], "one_frame_latency_ms": light["latency_ms"],
                    "backlog_growth_fps": r.get("backlog_growth_fps"), "utilisation_device": r["utilisation"]["device"],
                    "utilisation_uplink": r["utilisation"]["uplink"], "utilisation_edge": r["utilisation"]["edge"],
                    "heavy_search": r.get("heavy_search"), "device_only_latency_ms": o["latency_ms"],
                    "latency_reduction_vs_device_only_pct": red})
    return out


def limit_table(rows):
    """One dict per (model, device, network, method): the highest stable rate, the planner's
    verdicts just below and above it, the 1000 / T_max of the method's one-frame heavy plan, and
    the gain over Device-Only."""
    idx = one_frame_index(rows)
    probes = {}
    for r in rows:
        if r.get("kind") == "limit":
            probes.setdefault((r["model"], r["device"], r["network"], r["method"]), []).append(r)
    out = []
    for (m, dev, net, method), ps in sorted(probes.items()):
        ps.sort(key=lambda r: r["fps"])
        f = ps[0]["limit_fps"]
        o = probes[(m, dev, net, "device-only")][0]["limit_fps"]
        out.append({"model": m, "device": dev, "network": net, "method": method, "highest_stable_fps": f,
                    "stable_below": ps[0]["stable"], "stable_above": ps[1]["stable"],
                    "heavy_plan_fps": 1000.0 / idx[(m, dev, net, method, "heavy")]["T_max"],
                    "light_plan_fps": 1000.0 / idx[(m, dev, net, method, "light")]["T_max"],
                    "gain_vs_device_only_x": f / o})
    return out


def sweep_jobs(plan, cases, methods, networks, points=60, top=1.5):
    """The full run's figure: every method's final exit under a Poisson stream from 1% to `top`
    times Device-Only's limit, `points` rates."""
    out = []
    for m, dev, dag, dprof, eprof, ex, td in cases:
        lim = 1000.0 / td
        for method in methods:
            out.append(({"model": m, "device": dev, "method": method, "forced_exit": ex, "td_device_only": td,
                         "kind": "sweep", "requested_mode": "stream"},
                        _cmd(plan, dag, dprof, eprof, networks, ex, ["--method", method, "--fps",
                                                                     f"{0.01 * lim!r}:{top * lim!r}:{points}",
                                                                     "--arrivals", "poisson"])))
    return out
