"""Goal 14 (issue 34): the stream's ingest against its floor, and the stream hub. Imported by bench.py.

- ``measure_ingest``: the same REAL frames (ten 0B entries each, as the fake sends them) taken in by kiwoom_nb's reading
  path (``_dispatch``: shape check, buffer), by kiwoom-client's (``json.loads`` and its ``_dispatch`` to a callback),
  and by the floor: the fastest JSON decoder installed plus one dict per entry. No socket: only the code that reads.
- ``measure_hub``: a steady 5,000 events/s fanned out by the hub to 3 client processes (KIWOOM_STREAM_HUB=1), each
  with its own Stream and callback: frame sent -> callback per client, events lost or out of order per item, and the
  hub's CPU per event (from /proc).
The kernel shutdown with a hub-backed stream is goal 4's ``hub_stream`` variant (bench/goal04_leaving.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from kiwoom_nb.testing import wait_until

ITEMS = [f"{n:06d}" for n in range(5930, 5940)]

#: one client process: a hub-backed Stream calling back for 0B; prints READY, then its figures once it has them all
CLIENT = textwrap.dedent("""
    import json, sys, threading, time
    from kiwoom_nb.live._stream import Stream
    appkey, secretkey, base_url, ws_url, items, events = sys.argv[1:7]
    events, got, order, done = int(events), [], {}, threading.Event()
    bad = [0]
    def on_tick(event):
        sent = int(event.values["9999"])
        got.append(time.perf_counter_ns() - sent)
        if order.get(event.item, 0) >= sent:
            bad[0] += 1
        order[event.item] = sent
        if len(got) >= events:
            done.set()
    live = Stream(appkey, secretkey, base_url=base_url, ws_url=ws_url)
    live.on("0B", on_tick)
    live.watch(items.split(","), "0B")
    print("READY", type(live._socket).__name__, flush=True)
    sys.stdin.readline()  # "go": the burst starts
    cpu = time.process_time()
    done.wait(float(sys.argv[7]))
    cpu = time.process_time() - cpu
    print("RESULT " + json.dumps({"events": len(got), "reordered": bad[0], "latency_ns": got, "cpu_s": cpu,
                                  "lost": dict(live.status.lost)}), flush=True)
    live.close()
""")


#: the same for kiwoom-client 0.4.0: its KiwoomWebSocket calling back on its asyncio reading loop
THEIR_CLIENT = textwrap.dedent("""
    import asyncio, json, sys, time
    from kiwoom_client.websocket import KiwoomWebSocket
    token, ws_url, items, events = sys.argv[1:5]
    events, got, order, bad = int(events), [], {}, [0]
    def on_tick(entry):
        sent = int(entry["values"]["9999"])
        got.append(time.perf_counter_ns() - sent)
        if order.get(entry["item"], 0) >= sent:
            bad[0] += 1
        order[entry["item"]] = sent
    async def main():
        ws = KiwoomWebSocket(token, ws_url=ws_url)
        ws.on("0B", on_tick)
        await ws.connect()
        await ws.subscribe("0B", items.split(","))
        listening = asyncio.create_task(ws.listen())
        print("READY KiwoomWebSocket", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        cpu = time.process_time()
        deadline = time.monotonic() + float(sys.argv[5])
        while len(got) < events and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the bench's own wait for the last callbacks, bounded
        cpu = time.process_time() - cpu
        print("RESULT " + json.dumps({"events": len(got), "reordered": bad[0], "latency_ns": got, "lost": {},
                                      "cpu_s": cpu}), flush=True)
        await ws.disconnect()
        listening.cancel()
    asyncio.run(main())
""")


def frames(fake: Any, count: int, per_frame: int = 10) -> list[str]:
    """``count`` REAL frame texts as fake.ws.burst() sends them."""
    out = []
    for n in range(count):
        entries = []
        for k in range(per_frame):
            item = ITEMS[(n * per_frame + k) % len(ITEMS)]
            values = fake.ws._values("0B", item)
            values["9999"] = str(time.perf_counter_ns())
            entries.append({"type": "0B", "name": "주식체결", "item": item, "values": values})
        out.append(json.dumps({"trnm": "REAL", "data": entries}, ensure_ascii=False))
    return out


def floor_rate(texts: list[str], per_frame: int) -> tuple[float, str]:
    try:
        import orjson
        loads, name = orjson.loads, f"orjson {orjson.__version__}"
    except ImportError:
        loads, name = json.loads, "json"
    started = time.perf_counter()
    kept = []
    for text in texts:
        for entry in loads(text)["data"]:
            kept.append(dict(entry["values"]))
    return len(texts) * per_frame / (time.perf_counter() - started), name


def ours_rate(fake: Any, texts: list[str], per_frame: int) -> float:
    import kiwoom_nb

    events = len(texts) * per_frame
    with kiwoom_nb.Stream(*fake.keys["production"], base_url=fake.url, ws_url=fake.ws_url, buffer=events) as live:
        live.watch(ITEMS, "0B")
        socket, before = live._socket, live.status.received
        started = time.perf_counter()
        for text in texts:
            socket._dispatch(None, text)
        elapsed = time.perf_counter() - started
        assert live.status.received - before == events, "kiwoom_nb did not buffer every entry"
    return events / elapsed


def theirs_rate(texts: list[str], per_frame: int) -> float:
    from kiwoom_client.websocket import KiwoomWebSocket

    count = [0]
    ws = KiwoomWebSocket("bench", ws_url="ws://127.0.0.1:9/unused")
    ws.on("0B", lambda entry: count.__setitem__(0, count[0] + 1))

    async def run() -> float:
        started = time.perf_counter()
        for text in texts:
            await ws._dispatch(json.loads(text))  # what its listen() does with each frame
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    assert count[0] == len(texts) * per_frame, "kiwoom-client did not call back for every entry"
    return count[0] / elapsed


def measure_ingest(ctx: Any) -> None:
    fake, res = ctx.fake, ctx.results
    count = ctx.n.get("stream_events", 100_000) // 10
    fake.ws.rate = 0.001
    texts = frames(fake, count)
    runs: dict[str, list[float]] = {"floor": [], "kiwoom_nb": [], "kiwoom_client": []}
    for _ in range(3):
        rate, decoder = floor_rate(texts, 10)
        runs["floor"].append(rate)
        runs["kiwoom_nb"].append(ours_rate(fake, texts, 10))
        runs["kiwoom_client"].append(theirs_rate(texts, 10))
    rate = {name: statistics.median(r) for name, r in runs.items()}
    behind = rate["floor"] / rate["kiwoom_nb"]
    res.add("14", f"ingest in process: {count * 10:,} 0B entries in frames of 10 through the reading path, no socket "
                  "(kiwoom_nb: shape check and buffer; kiwoom-client: json.loads and its callback; median of 3)",
            f"{rate['kiwoom_nb']:,.0f}/s", f"{rate['kiwoom_client']:,.0f}/s",
            f"×{rate['kiwoom_nb'] / rate['kiwoom_client']:.2f}", "ahead of kiwoom-client",
            rate["kiwoom_nb"] > rate["kiwoom_client"])
    res.add("14", f"the floor: the same frames decoded by {decoder} plus one dict per entry; kiwoom_nb's time per "
                  "event against it", f"{1e6 / rate['kiwoom_nb']:.2f} µs", f"{1e6 / rate['floor']:.2f} µs (floor)",
            f"×{behind:.2f} the floor", "≤ 2× the floor", behind <= 2.0)
    res.raw["ingest"] = runs


def _hub_pids(runtime: str) -> list[int]:
    """Processes running the hub whose log is under ``runtime``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"kiwoom_nb.live.hub" in argv and any(a.startswith(runtime.encode()) for a in argv):
                found.append(int(entry.name))
    return found


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def paced(fake: Any, argv: list[str], env: dict[str, str], clients: int, events: int, sockets: int,
          before: Any = None) -> list[dict]:
    """``clients`` processes running ``argv`` (CLIENT or THEIR_CLIENT), each told to go once all are READY and the fake
    sees ``sockets`` logged-in connections with their REGs; then ``events`` 0B entries at a steady 5,000 a second
    (500 frames of 10), sent from this process as Kiwoom would from its own; ``before()`` is called just before.
    Returns each client's RESULT."""
    procs = [subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(clients)]
    try:
        kinds = [p.stdout.readline().split() for p in procs]
        assert all(k[:1] == ["READY"] for k in kinds), f"not all ready: {kinds}"
        wait_until(lambda: len([c for c in fake.ws.live() if c.logged_in and c.regs]) == sockets, 10,
                   f"{sockets} socket(s) with their REG")
        if before is not None:
            before()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        fake.ws.burst(events // 10, ITEMS, per_frame=10, per_second=500)
        outs = [p.communicate(timeout=180)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return [json.loads(next(line for line in o.splitlines() if line.startswith("RESULT "))[7:]) for o in outs]


def steady_latency(ctx: Any, events: int, rounds: int = 3) -> dict[str, tuple[float, float, float]]:
    """Frame sent → callback (p50, p99 in µs) at a steady 5,000 events/s, each client in a process of its own (as a
    kernel is): kiwoom_nb's Stream with its own socket (KIWOOM_STREAM_HUB=0) and kiwoom-client's KiwoomWebSocket;
    third, the client process's CPU per event (µs: socket, decoding, buffer, callbacks; every thread of it). The two
    take turns ``rounds`` times; each figure is the median of its rounds (one run of each moved by ±10 %)."""
    import kiwoom_nb

    fake = ctx.fake
    appkey, secretkey = fake.keys["production"]
    env = {**ctx.env, "KIWOOM_STREAM_HUB": "0"}
    runs: dict[str, list[dict]] = {"kiwoom_nb": [], "kiwoom_client": []}
    for _ in range(rounds):
        runs["kiwoom_nb"] += paced(fake, [sys.executable, "-c", CLIENT, appkey, secretkey, fake.url, fake.ws_url,
                                          ",".join(ITEMS), str(events), "120"], env, 1, events, 1)
        token = str(kiwoom_nb.issue_token(appkey, secretkey, base_url=fake.url))
        try:
            runs["kiwoom_client"] += paced(fake, [sys.executable, "-c", THEIR_CLIENT, token, fake.ws_url,
                                                  ",".join(ITEMS), str(events), "120"], env, 1, events, 1)
        finally:
            kiwoom_nb.revoke_token(appkey, secretkey, token, base_url=fake.url)
    out = {}
    for name, got in runs.items():
        stats = [(*_stats(g["latency_ns"]), g["cpu_s"] / max(g["events"], 1) * 1e6) for g in got]
        out[name] = tuple(statistics.median(s[i] for s in stats) for i in range(3))
    ctx.results.raw["steady"] = {name: [{k: v for k, v in g.items() if k != "latency_ns"} for g in got]
                                 for name, got in runs.items()}
    return out


def measure_hub(ctx: Any, clients: int = 3) -> None:
    fake, res = ctx.fake, ctx.results
    events = max(1_000, ctx.n.get("stream_events", 100_000) // 2)  # 10 s at 5,000 events/s (quick: 0.2 s)
    fake.ws.rate = 0.001
    runtime = tempfile.mkdtemp(prefix="kb", dir="/tmp")
    env = {**ctx.env, "KIWOOM_STREAM_HUB": "1", "XDG_RUNTIME_DIR": runtime, "KIWOOM_HUB_GRACE": "0.5"}
    appkey, secretkey = fake.keys["production"]
    argv = [sys.executable, "-c", CLIENT, appkey, secretkey, fake.url, fake.ws_url, ",".join(ITEMS), str(events), "120"]
    hub: dict[str, Any] = {}

    def before() -> None:  # the hub's CPU from here on
        [hub["pid"]] = _hub_pids(runtime)
        hub["cpu"], hub["at"] = _cpu_s(hub["pid"]), time.perf_counter()

    got = paced(fake, argv, env, clients, events, 1, before)
    wall = time.perf_counter() - hub["at"]
    cpu_s = _cpu_s(hub["pid"]) - hub["cpu"] if Path(f"/proc/{hub['pid']}").exists() else float("nan")
    lat = [_stats(g["latency_ns"]) for g in got]
    complete = all(g["events"] == events and not g["reordered"] for g in got)
    res.add("14", f"through the hub: {events:,} 0B entries at a steady 5,000/s fanned out to {clients} client "
                  "processes; frame sent → callback per client, median / p99",
            "; ".join(f"{m:,.0f} / {p:,.0f} µs" for m, p in lat), "—",
            f"all delivered in order per item: {'yes' if complete else 'NO'} "
            f"({', '.join(str(g['events']) for g in got)}; reordered {sum(g['reordered'] for g in got)})",
            "p50 ≤ 1,000 µs, p99 ≤ 5,000 µs", complete and all(m <= 1_000 and p <= 5_000 for m, p in lat))
    res.add("14", f"the hub's CPU per event it took in (utime + stime of its process, {clients} clients)",
            f"{cpu_s / events * 1e6:.1f} µs", "—", f"{cpu_s / wall * 100:.0f} % of a core over {wall:.1f} s")
    res.raw["hub"] = [{k: v for k, v in g.items() if k != "latency_ns"} for g in got]


def _stats(latencies_ns: list[int]) -> tuple[float, float]:
    if not latencies_ns:
        return float("nan"), float("nan")
    ordered = sorted(latencies_ns)
    return statistics.median(ordered) / 1e3, ordered[max(0, int(len(ordered) * 0.99) - 1)] / 1e3
