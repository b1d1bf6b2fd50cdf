"""The fake Kiwoom's charts: every candle TR (ka10079-ka10083, ka10094, usa06010-usa06015) as the rows of one
request, newest first, one page at a time; ``_trs`` pages them. Stdlib only, deterministic.

The numbers are the market's (``_market``): days from the code's path up to the fake's clock (today's bar only once
the session opened, growing with it), weeks, months and years those days added up and dated by their first trading
day; minutes and ticks the path inside each day, stamped at their start (ticks at their last trade), 09:00-15:30 KST
(US: 09:30-16:00 New York time). This module writes them as Kiwoom was recorded writing them (days and longer
unsigned, minutes and ticks signed against the close before, with the day's volume so far).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, Iterator

from ._market import KNOTS, MINUTES, Bar, Market, default_market
from ._stocks import stock

#: The day the fake's hand-picked prices are true (``_market.ANCHOR``); the old name of its "today".
TODAY = date(2026, 12, 1)
#: Won per dollar when a US chart asks for exrt_appl_tp=1.
WON_PER_DOLLAR = 1400
#: How many trading days back the minute and tick charts reach (the daily charts reach the listing date).
MINUTE_DAYS, TICK_DAYS = 120, 10

#: api-id -> what it charts: D W M Y (days and longer), "minute" or "tick".
CHARTS = {"ka10079": "tick", "ka10080": "minute", "ka10081": "D", "ka10082": "W", "ka10083": "M", "ka10094": "Y",
          "usa06010": "tick", "usa06011": "minute", "usa06012": "D", "usa06013": "W", "usa06014": "M",
          "usa06015": "Y"}

#: One candle: (day YYYYMMDD or time YYYYMMDDHHMMSS, open, high, low, close, volume, value, previous close), and
#: for minute and tick bars the day's volume up to and with the bar.
Candle = tuple


def page(api_id: str, body: dict[str, Any], market: Market, offset: int, size: int,
         count: int | None = None) -> tuple[list[dict[str, str]], bool]:
    """Rows ``offset`` to ``offset + size`` of the chart (newest first, at most ``count`` in all), and whether more
    follow."""
    limit = offset + size if count is None else min(offset + size, count)
    made = list(islice(candles(api_id, body, market, offset), limit + 1 - offset)) if limit > offset else []
    more = len(made) > limit - offset and (count is None or limit < count)
    return [_format(api_id, body, c) for c in made[:limit - offset]], more


def rows(api_id: str, body: dict[str, Any], count: int | None = None, market: Market | None = None) -> list[dict[str, str]]:
    """Every row the fake has for this request (at most ``count``), newest first."""
    made = candles(api_id, body, market or default_market())
    return [_format(api_id, body, c) for c in (made if count is None else islice(made, count))]


def daily(stk_cd: str, base_dt: str, count: int) -> list[dict[str, str]]:
    """``count`` daily candles of ``stk_cd`` (ka10081's rows), newest first, up to ``base_dt`` (a default clock)."""
    return rows("ka10081", {"stk_cd": stk_cd, "base_dt": base_dt}, count)


def candles(api_id: str, body: dict[str, Any], market: Market, skip: int = 0) -> Iterator[Candle]:
    """The request's candles, newest first, made as they are read, from the ``skip``-th on (skipped days and
    sessions are counted, not made)."""
    us = api_id.startswith("usa")
    code = str(body.get("stk_cd", "")).strip().upper() if us else str(body.get("stk_cd", "")).split("_")[0]
    interval = CHARTS[api_id]
    first = str(body.get("strt_dt") or "") if us else ""  # US charts run from today back to strt_dt
    until = _day(str(body.get("base_dt") or ""))
    if interval in ("minute", "tick"):
        made = _intraday(market, code, us, until, first, interval, _scope(body.get("tic_scope")), skip)
    elif interval == "D":
        made = _days(market, code, us, until, first, skip)
    else:
        made = islice(_periods(_days(market, code, us, until, first), interval), skip, None)
    factor = market.factors.get(code, 1.0) if str(body.get("upd_stkpc_tp", "")) == "1" else 1.0
    return made if factor == 1.0 else (_rebased(c, factor) for c in made)


def _rebased(candle: Candle, factor: float) -> Candle:
    """A candle of a re-based adjusted history (Market.rebase): its prices times ``factor``."""
    return (candle[0], *(max(round(v * factor), 1) for v in candle[1:5]), *candle[5:7], max(round(candle[7] * factor), 1),
            *candle[8:])


def _scope(value: Any) -> int:
    """tic_scope as a count (minutes or ticks a bar); anything else is 1."""
    try:
        return max(int(str(value or 1).strip()), 1)
    except ValueError:
        return 1


def _day(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _days(market: Market, code: str, us: bool, until: date | None, first: str, skip: int = 0) -> Iterator[Candle]:
    path, last, partial = market.days(code, until, us)
    if partial and not skip:
        yield _candle(partial.at.strftime("%Y%m%d"), partial)
    for k in range(last - max(skip - (1 if partial else 0), 0), -1, -1):
        bar = path.bar(k)
        stamp = bar.at.strftime("%Y%m%d")
        if first and stamp < first:
            return
        yield _candle(stamp, bar)


def _candle(stamp: str, bar: Bar) -> Candle:
    return (stamp, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.value, bar.previous)


def _periods(days: Iterator[Candle], interval: str) -> Iterator[Candle]:
    """Days added up by week, month or year, newest first; each dated by its first trading day."""
    def period(day: str) -> Any:
        return date(int(day[:4]), int(day[4:6]), int(day[6:8])).isocalendar()[:2] if interval == "W" else \
            day[:6] if interval == "M" else day[:4]

    group: list[Candle] = []
    for candle in days:
        if group and period(group[-1][0]) != period(candle[0]):
            yield _period(group)
            group = []
        group.append(candle)
    if group:
        yield _period(group)


def _period(g: list[Candle]) -> Candle:
    return (g[-1][0], g[-1][1], max(c[2] for c in g), min(c[3] for c in g), g[0][4], sum(c[5] for c in g),
            sum(c[6] for c in g), g[-1][7])


def _intraday(market: Market, code: str, us: bool, until: date | None, first: str, interval: str,
              scope: int, skip: int = 0) -> Iterator[Candle]:
    """Minute bars of ``scope`` minutes, or tick bars of ``scope`` trades, newest first, day by day back from
    ``until`` (default: the clock's day) for :data:`MINUTE_DAYS` or :data:`TICK_DAYS` trading days."""
    path = market.path(code, us)
    today, elapsed = market.session(us)
    last = path.index(min(today, until) if until else today)
    opens = 9 * 3600 + (1800 if us else 0)
    for k in range(last, max(last - (MINUTE_DAYS if interval == "minute" else TICK_DAYS), -1), -1):
        day = date.fromordinal(path.days[k])
        stamp = day.strftime("%Y%m%d")
        if first and stamp < first:
            return
        live = day == today and elapsed < MINUTES * 60
        if live and elapsed < 0:
            continue  # today, before the open: no bar yet
        previous = path.close[k - 1] if k else path.close[k]
        minutes = market.minutes(path, k)
        if interval == "minute":
            upto = int(elapsed // 60) if live else MINUTES - 1
            if skip > upto // scope:
                skip -= upto // scope + 1
                continue
            bars = [minutes[m] for m in range(upto)]
            if live:
                now = market.minute_until(path, k, upto, elapsed - upto * 60)
                bars.append((now.open, now.high, now.low, now.close, now.volume))
            else:
                bars.append(minutes[upto])
            running = market.running(path, k)[2]  # the day's volume before each minute
            for g in range((len(bars) - 1) // scope - skip, -1, -1):
                skip = 0
                group = bars[g * scope:(g + 1) * scope]
                volume = sum(b[4] for b in group)
                at = opens + g * scope * 60
                so_far = running[g * scope] + volume  # the day's volume up to and with the bar (acc_trde_qty)
                yield (f"{stamp}{at // 3600:02d}{at // 60 % 60:02d}00", group[0][0], max(b[1] for b in group),
                       min(b[2] for b in group), group[-1][3], volume, volume * group[-1][3], previous, so_far)
        else:
            step = 60 // KNOTS
            upto = min(int(elapsed // step), MINUTES * KNOTS - 1) if live else MINUTES * KNOTS - 1
            if skip > upto // scope:
                skip -= upto // scope + 1
                continue
            running = market.running(path, k)[2]
            for g in range(upto // scope - skip, -1, -1):
                skip = 0
                ticks = []
                for n in range(g * scope, min((g + 1) * scope, upto + 1)):
                    m, j = divmod(n, KNOTS)
                    ticks.append(market.knots(path, k, m)[j])
                prices = [p for p, _ in ticks]
                volume = sum(q for _, q in ticks)
                last = min((g + 1) * scope - 1, upto)
                m, j = divmod(last, KNOTS)
                so_far = running[m] + sum(q for _, q in market.knots(path, k, m)[:j + 1])
                at = opens + last * step
                yield (f"{stamp}{at // 3600:02d}{at // 60 % 60:02d}{at % 60:02d}", prices[0], max(prices),
                       min(prices), prices[-1], volume, volume * prices[-1], previous, so_far)


def _format(api_id: str, body: dict[str, Any], candle: Candle) -> dict[str, str]:
    interval = CHARTS[api_id]
    if api_id.startswith("usa"):
        rate = WON_PER_DOLLAR if str(body.get("exrt_appl_tp", "0")) == "1" else 1
        return _us_row(candle, interval, rate)
    return _row(candle, interval)


def _signed(value: int, reference: int, decimals: int = 0) -> str:
    text = f"{value / 10 ** decimals:.{decimals}f}" if decimals else str(value)
    return f"+{text}" if value > reference else f"-{text}" if value < reference else text


def _row(candle: Candle, interval: str) -> dict[str, str]:
    stamp, o, h, l, c, qty, value, previous = candle[:8]
    price = (lambda v, _: str(v)) if interval in ("D", "W", "M", "Y") else _signed  # days and longer: unsigned, as recorded
    row = {"cur_prc": price(c, previous), "trde_qty": str(qty), "trde_prica": str(value // 1_000_000),  # 백만원
           "open_pric": price(o, previous), "high_pric": price(h, previous), "low_pric": price(l, previous),
           "pred_pre": f"{c - previous:+d}" if c != previous else "0",
           "pred_pre_sig": "2" if c > previous else "5" if c < previous else "3",
           "trde_tern_rt": f"+{(qty % 300) / 100:.2f}"}
    if interval in ("minute", "tick"):
        row["cntr_tm"] = stamp
        row["acc_trde_qty"] = str(candle[8])  # the day's so far; trde_qty is the bar's own (recorded, ka10080)
        del row["trde_prica"], row["trde_tern_rt"]  # the minute and tick charts have neither
    else:
        row["dt"] = stamp
    return row


def _us_row(candle: Candle, interval: str, rate: int) -> dict[str, str]:
    stamp, o, h, l, c, qty, value, previous = (candle[0], *(v * rate for v in candle[1:5]), candle[5],
                                               candle[6] // 10000 * rate, candle[7] * rate)
    if rate != 1:  # in won: whole won, still written with four decimals
        o, h, l, c, previous = (v // 10000 * 10000 for v in (o, h, l, c, previous))
    prices = {"cur_prc": _signed(c, previous, 4), "open_pric": _signed(o, previous, 4),
              "high_pric": _signed(h, previous, 4), "low_pric": _signed(l, previous, 4)}
    extra = {"upd_stkpc_tp": "", "upd_rt": ""}
    if interval in ("minute", "tick"):
        return {**prices, "trde_qty": str(qty), "cntr_tm": stamp, "bus_dt": stamp[:8], **extra}
    row = {**prices, "acc_trde_qty": str(qty), "acc_trde_prica": str(value // 10000), "dt": stamp, **extra}
    if interval == "D":
        change = c - previous  # a real change: its sign is arithmetic
        row["pred_pre"] = f"{change / 10000:+.4f}" if change else "0.0000"
        row["flu_rt"] = f"{change * 100 / previous:+.2f}" if change else "0.00"
    return row


__all__ = ["CHARTS", "TODAY", "WON_PER_DOLLAR", "candles", "daily", "page", "rows", "stock"]
