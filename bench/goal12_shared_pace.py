"""Goal 12: many processes, one app key (issue 33) — the pace every process of the user shares, on this machine and
through Redis, against the fake allowing 5 requests a second per api-id; and what the shared budget costs one process.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 12``); imports only bench/common.py of bench/.
Each process is a fresh interpreter that logs in, waits for the others, makes its calls and reports when it started
and ended; refusals are the fake's count of 429s.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

from common import Context, fmt_us

LIMIT = 5  # the fake's requests per second per api-id, as Kiwoom's

CHILD = textwrap.dedent("""
    import json, os, sys, time
    import kiwoom_nb

    calls, api_ids = int(sys.argv[1]), sys.argv[2].split(",")
    api = kiwoom_nb.Client(os.environ["KIWOOM_APPKEY"], os.environ["KIWOOM_SECRETKEY"])
    api.tokens.current()
    print("ready", flush=True)
    sys.stdin.readline()
    first, errors = time.monotonic(), 0
    for i in range(calls):
        api_id = api_ids[i % len(api_ids)]
        try:
            api.call(api_id, **({"stk_cd": "005930"} if api_id == "ka10001" else {"mrkt_tp": "0"}))
        except kiwoom_nb.KiwoomError:
            errors += 1
    print("RESULT " + json.dumps({"first": first, "last": time.monotonic(), "errors": errors}), flush=True)
    api.close()
""")

OVERHEAD = textwrap.dedent("""
    import json, os, sys, time
    from kiwoom_nb.pace import budget_for

    budget, calls = budget_for("bench-overhead"), int(sys.argv[1])
    scopes = ["ka10001", "/api/dostk/stkinfo", "*"]
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        ticket, _, _ = budget.acquire("ka10001", scopes, None, 11.0, 10.0)
        budget.release(ticket)
        times.append(time.perf_counter() - started)
    times.sort()
    print("RESULT " + json.dumps({"median": times[len(times) // 2]}), flush=True)
""")


def _together(ctx: Context, processes: int, calls: int, api_ids: str, envs: list[dict]) -> dict:
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(calls), api_ids], env={**ctx.env, **envs[i]},
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for i in range(processes)]
    try:
        for child in children:
            assert child.stdout.readline().startswith("ready"), "a child did not log in"
        refused = ctx.fake.rate_refusals
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            line = next(line for line in child.stdout if line.startswith("RESULT "))
            results.append(json.loads(line[len("RESULT "):]))
            child.wait(300)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(30)
    elapsed = max(r["last"] for r in results) - min(r["first"] for r in results)
    return {"refusals": ctx.fake.rate_refusals - refused, "rate": processes * calls / elapsed,
            "errors": sum(r["errors"] for r in results), "elapsed_s": elapsed}


def _redis_server(directory: str) -> tuple[subprocess.Popen | None, str]:
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                               else None)
    try:
        import redis
    except ImportError:
        return None, "the redis package is missing"
    if binary is None:
        return None, "redis-server is missing"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return server, f"redis://127.0.0.1:{port}/0"
        except redis.RedisError:
            time.sleep(0.05)  # polling for the server to listen, bounded by the deadline
    server.kill()
    return None, "redis-server did not start"


def measure_shared_pace(ctx: Context) -> None:
    calls, turns = ctx.n["shared_calls"], ctx.n["shared_overhead"]
    ctx.fake.rate_limit = LIMIT
    res, raw = ctx.results, {}
    goal = "≥ 90 % of allowed, ≤ 1 refusal per 100 calls"

    def run(name: str, processes: int, api_ids: str = "ka10001", envs: list[dict] | None = None) -> dict:
        time.sleep(1.1)  # let the fake's one-second window empty between runs (a measured pause)
        raw[name] = _together(ctx, processes, calls, api_ids, envs or [{}] * processes)
        return raw[name]

    def row(name: str, what: str, processes: int, api_ids: str = "ka10001", envs: list[dict] | None = None,
            allowed: float = LIMIT, baseline: dict | None = None) -> None:
        got = run(name, processes, api_ids, envs)
        share = got["rate"] / allowed
        shown = lambda r: f"{r['rate']:.2f}/s ({r['rate'] / allowed:.0%}), {r['refusals']} refused"  # noqa: E731
        res.add("12", what, shown(got) + f", {got['errors']} errors", shown(baseline) if baseline else "—", goal=goal,
                met=share >= 0.9 and got["refusals"] * 100 <= processes * calls and got["errors"] == 0)

    try:
        alone = run("4 off", 4, envs=[{"KIWOOM_PACE_URL": "off"}] * 4)
        row("4", f"4 processes × {calls} `api.call('ka10001')` on one key, fake allowing {LIMIT}/s per TR: combined "
                 "rate, refusals (baseline: `KIWOOM_PACE_URL=off`, each process pacing alone as before issue 33)", 4,
            baseline=alone)
        row("8", f"8 processes × {calls} calls, two TRs (ka10001, ka10099) interleaved", 8, "ka10001,ka10099",
            allowed=2 * LIMIT)
        with tempfile.TemporaryDirectory(prefix="kiwoom-bench-redis-") as tmp:
            server, url = _redis_server(tmp)
            if server is None:
                res.add("12", "4 processes through Redis", f"not measured: {url}")
            else:
                try:
                    # a cache directory each: four machines as far as the pace knows
                    envs = [{"KIWOOM_PACE_URL": url, "XDG_CACHE_HOME": os.path.join(tmp, f"m{i}")} for i in range(4)]
                    row("redis", "4 processes through Redis (`KIWOOM_PACE_URL`), no file shared", 4, envs=envs)
                    local = _overhead(ctx, turns, {})
                    remote = _overhead(ctx, turns, {"KIWOOM_PACE_URL": url})
                    res.add("12", "one turn at the budget (acquire + release, one process, nothing learned): Redis "
                                  "against this machine's SQLite file", fmt_us(remote), fmt_us(local),
                            f"{(remote - local) * 1e6:+.0f} µs per call")
                    raw["overhead redis"] = remote
                finally:
                    server.kill()
                    server.wait(30)
    finally:
        ctx.fake.rate_limit = None
    local = _overhead(ctx, turns, {})
    res.add("12", "the shared budget's cost per call on one process (acquire + release on the SQLite file; today's "
                  "in-process pacer is ~0)", fmt_us(local), goal="within goal 6 (×1.2 of a bare POST)")
    raw["overhead local"] = local
    ctx.results.raw["shared_pace"] = raw


def _overhead(ctx: Context, calls: int, env: dict) -> float:
    done = subprocess.run([sys.executable, "-c", OVERHEAD, str(calls)], env={**ctx.env, **env}, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the overhead child failed:\n{done.stderr}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])["median"]
