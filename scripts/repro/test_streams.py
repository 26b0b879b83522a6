#!/usr/bin/python3
"""The stream invariants (invariants.check_streams) find violations: a clean set passes, broken
ones fail. Rows are built as reproduce.py collects them (dapdee-plan JSON Lines plus the job's
meta), then broken on purpose, one way each. ctest: reproduce_stream_checker_catches_violations.
"""
import copy
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import invariants  # noqa: E402

TD = 10.0  # Device-Only's T_d: its limit is 100 frames/s
passed, failed = 0, 0


def expect(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED: " + what)


def meta(method, kind, **kw):
    return dict({"model": "ee", "device": "cpu", "network": "3G", "method": method, "forced_exit": "final",
                 "td_device_only": TD, "kind": kind}, **kw)


def one_frame(method, mode, latency, t_max):
    return meta(method, "one-frame", requested_mode=mode, latency_ms=latency, T_max=t_max)


def stream(method, arrivals, fps, stages, delay, light):
    """A one-client stream of a plan with stage times `stages` (device, uplink, edge)."""
    t_max = max(stages)
    rho = fps * t_max / 1000
    stable = rho < 1 if arrivals == "poisson" else rho <= 1
    wait = (rho * t_max / (2 * (1 - rho)) if arrivals == "poisson" else 0.0) if stable else None
    return meta(method, "stream", requested_mode="stream", arrivals=arrivals, fps=fps, stable=stable,
                latency_ms=light + wait if stable else None, wait_ms=wait, meets_deadline=stable,
                backlog_growth_fps=None if stable else fps - 1000 / t_max, heavy_search="exact",
                utilisation={k: fps * t / 1000 for k, t in zip(("device", "uplink", "edge"), stages)},
                T_max=t_max, delay=delay)


def limit(method, f, stable_below=True, stable_above=False):
    return [meta(method, "limit", requested_mode="stream", limit_fps=f, fps=f * 0.999, stable=stable_below),
            meta(method, "limit", requested_mode="stream", limit_fps=f, fps=f * 1.001, stable=stable_above)]


def clean():
    # Device-Only (and DADS, which keeps it): T_d 10 ms. dapdee streams an offloaded plan:
    # 4 + 5 + 1 ms and a 2 ms delay (12 ms one frame, T_max 5 ms) except periodic frames below
    # Device-Only's saturation, which wait nothing: there it keeps its light plan, Device-Only's.
    rows = [one_frame(m, "light", TD, TD) for m in ("device-only", "dads")] + \
           [one_frame(m, "heavy", TD, TD) for m in ("device-only", "dads")] + \
           [one_frame("dapdee", "light", TD, TD), one_frame("dapdee", "heavy", 12.0, 5.0)]
    for arrivals in ("poisson", "periodic"):
        for load in (0.5, 0.9, 1.2):
            fps = load * 1000 / TD
            rows += [stream("device-only", arrivals, fps, (TD, 0, 0), 0, TD),
                     stream("dads", arrivals, fps, (TD, 0, 0), 0, TD),
                     stream("dapdee", arrivals, fps, (TD, 0, 0), 0, TD) if arrivals == "periodic" and load < 1
                     else stream("dapdee", arrivals, fps, (4.0, 5.0, 1.0), 2.0, 12.0)]
    return rows + limit("device-only", 100.0) + limit("dads", 100.0) + limit("dapdee", 200.0)


def where(method, arrivals=None, load=None, kind="stream"):
    def match(r):
        return r["kind"] == kind and r["method"] == method and (arrivals is None or r.get("arrivals") == arrivals) \
            and (load is None or abs(r["fps"] - load * 1000 / TD) < 1e-9)
    return match


def main():
    checks, problems = invariants.check_streams(clean())
    expect(checks > 0 and not problems, f"a clean set passes: {problems}")
    broken = {
        "dapdee's stream latency above Device-Only's": (where("dapdee", "poisson", 0.9),
                                                         lambda r: r.update(latency_ms=60.0, wait_ms=48.0)),
        "dapdee unstable where a baseline is stable": (where("dapdee", "poisson", 0.5),
                                                        lambda r: r.update(stable=False, latency_ms=None,
                                                                           wait_ms=None, meets_deadline=False,
                                                                           backlog_growth_fps=1.0)),
        "a stream below its one-frame light latency": (where("dads", "poisson", 0.5),
                                                       lambda r: r.update(latency_ms=9.0)),
        "Device-Only stable past utilisation 1": (where("device-only", "poisson", 1.2),
                                                  lambda r: r.update(stable=True, latency_ms=100.0, wait_ms=90.0)),
        "Device-Only's utilisation not the load": (where("device-only", "periodic", 0.5),
                                                   lambda r: r["utilisation"].update(device=0.45)),
        "an unstable stream with a latency": (where("dads", "periodic", 1.2), lambda r: r.update(latency_ms=50.0)),
        "periodic arrivals waiting below saturation": (where("dads", "periodic", 0.9),
                                                       lambda r: r.update(wait_ms=1.0, latency_ms=11.0)),
        "a negative backlog growth": (where("device-only", "poisson", 1.2),
                                      lambda r: r.update(backlog_growth_fps=-1.0)),
        "unstable just below the limit": (where("dapdee", kind="limit"),
                                          lambda r: r["fps"] < r["limit_fps"] and r.update(stable=False)),
        "stable just above the limit": (where("dads", kind="limit"),
                                        lambda r: r["fps"] > r["limit_fps"] and r.update(stable=True)),
        "a baseline's limit above dapdee's": (where("dads", kind="limit"), lambda r: r.update(limit_fps=250.0)),
    }
    for what, (match, mutate) in broken.items():
        rows = copy.deepcopy(clean())
        hit = [r for r in rows if match(r)]
        expect(bool(hit), f"the clean set has a row to break for: {what}")
        for r in hit:
            mutate(r)
        _, problems = invariants.check_streams(rows)
        expect(len(problems) > 0, f"caught: {what}")
    print(f"stream invariants test: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
