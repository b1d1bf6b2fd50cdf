"""Goal 9 (issue 22): kiwoom_nb's stream against kiwoom-client 0.4.0's WebSocket client, on the same fake and the
same frames, in this process: events per second taken in, frame-sent-to-callback latency, memory for 100,000
buffered 0B rows. Imported by bench.py (``measure_stream``); the shutdown cost is measured with the kernels of goal 4.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
import tracemalloc
from typing import Any

import kiwoom_nb
from kiwoom_nb.testing import wait_until

ITEMS = [f"{n:06d}" for n in range(5930, 5940)]


def _stats(latencies_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(latencies_ns)
    return statistics.median(ordered) / 1e3, ordered[int(len(ordered) * 0.99) - 1] / 1e3


def run_kiwoom_nb(fake: Any, events: int, per_frame: int, per_second: float | None = None) -> dict:
    keys = fake.keys["production"]
    got: list[int] = []
    done = threading.Event()

    def on_tick(event: Any) -> None:
        got.append(time.perf_counter_ns() - int(event.values["9999"]))
        if len(got) == events:
            done.set()

    with kiwoom_nb.Stream(*keys, base_url=fake.url, ws_url=fake.ws_url, buffer=events) as live:
        live.on("0B", on_tick)
        live.watch(ITEMS, "0B")
        cpu, started = time.process_time(), time.perf_counter()
        fake.ws.burst(events // per_frame, ITEMS, per_frame=per_frame, per_second=per_second)
        done.wait(120)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events": len(got), "wall_s": elapsed, "cpu_s": cpu, "latency_ns": got}


def run_kiwoom_client(fake: Any, events: int, per_frame: int, per_second: float | None = None) -> dict:
    from kiwoom_client.websocket import KiwoomWebSocket

    token = str(kiwoom_nb.issue_token(*fake.keys["production"], base_url=fake.url))
    got: list[int] = []
    ready, done = threading.Event(), threading.Event()
    state: dict = {}

    def on_tick(entry: dict) -> None:
        got.append(time.perf_counter_ns() - int(entry["values"]["9999"]))
        if len(got) == events:
            done.set()

    async def main() -> None:
        ws = KiwoomWebSocket(token, ws_url=fake.ws_url)
        ws.on("0B", on_tick)
        await ws.connect()
        await ws.subscribe("0B", ITEMS)
        state["loop"], state["ws"] = asyncio.get_running_loop(), ws
        ready.set()
        await ws.listen()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(30)
    wait_until(lambda: fake.ws.received("REG") and all(c.regs for c in fake.ws.live() if c.logged_in), 10, "its REG")
    cpu, started = time.process_time(), time.perf_counter()
    fake.ws.burst(events // per_frame, ITEMS, per_frame=per_frame, per_second=per_second)
    done.wait(120)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    asyncio.run_coroutine_threadsafe(state["ws"].disconnect(), state["loop"]).result(10)
    thread.join(10)
    kiwoom_nb.revoke_token(*fake.keys["production"], token, base_url=fake.url)
    return {"events": len(got), "wall_s": elapsed, "cpu_s": cpu, "latency_ns": got}


def _client_memory() -> int:
    """Bytes traced now, less what the fake allocated: it stands in for Kiwoom's servers and shares this process (its
    market path and clock grow as the burst moves its prices: ~65 bytes per entry)."""
    fake = tracemalloc.Filter(False, "*/kiwoom_nb/testing/*")
    return sum(stat.size for stat in tracemalloc.take_snapshot().filter_traces([fake]).statistics("filename"))


def buffered_memory(fake: Any, rows: int) -> tuple[float, float]:
    """KiB that ``rows`` buffered 0B rows hold in a Stream, and the same entries kept as kiwoom-client hands them out
    (a list of the decoded dicts), measured with tracemalloc."""
    import json

    keys = fake.keys["production"]
    with kiwoom_nb.Stream(*keys, base_url=fake.url, ws_url=fake.ws_url, buffer=rows) as live:
        live.watch(ITEMS, "0B")
        tracemalloc.start()
        before = _client_memory()
        fake.ws.burst(rows // 10, ITEMS, per_frame=10)
        wait_until(lambda: live.status.received >= rows, 120, "the rows buffered")
        ours = (_client_memory() - before) / 1024
        tracemalloc.stop()
    values = fake.ws._values("0B", ITEMS[0])
    text = json.dumps({"type": "0B", "name": "", "item": ITEMS[0], "values": values})
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = [json.loads(text) for _ in range(rows)]
    theirs = (tracemalloc.get_traced_memory()[0] - before) / 1024
    tracemalloc.stop()
    del kept
    return ours, theirs


def measure_stream(ctx: Any) -> None:
    from common import fmt_mib
    from goal14_hub import steady_latency

    fake, res = ctx.fake, ctx.results
    events = ctx.n.get("stream_events", 100_000)
    fake.ws.rate = 0.001  # no synthetic ticks: only the burst
    runs = {"kiwoom_nb": [], "kiwoom_client": []}
    for _ in range(3):
        for name, run in (("kiwoom_nb", run_kiwoom_nb), ("kiwoom_client", run_kiwoom_client)):
            runs[name].append(run(fake, events, 10))
    rate = {n: statistics.median(r["events"] / r["wall_s"] for r in runs[n]) for n in runs}
    cpu = {n: statistics.median(r["cpu_s"] / max(r["events"], 1) for r in runs[n]) * 1e6 for n in runs}
    lat = {n: _stats(sum((r["latency_ns"] for r in runs[n]), [])) for n in runs}
    complete = all(r["events"] == events for rs in runs.values() for r in rs)
    res.add("9", f"events taken in per second, {events:,} 0B entries in frames of 10 from the fake (fake and client in "
                 "one process; median of 3)", f"{rate['kiwoom_nb']:,.0f}/s", f"{rate['kiwoom_client']:,.0f}/s",
            f"×{rate['kiwoom_nb'] / rate['kiwoom_client']:.2f}; all delivered: {'yes' if complete else 'NO'}",
            "≥ 20,000/s", rate["kiwoom_nb"] >= 20_000 and complete)
    res.add("9", "CPU per event (the whole process: the fake's sending included)", f"{cpu['kiwoom_nb']:.1f} µs",
            f"{cpu['kiwoom_client']:.1f} µs")
    res.add("9", "frame sent → callback, median / p99 (during the burst: queueing included)",
            f"{lat['kiwoom_nb'][0]:,.0f} / {lat['kiwoom_nb'][1]:,.0f} µs",
            f"{lat['kiwoom_client'][0]:,.0f} / {lat['kiwoom_client'][1]:,.0f} µs")
    paced = max(1000, events // 2)  # 10 s at 500 frames (5,000 events) a second (quick: 0.2 s)
    steady = steady_latency(ctx, paced)
    res.add("9", f"frame sent → callback at a steady 5,000 events/s ({paced:,} events; each client in a process of "
                 "its own, the fake in the bench's; the two take turns, median of 3), median / p99",
            f"{steady['kiwoom_nb'][0]:,.0f} / {steady['kiwoom_nb'][1]:,.0f} µs",
            f"{steady['kiwoom_client'][0]:,.0f} / {steady['kiwoom_client'][1]:,.0f} µs",
            "kiwoom_nb hands each event to its callback thread; kiwoom-client calls it on its reading loop",
            "p50 ≤ 500 µs, p99 ≤ 2,000 µs (issue 34)", steady["kiwoom_nb"][0] <= 500 and steady["kiwoom_nb"][1] <= 2_000)
    res.add("9", "the same runs: CPU per event in the client's own process (every thread: the socket, decoding, "
                 "buffer, callbacks; kiwoom_nb also buffers every event for frame() and latest())",
            f"{steady['kiwoom_nb'][2]:.1f} µs", f"{steady['kiwoom_client'][2]:.1f} µs",
            f"×{steady['kiwoom_client'][2] / steady['kiwoom_nb'][2]:.2f} (above 1: kiwoom_nb uses less)",
            "at most kiwoom-client's (issue 34)", steady["kiwoom_nb"][2] <= steady["kiwoom_client"][2])
    ours, theirs = buffered_memory(fake, ctx.n.get("stream_rows", 100_000))
    rows = ctx.n.get("stream_rows", 100_000)
    res.add("9", f"memory for {rows:,} buffered 0B rows (tracemalloc), against the same entries kept as kiwoom-client's "
                 "callbacks receive them (a list of dicts)", fmt_mib(ours), fmt_mib(theirs),
            f"×{ours / theirs:.2f}")
    res.add("9", "the same per buffered 0B row (44 FIDs as Kiwoom sends them)", f"{ours * 1024 / rows:,.0f} B",
            f"{theirs * 1024 / rows:,.0f} B", "", "≤ 300 B (issue 34)", ours * 1024 / rows <= 300)
    res.raw["stream"] = {n: [{k: v for k, v in r.items() if k != "latency_ns"} for r in runs[n]] for n in runs}
