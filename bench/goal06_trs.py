"""Goal 6: calling TRs (issue 11) — the client's overhead per call, pacing against a rate-limited fake, frames.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 6``); imports only bench/common.py of bench/."""

from __future__ import annotations

import time

from common import Context, PACED_LIMIT, fmt_mib, fmt_ms, fmt_us, median, run_child


# -- 6. calling TRs (issue 11) ------------------------------------------------------------------------


def measure_tr_call(ctx: Context) -> None:
    result, _, _ = run_child(ctx, "tr_call", ctx.n["pairs"])
    ours, floor = median(result["kiwoom_nb"]), median(result["httpx"])
    ctx.results.add("6", f"`api.call('ka10001', …)` (unpaced) against a reused `httpx.Client` POST with the same headers "
                         f"and body (median of {ctx.n['pairs']} alternating calls)",
                    fmt_us(ours), fmt_us(floor), f"×{ours / floor:.2f} ({(ours - floor) * 1e6:+.0f} µs)", "ratio ≤ 1.2",
                    ours / floor <= 1.2)
    ctx.results.raw["tr_call"] = result


def measure_paced(ctx: Context) -> None:
    """The same loop of ka10001 calls against a fake allowing PACED_LIMIT per second, one client after another."""
    calls = ctx.n["paced_calls"]
    ctx.fake.rate_limit = {"ka10001": PACED_LIMIT}
    runs = {}
    try:
        variants = {"kiwoom_nb": "kiwoom_nb", "kiwoom_client": "kiwoom_client",
                    f"kiwoom_client rate_limit={PACED_LIMIT}": f"kiwoom_client={PACED_LIMIT}"}
        for which, argument in variants.items():
            time.sleep(1.1)  # let the fake's one-second window empty between clients (a measured pause)
            refused = ctx.fake.rate_refusals
            result, _, _ = run_child(ctx, "paced", argument, calls)
            result["refusals"] = ctx.fake.rate_refusals - refused
            result["rate"] = calls / result["elapsed_s"]
            runs[which] = result
    finally:
        ctx.fake.rate_limit = None
    ours = runs["kiwoom_nb"]
    share = ours["rate"] / PACED_LIMIT
    ok = share >= 0.9 and ours["refusals"] * 100 <= calls and ours["errors"] == 0
    res = ctx.results
    res.add("6", f"{calls} `api.call` in a loop against a fake allowing {PACED_LIMIT} per second per TR (default pace 5/s, "
                 "learns `유량=3` from the first refusal): achieved rate, rate-limit answers",
            f"{ours['rate']:.2f}/s ({share:.0%} of allowed), {ours['refusals']} refused, {ours['errors']} errors",
            goal="≥ 90 % of allowed, ≤ 1 refusal per 100 calls", met=ok)
    for which in runs:
        if which == "kiwoom_nb":
            continue
        other = runs[which]
        res.add("6", f"the same {calls} calls with kiwoom-client 0.4.0 `KiwoomAPI(...)` "
                     f"{'(its defaults: 1/s, burst 2)' if which == 'kiwoom_client' else '(' + which.split(' ', 1)[1] + ')'}",
                f"{ours['rate']:.2f}/s", f"{other['rate']:.2f}/s, {other['refusals']} refused, {other['errors']} errors",
                f"×{ours['rate'] / other['rate']:.2f} the rate")
    ctx.results.raw["paced"] = runs


def measure_frame(ctx: Context) -> None:
    rows = ctx.n["frame_rows"]
    result, _, _ = run_child(ctx, "frame", rows)
    per = 10_000 / result["rows"]
    numeric, strings, plain = (median(result["times"][k]) * per for k in ("numeric", "strings", "plain"))
    res = ctx.results
    res.add("6", f"`frame(numeric=True)` per 10,000 daily-candle rows (from {rows} rows in pages of 100; median of 7), "
                 "against `pd.DataFrame` of the same rows", fmt_ms(numeric), fmt_ms(plain),
            f"{(numeric - plain) * 1e3:+.1f} ms for the numeric rules (numeric=False: {fmt_ms(strings)})")
    res.add("6", "memory of that frame (`memory_usage(deep=True)`), numeric against Kiwoom's strings; peak while building",
            fmt_mib(result["numeric_bytes"] / 1024 * per), fmt_mib(result["strings_bytes"] / 1024 * per),
            f"peak {fmt_mib(result['peak_bytes'] / 1024 * per)} (tracemalloc)")
    ctx.results.raw["frame"] = result
