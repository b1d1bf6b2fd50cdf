"""Goal 8: candles of many stocks (issue 21).

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 8``); imports only bench/common.py of bench/."""

from __future__ import annotations

import time

from kiwoom_nb.testing import FakeKiwoom

from common import Context, run_child


# -- 8. candles of many stocks (issue 21) ------------------------------------------------------------------

#: The fake's limit for the candles measurement (ka10081, requests per second), and the year fetched.
CANDLE_LIMIT = 5
CANDLE_YEAR = ("2025-12-01", "2026-11-30")
CANDLE_CODES = ("005930", "000660", "035420", "051910", "006400", "005380", "035720", "068270", "105560", "055550")


def candle_pages_needed(fake: FakeKiwoom, code: str) -> int:
    """The fewest ka10081 pages that reach the year's first day, from the fake's own data and page size."""
    from kiwoom_nb.testing.market._charts import rows

    start, end = (day.replace("-", "") for day in CANDLE_YEAR)
    every = rows("ka10081", {"stk_cd": code, "base_dt": end, "upd_stkpc_tp": "1"}, fake.candles)
    first = next((i for i, row in enumerate(every) if row["dt"] <= start), None)
    return -(-len(every) // fake.page_size) if first is None else first // fake.page_size + 1


def measure_candles(ctx: Context) -> None:
    """`api.candles(codes, "D", start, end)` for a year of daily candles against a fake allowing CANDLE_LIMIT/s."""
    codes = CANDLE_CODES[:ctx.n["candle_stocks"]]
    fake = ctx.fake
    fake.rate_limit = {"ka10081": CANDLE_LIMIT}
    time.sleep(1.1)  # let the fake's one-second window empty after earlier measurements (a measured pause)
    before, refused = len(fake.received()), fake.rate_refusals
    try:
        result, _, _ = run_child(ctx, "candles", ",".join(codes), *CANDLE_YEAR)
    finally:
        fake.rate_limit = None
    sent = [r for r in fake.received()[before:] if r.api_id == "ka10081"]
    refusals = fake.rate_refusals - refused
    needed = sum(candle_pages_needed(fake, code) for code in codes)
    answered = len(sent) - refusals
    rate = len(sent) / result["elapsed_s"]
    res = ctx.results
    res.add("8", f"`api.candles({len(codes)} codes, 'D', a year)` against the fake (pages of {fake.page_size}): "
                 "pages requested (refusals aside) against the fewest that cover the year",
            f"{answered} pages", f"{needed} needed", f"{result['rows']} rows, {result['failed']} failed",
            "equal", answered == needed and result["failed"] == 0)
    res.add("8", f"the same fetch against a limit of {CANDLE_LIMIT} per second (default pace 5/s): achieved rate, "
                 "rate-limit answers",
            f"{rate:.2f}/s ({rate / CANDLE_LIMIT:.0%} of allowed), {refusals} refused",
            goal="≥ 90 % of allowed, ≤ 1 refusal per 100 requests",
            met=rate / CANDLE_LIMIT >= 0.9 and refusals * 100 <= len(sent))
    res.raw["candles"] = {**result, "requests": len(sent), "needed": needed, "refusals": refusals}
