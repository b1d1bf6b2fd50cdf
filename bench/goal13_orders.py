"""Goal 13 (issue 35): an order's latency from ``api.buy`` to ``filled`` through the 00 events of an open stream
against polling kt00007, the fake filling market orders at once, as a ratio. In this process against ctx.fake
(HTTP and WebSocket on loopback), production keys; nothing asserted."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import kiwoom_nb

#: orders per way (full, quick)
ORDERS = {"full": 30, "quick": 5}


def _filled_after(api: Any) -> float:
    """Seconds from buy() to the order's status reading filled, as the user would see it (no final kt00007)."""
    done = threading.Event()
    started = time.perf_counter()
    o = api.buy("005930", 1, confirm=True)
    o.on(lambda order: order.status == "filled" and done.set())
    if o.status != "filled":
        if api._book().stream() is None:
            o.wait(timeout=30)
        else:
            done.wait(30)
    return time.perf_counter() - started


def measure_orders(ctx: Any) -> None:
    fake = ctx.fake
    keys = fake.keys["production"]
    n = ORDERS["quick" if ctx.n["candle_stocks"] < 10 else "full"]
    with kiwoom_nb.Client(*keys, base_url=fake.url, pace=None, progress=None) as api:
        polled = [_filled_after(api) for _ in range(n)]
        with kiwoom_nb.Stream(*keys, base_url=fake.url, ws_url=fake.ws_url):
            api._book().stream()  # hooked before the first order is timed
            evented = [_filled_after(api) for _ in range(n)]
    by_events, by_polling = statistics.median(evented), statistics.median(polled)
    ctx.results.add("13", f"order → filled, median of {n}: through 00 events against polling kt00007 (the fake "
                          "fills a market order at once)", f"{by_events * 1e3:.1f} ms",
                    f"{by_polling * 1e3:.1f} ms", f"×{by_events / by_polling:.2f}", "reported", True)
