#!/usr/bin/python3
"""Bystander event latency during a storm of 50 simultaneous logins.

Argon2id (libsodium INTERACTIVE by default: 2 passes, 64 MiB) runs on the
worker pool, never on the store thread or the network loop, so a burst of
logins must not delay other connections' traffic. This benchmark shows it:

1. starts `scholia serve` with production hashing limits,
2. creates 50 storm accounts and two bystanders who share a circle and
   subscribe to it,
3. measures bystander event latency with no storm: B toggles a reaction,
   A times the `reaction.changed` event (send -> receive),
4. fires 50 logins at once on 50 connections and measures the same latency
   while they are being hashed,
5. prints both distributions and the storm's duration,
6. then times --resumes auth.resume calls (fresh connections reconnecting
   with their token, 20 at a time), the cost of a mass reconnect.

Usage: tests/bench/bench_login_storm.py [--samples N] [--ops N] [--mem BYTES]
Needs SCHOLIA_BIN (default build/scholia). Not part of ctest.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import Server  # noqa: E402

PW = "correct horse battery"
STORM = 50


def pct(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def summary(name, ms):
    if not ms:
        return "%-10s no samples" % name
    return ("%-10s n=%-4d p50=%7.2f ms  p95=%7.2f ms  p99=%7.2f ms  max=%7.2f ms  mean=%7.2f ms"
            % (name, len(ms), pct(ms, 50), pct(ms, 95), pct(ms, 99), max(ms),
               statistics.mean(ms)))


def setup_circle(srv):
    a = srv.new_account(prefix="bench_a")
    b = srv.new_account(prefix="bench_b")
    books = a.call("book.list")["items"]
    if not books:
        raise SystemExit("no book imported: run with the sample content")
    book = books[0]["id"]
    toc = a.call("book.toc", {"book": book})
    chapter = toc["parts"][0]["chapters"][0]["id"]
    circle = a.call("circle.create", {"name": "bench", "book": book})["id"]
    code = a.call("circle.invite", {"circle": circle})["code"]
    b.call("circle.join", {"code": code})
    a.call("circle.subscribe", {"circle": circle})
    b.call("circle.subscribe", {"circle": circle})
    ann = b.call("annotation.create", {"circle": circle, "chapter": chapter,
                                       "target": None, "body": "bench thread",
                                       "visibility": "circle"})["id"]
    a.drain_events(0.3)
    b.drain_events(0.1)
    return a, b, ann


def one_sample(a, b, ann):
    """B toggles a reaction; returns ms until A sees reaction.changed."""
    t0 = time.perf_counter()
    b.request("reaction.toggle", {"target": {"annotation": ann}, "kind": "agree"})
    a.next_event("reaction.changed", timeout=30)
    return (time.perf_counter() - t0) * 1000.0


def time_resumes(srv, tokens, n):
    """n reconnects: each opens a WebSocket and calls auth.resume."""
    import asyncio
    import websockets

    lat = []

    async def one(token):
        t0 = time.perf_counter()
        async with websockets.connect(srv.ws_url, subprotocols=["scholia.v1"],
                                      ping_interval=None) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1,
                                      "method": "auth.resume",
                                      "params": {"token": token}}))
            r = json.loads(await ws.recv())
            if "result" not in r:
                raise SystemExit("auth.resume failed: %r" % r)
        lat.append((time.perf_counter() - t0) * 1000.0)

    async def worker(k, count):
        for i in range(count):
            await one(tokens[(k + i) % len(tokens)])

    async def run():
        per = max(1, n // 20)
        await asyncio.gather(*(worker(k, per) for k in range(20)))

    t0 = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - t0, lat


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=100,
                    help="baseline samples (default 100)")
    ap.add_argument("--resumes", type=int, default=2000,
                    help="auth.resume calls to time (default 2000)")
    ap.add_argument("--ops", default="2", help="Argon2id opslimit (default 2)")
    ap.add_argument("--mem", default=str(64 * 1024 * 1024),
                    help="Argon2id memlimit in bytes (default 64 MiB)")
    args = ap.parse_args()

    env = {"SCHOLIA_PWHASH_OPS": args.ops, "SCHOLIA_PWHASH_MEM": args.mem,
           # the storm comes from loopback: no per-address limit
           "SCHOLIA_MAX_CONNECTIONS_PER_ADDRESS": "0"}
    tmp = tempfile.mkdtemp(prefix="scholia-bench-")
    srv = Server(tmp, env=env)
    srv.start()
    try:
        print("creating %d storm accounts (Argon2id ops=%s mem=%s)..." %
              (STORM, args.ops, args.mem), flush=True)
        handles = ["storm_%02d" % i for i in range(STORM)]
        for h in handles:
            srv.cmd("admin", "create-account", "--handle", h, input=PW + "\n")
        a, b, ann = setup_circle(srv)

        base = [one_sample(a, b, ann) for _ in range(args.samples)]

        clients = [srv.client() for _ in handles]
        start = threading.Barrier(STORM + 1)
        done = []
        lock = threading.Lock()

        def login(c, h):
            start.wait()
            t0 = time.perf_counter()
            c.call("auth.login", {"handle": h, "password": PW}, timeout=300)
            with lock:
                done.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=login, args=(c, h))
                   for c, h in zip(clients, handles)]
        for t in threads:
            t.start()
        start.wait()
        t_storm = time.perf_counter()
        storm = []
        while any(t.is_alive() for t in threads):
            storm.append(one_sample(a, b, ann))
        for t in threads:
            t.join()
        storm_s = time.perf_counter() - t_storm

        print()
        print("bystander event latency (reaction.toggle -> reaction.changed)")
        print(summary("no storm", base))
        print(summary("storm", storm))
        print("storm: %d logins in %.2f s; login latency p50=%.0f ms max=%.0f ms"
              % (len(done), storm_s, pct(done, 50) * 1000, max(done) * 1000))
        resume_s, resume_ms = time_resumes(srv, [c.token for c in (a, b)],
                                           args.resumes)
        print("auth.resume: %d reconnects in %.2f s (%.0f/s); p50=%.2f ms p95=%.2f ms"
              % (args.resumes, resume_s, args.resumes / resume_s,
                 pct(resume_ms, 50), pct(resume_ms, 95)))
        out = os.path.join(HERE, "results")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "login_storm.json"), "w") as f:
            json.dump({"baseline_ms": base, "storm_ms": storm,
                       "storm_seconds": storm_s, "login_seconds": done,
                       "resume_seconds": resume_s, "resume_ms": resume_ms,
                       "pwhash_ops": args.ops, "pwhash_mem": args.mem}, f)
        for c in clients + [a, b]:
            c.close()
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
