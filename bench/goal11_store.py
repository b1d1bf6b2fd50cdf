"""Goal 11: the candle store (issue 32) — a re-run from the store against a bare pyarrow read of its files, an update
after one new day (one request per code), a synthetic store at scale (read against DuckDB, bytes per row, info()), and
the store's overhead on a fetch.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 11``); imports only bench/common.py of bench/.
In-process against the fake through its transport, clock held after the close of 2026-12-01."""

from __future__ import annotations

import time

from common import Context, median

#: codes × trading days per measurement (full, quick)
SIZES = {"full": dict(rerun=10, update=100, scale=2500, days=2500, overhead=10, runs=5),
         "quick": dict(rerun=3, update=10, scale=100, days=2500, overhead=3, runs=2)}
YEAR = "2025-12-01"


def _client(fake, root_clock):
    from kiwoom_nb import Client
    from kiwoom_nb.testing import DEMO_KEYS

    api = Client(*DEMO_KEYS["production"], transport=fake.transport, pace=None, progress=None)
    api.clock = root_clock
    return api


def _timed(work, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return median(times)


def measure_store(ctx: Context) -> None:
    import duckdb
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    import kiwoom_nb.store as store
    from kiwoom_nb.store._files import write_part
    from kiwoom_nb.store._where import part_of
    from kiwoom_nb.testing import DEMO_KEYS, FakeKiwoom
    from kiwoom_nb.testing.market._clock import Clock

    size = SIZES["quick" if ctx.n["candle_stocks"] < 10 else "full"]
    res, runs = ctx.results, size["runs"]
    fake = FakeKiwoom(keys=dict(DEMO_KEYS), clock=Clock("2026-12-01 18:30", speed=0))
    api = _client(fake, fake.clock.now)

    # re-run: everything stored, 0 requests; against pq.read_table of the same files
    root = ctx.workdir / "store11-rerun"
    codes = [f"{300000 + i:06d}" for i in range(size["rerun"])]
    api.candles(codes, "D", start=YEAR, store=root)
    before = len(fake.requests)
    took = _timed(lambda: api.candles(codes, "D", start=YEAR, store=root), runs)
    sent = len(fake.requests) - before
    files = sorted(root.rglob("part.parquet"))
    floor = _timed(lambda: [pq.read_table(f).to_pandas() for f in files], runs)
    res.add("11", f"re-run of `api.candles({len(codes)} codes, 'D', a year)` all stored: requests, time against a "
                  "bare `pyarrow.parquet` read of the same files", f"{sent} requests, {took * 1e3:.1f} ms",
            f"{floor * 1e3:.1f} ms", f"×{took / floor:.2f}", "0 requests, ≤ ×1.5", sent == 0 and took <= 1.5 * floor)

    # update: one new day over stored codes: one request each
    root = ctx.workdir / "store11-update"
    codes = [f"{400000 + i:06d}" for i in range(size["update"])]
    api.update(codes, "D", start=YEAR, store=root)
    fake.clock.set("2026-12-02 18:30")
    before = len(fake.requests)
    api.update(codes, "D", start=YEAR, store=root)
    sent = len(fake.requests) - before
    res.add("11", f"`kiwoom_nb.update` of {len(codes)} stored codes after one new day: requests", f"{sent}",
            f"{len(codes)} codes", "—", "exactly one per code", sent == len(codes))

    # scale: a synthetic store through the store's own writer
    root = ctx.workdir / "store11-scale"
    days = pd.bdate_range(end="2026-11-30", periods=size["days"], name="date")
    draw = np.random.default_rng(11)
    codes = [f"{500000 + i:06d}" for i in range(size["scale"])]
    for code in codes:
        close = np.round(50000 * np.exp(np.cumsum(draw.normal(0, 0.015, len(days)))))
        frame = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
                              "volume": draw.integers(100_000, 5_000_000, len(days)), "value": close * 1000}, index=days)
        write_part(pd, part_of(root, "api.kiwoom.com", "D", True, code), frame, {"complete_to": "2026-12-01"})
    rows = len(codes) * len(days)
    took = _timed(lambda: store.read(codes, "D", store=root), max(runs // 2, 1))
    pattern = (root / "server=*" / "interval=D" / "adjusted=*" / "code=*" / "part.parquet").as_posix()
    floor = _timed(lambda: duckdb.sql(f"SELECT * FROM read_parquet('{pattern}')").df(), max(runs // 2, 1))
    size_bytes = sum(f.stat().st_size for f in root.rglob("part.parquet"))
    info_took = _timed(lambda: store.info(store=root), 3)
    res.add("11", f"`store.read` of a synthetic store, {len(codes):,} codes × {len(days):,} days ({rows:,} rows), "
                  "against DuckDB `read_parquet` of the same files into pandas", f"{took:.2f} s", f"{floor:.2f} s",
            f"×{took / floor:.2f}", "≤ ×1.5", took <= 1.5 * floor)
    res.add("11", "bytes on disk per row (zstd), and `store.info()` of that store",
            f"{size_bytes / rows:.1f} B/row, info {info_took * 1e3:.0f} ms", "—", "—", "info < 1 s", info_took < 1.0)

    # overhead: candles with the store against store=False, both fetching uncached codes
    def fetch(offset: int, keep: bool) -> float:
        chosen = [f"{600000 + offset + i:06d}" for i in range(size["overhead"])]
        started = time.perf_counter()
        api.candles(chosen, "D", start=YEAR, store=(ctx.workdir / f"store11-over-{offset}") if keep else False)
        return time.perf_counter() - started

    api.pace = 5.0  # as users fetch: the default pace (5 requests a second per TR)
    kept, bare = [], []
    for run in range(runs):
        kept.append(fetch(100 * run, True))
        bare.append(fetch(100 * run + 50, False))
    ratio = median(kept) / median(bare)
    res.add("11", f"`api.candles({size['overhead']} uncached codes, 'D', a year)` with the store against "
                  "`store=False`, default pace", f"{median(kept) * 1e3:.0f} ms", f"{median(bare) * 1e3:.0f} ms", f"×{ratio:.3f}",
            "≤ ×1.05", ratio <= 1.05)
    api.close()
