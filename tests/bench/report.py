"""report.py - merges the load generator's JSON files of one benchmark run
into tests/bench/results/<timestamp>.json and prints the table of issue 8's
goals beside the figures (goals are never pass/fail: the table says "met" or
"not met" and the JSON keeps every phase for the analysis)."""
import argparse
import json
import os
import platform


def load(path):
    with open(path) as f:
        return json.load(f)


def phase(run, name):
    for p in run.get("phases", []):
        if p.get("phase") == name:
            return p
    return None


def knee_step(run):
    """The last step of the step-up that stayed under the knee rule."""
    k = phase(run, "knee")
    steps = [p for p in run.get("phases", []) if p["phase"].startswith("knee_")]
    if not k or not steps:
        return None
    good = [s for s in steps if abs(s.get("rate_offered", 0) - k.get("knee_posts_per_s", -1)) < 0.5]
    return good[-1] if good else None


def machine():
    cores = os.cpu_count()
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024 // 1024
    except OSError:
        pass
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": cores, "mem_gib": mem, "cpu": model,
            "kernel": platform.release(),
            "loadavg_at_report": list(os.getloadavg())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--cold-empty", type=float, default=0)
    ap.add_argument("--setup-s", type=float, default=0)
    ap.add_argument("--quick", default="0")
    ap.add_argument("--scales", required=True)
    ap.add_argument("--login-storm", default="")
    a = ap.parse_args()

    scales = [int(s) for s in a.scales.split()]
    runs = {}
    for n in scales:
        r = load(os.path.join(a.tmp, "scale-%d.json" % n))
        r.update(load(os.path.join(a.tmp, "cold-%d.json" % n)))
        runs[n] = r
    raw = json.loads(a.raw)
    top = max(scales)
    R = runs[top]
    res = {"machine": machine(), "quick": a.quick == "1",
           "setup_s": a.setup_s, "cold_start_empty_s": a.cold_empty,
           "raw_loopback": raw, "scales": {str(n): runs[n] for n in scales}}

    rows = []

    def row(name, value, goal, ok, note=""):
        rows.append((name, value, goal,
                     "" if ok is None else ("met" if ok else "NOT met"),
                     note))

    idle = phase(R, "idle")
    if idle:
        v = idle["rss_bytes_per_idle_conn"]
        row("server RSS per idle connection (%d conns)" % top,
            "%.0f B" % v, "<= 2,500 B", v <= 2500)
    k = phase(R, "knee")
    stp = phase(R, "steady")
    raw_us = raw["raw_cpu_us_per_write"]
    cpu, where = None, ""
    steps = [p for p in R.get("phases", []) if p["phase"].startswith("knee_")
             and not p.get("lost_total") and p.get("cpu_us_per_delivery")]
    if k and k.get("knee_cpu_us_per_delivery"):
        cpu, where = k["knee_cpu_us_per_delivery"], "at the knee"
    elif steps:
        top_step = max(steps, key=lambda p: p["deliveries_per_s"])
        cpu = top_step["cpu_us_per_delivery"]
        where = "at %.0f deliveries/s" % top_step["deliveries_per_s"]
    elif stp and stp.get("cpu_us_per_delivery"):
        cpu, where = stp["cpu_us_per_delivery"], "steady phase"
    if cpu is not None:
        row("server CPU per delivered event (%s)" % where, "%.2f us" % cpu,
            "<= 9 us (stretch 7)", cpu <= 9,
            "raw loopback write(): %.2f us, ratio %.1fx" %
            (raw_us, cpu / raw_us if raw_us else 0))
    if k:
        d = k["knee_deliveries_per_s"]
        p99 = k["knee_fanout_p99_ms"]
        row("deliveries/s at the knee, %d conns, 100-member circles" % top,
            "%.0f/s, p99 fan-out %.1f ms" % (d, p99),
            ">= 120,000/s with p99 <= 20 ms", d >= 120000 and p99 <= 20,
            "at %.0f posts/s; sustained without loss: %.0f/s at p99 %.1f ms"
            % (k["knee_posts_per_s"], k.get("max_deliveries_per_s", 0),
               k.get("max_fanout_p99_ms", 0)))
    w = phase(R, "writers")
    b = phase(R, "baseline")
    if w:
        v = w["creates_per_s"]
        note = ""
        if b and b["creates_per_s"]:
            note = ("one write at a time: %.0f/s; group commit speed-up %.1fx"
                    % (b["creates_per_s"], v / b["creates_per_s"]))
        row("acked annotation.create/s, durability full", "%.0f/s" % v,
            ">= 30,000/s", v >= 30000, note)
    rd = phase(R, "reads")
    if rd and "ack_annotation.list" in rd:
        h = rd["ack_annotation.list"]
        row("annotation.list (200-item page of 2,000) under write load",
            "p50 %.2f ms, p99 %.2f ms" % (h["p50_ms"], h["p99_ms"]),
            "p50 <= 1.5 ms, p99 <= 10 ms",
            h["p50_ms"] <= 1.5 and h["p99_ms"] <= 10)
    if rd and "ack_chapter.get" in rd:
        h = rd["ack_chapter.get"]
        row("chapter.get under write load",
            "p50 %.2f ms, p99 %.2f ms" % (h["p50_ms"], h["p99_ms"]), "-",
            None)
    s = phase(R, "storm")
    sc = phase(R, "storm_control")
    if s:
        v = s["fanout"]["p99_ms"]
        note = "login p50 %.1f ms, p99 %.1f ms (%d logins)" % (
            s["login"]["p50_ms"], s["login"]["p99_ms"], s["login"]["n"])
        if sc:
            note += "; without the storm p99 %.1f ms" % sc["fanout"]["p99_ms"]
        row("bystander event latency during a %d-login storm" %
            s["login"]["n"], "p99 %.1f ms" % v, "p99 <= 20 ms", v <= 20, note)
    if a.login_storm and os.path.exists(a.login_storm):
        ls = load(a.login_storm)
        res["login_storm_production_hashing"] = ls

        def q(v, p):
            v = sorted(v)
            return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else 0
        st_ms, base_ms = ls.get("storm_ms", []), ls.get("baseline_ms", [])
        v = q(st_ms, 99)
        row("bystander latency, 50-login storm, production Argon2id "
            "(bench_login_storm.py)", "p99 %.1f ms" % v, "p99 <= 20 ms",
            v <= 20, "without the storm p99 %.1f ms; storm %.1f s" %
            (q(base_ms, 99), ls.get("storm_seconds", 0)))
    rc = phase(R, "reconnect")
    if rc:
        v = rc["secs_after_restart"]
        row("%d clients reconnecting after kill -9, all caught up" %
            rc["caught_up"], "%.2f s" % v, "<= 2 s", v <= 2,
            "%.2f s after the kill; %.2f s after the first reconnect; "
            "%d events replayed, %d lost" %
            (rc["secs_after_kill"], rc["secs_after_first_reconnect"],
             rc["replayed"], rc["lost"]))
    row("cold start on the full database (%d accounts)" % top,
        "%.2f s" % R["cold_start_s"], "-", None)

    scale_rows = []
    for n in scales:
        r = runs[n]
        c = phase(r, "connect")
        i = phase(r, "idle")
        st = phase(r, "steady")
        kn = phase(r, "knee")
        parts = []
        if c:
            parts.append("connect %.0f/s" % c["connect_per_s"])
        if i:
            parts.append("idle %.0f B/conn" % i["rss_bytes_per_idle_conn"])
        if st:
            parts.append("steady %.0f posts/s: fan-out p50/p99/p99.9 "
                         "%.1f/%.1f/%.1f ms, last recipient p99 %.1f ms, "
                         "lost %d" % (st["posts_per_s"],
                                      st["fanout"]["p50_ms"],
                                      st["fanout"]["p99_ms"],
                                      st["fanout"]["p999_ms"],
                                      st["last_recipient"]["p99_ms"],
                                      st["lost_total"]))
        if kn:
            parts.append("knee %.0f deliveries/s, sustained %.0f/s" %
                         (kn["knee_deliveries_per_s"],
                          kn.get("max_deliveries_per_s", 0)))
        scale_rows.append("scale %d: %s" % (n, "; ".join(parts)))

    res["scale_summary"] = scale_rows
    res["table"] = [dict(zip(("figure", "value", "goal", "status", "note"), r))
                    for r in rows]
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)

    m = res["machine"]
    print("\nScholia benchmark: %d cores, %d GiB, %s, load average %.1f%s" %
          (m["cores"], m["mem_gib"], m["cpu"], m["loadavg_at_report"][1],
           " (QUICK run)" if res["quick"] else ""))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    w3 = max(len(r[2]) for r in rows)
    for r in rows:
        print("%-*s  %-*s  %-*s  %-7s %s" % (w1, r[0], w2, r[1], w3, r[2],
                                             r[3], r[4]))
    for s in scale_rows:
        print(s)


if __name__ == "__main__":
    main()
