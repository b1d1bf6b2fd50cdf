"""kiwoom_nb benchmarks: loading, every cell, logging in, leaving, memory. See BENCHMARKS.md.

    make bench                        # every measurement, a few minutes; prints a Markdown table
    make bench-quick                  # BENCH_QUICK=1: tiny counts, only proves the script still works
    python bench/bench.py --wait-quiet 1200 --json results.json
    make bench BENCH_ARGS="--only 1,2"  # only goals 1 (loading) and 2 (every cell)

Everything runs in one go on this machine against the fake Kiwoom (kiwoom_nb.testing.FakeKiwoom) on
127.0.0.1. Each measurement that needs a clean interpreter runs bench/child.py in a fresh process.
Nothing here asserts a timing: a goal missed is reported in the table, not raised.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from kiwoom_nb.testing import FakeKiwoom

from common import Context, FULL, OtherLoad, QUICK, Results, child_env, load_average, machine, markdown_table, wait_until_quiet
from goal01_loading import measure_loading, measure_imports
from goal02_cell import measure_per_cell
from goal03_login import measure_warm_login, measure_cold_login
from goal04_leaving import measure_shutdown, measure_revoker, measure_hangs
from goal05_memory import measure_memory
from goal06_trs import measure_tr_call, measure_paced, measure_frame
from goal07_catalogue import measure_catalogue
from goal08_candles import measure_candles
from goal09_stream import measure_stream  # bench/goal09_stream.py (issue 22)
from goal10_board import measure_board  # bench/goal10_board.py (issue 23)
from goal11_store import measure_store  # bench/goal11_store.py (issue 32)
from goal12_shared_pace import measure_shared_pace  # bench/goal12_shared_pace.py (issue 33)
from goal13_orders import measure_orders  # bench/goal13_orders.py (issue 35)
from goal14_hub import measure_hub, measure_ingest  # bench/goal14_hub.py (issue 34)


# -- main -------------------------------------------------------------------------------------------


def progress(ctx: Context, name: str) -> Context:
    print(f"measuring {name} ...", file=sys.stderr, flush=True)
    return ctx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                        help="tiny counts (also BENCH_QUICK=1): checks the script works; the numbers mean nothing")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the CPUs to be idle (other jobs skew everything)")
    parser.add_argument("--quiet-threshold", type=float, default=0.15, help="busy CPU fraction counted as quiet")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement here")
    parser.add_argument("--only", metavar="GOALS", default="",
                        help="comma-separated goal numbers to measure, e.g. --only 1,2 (default: all)")
    args = parser.parse_args(argv)
    only = {goal.strip() for goal in args.only.split(",") if goal.strip()}
    # Streams in process unless a row says otherwise (goal 14 and goal 4's hub_stream set KIWOOM_STREAM_HUB=1): with
    # the hub the default, goal 9's kiwoom-client run met the hub kiwoom_nb's run left for its grace period, and the
    # two kicked each other off the one socket per key (ConnectionClosed in a fresh clone's bench-quick).
    os.environ["KIWOOM_STREAM_HUB"] = "0"

    quiet = wait_until_quiet(args.wait_quiet, args.quiet_threshold) if not args.quick else "not checked (quick)"
    info = machine()
    info["load before"] = f"{load_average()}; {quiet}"
    results = Results()
    meter = OtherLoad()
    with tempfile.TemporaryDirectory(prefix="kiwoom-bench-") as tmp, FakeKiwoom() as fake:
        workdir = Path(tmp)
        ctx = Context(fake, child_env(fake, workdir), workdir, QUICK if args.quick else FULL, results)
        steps = [
            ("1", measure_loading, "1. loading"),
            ("1", measure_imports, "1. imports at load"),
            ("2", measure_per_cell, "2. every cell"),
            ("3", measure_warm_login, "3. warm login"),
            ("3", measure_cold_login, "3. cold import and login"),
            ("4", measure_shutdown, "4. leaving (real kernels)"),
            ("5", measure_memory, "5. memory"),
            ("4", measure_revoker, "4/5. the revoker (real kernels)"),
            ("4", measure_hangs, "4. timeouts and budgets against a Kiwoom that never answers"),
            ("6", measure_tr_call, "6. TR call overhead"),
            ("6", measure_paced, "6. pacing against a rate-limited fake"),
            ("6", measure_frame, "6. frames"),
            ("7", measure_catalogue, "7. the field catalogue"),
            ("8", measure_candles, "8. candles of many stocks"),
            ("9", measure_stream, "9. the real-time stream against kiwoom-client's WebSocket client"),
            ("10", measure_board, "10. a live board at 2,000 ticks/s (real kernels)"),
            ("11", measure_store, "11. the candle store"),
            ("12", measure_shared_pace, "12. many processes on one key (this machine, Redis)"),
            ("13", measure_orders, "13. an order to filled: events against polling"),
            ("14", measure_ingest, "14. the stream's ingest against its floor and kiwoom-client's"),
            ("14", measure_hub, "14. the stream hub: 5,000 events/s to 3 client processes"),
        ]
        round_trip = None
        for goal, measure, name in steps:
            if only and goal not in only:
                continue
            if measure is measure_shutdown:
                if round_trip is None:
                    round_trip = measure_warm_login(progress(ctx, "3. warm login (the round trip for goal 4)"))
                measure(progress(ctx, name), round_trip)
            elif measure is measure_warm_login:
                round_trip = measure(progress(ctx, name))
            else:
                measure(progress(ctx, name))
    others = meter.cores()
    info["load after"] = load_average()
    info["CPU used by other processes during the run"] = (
        "unknown" if others is None else f"{others:.2f} cores on average (of {os.cpu_count()})")

    if only:
        info["goals measured"] = ", ".join(sorted(only))
    text = ["## Machine", ""] + [f"- {key}: {value}" for key, value in info.items()]
    if args.quick:
        text += ["", "**Quick mode: counts too small for the numbers to mean anything.**"]
    text += ["", "## Results", "", markdown_table(results.rows)]
    for detail in results.details:
        text += ["", detail]
    print("\n".join(text))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "rows": [r.__dict__ for r in results.rows],
                                               "raw": results.raw}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
