"""The fake Kiwoom's charts: every candle TR (ka10079-ka10083, ka10094, usa06010-usa06015) as the rows of one
request, newest first; ``_trs`` pages them. Stdlib only, deterministic.

Daily candles are ``_stocks.candles`` (US: a walk of its own, in 1/10000 dollar); weeks, months and years are those
days added up, dated by their first trading day; minutes and ticks fill each trading day of the daily series,
09:00-15:30 KST (US: 09:30-16:00 New York time), from the day's open to its close, signed against the day before.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ._stocks import candles as daily_candles
from ._stocks import stock
from ._synth import number

#: The fake's today: the newest candle when a request names no day.
TODAY = date(2026, 12, 1)
#: Won per dollar when a US chart asks for exrt_appl_tp=1.
WON_PER_DOLLAR = 1400

#: api-id -> what it charts: D W M Y (days and longer), "minute" or "tick".
CHARTS = {"ka10079": "tick", "ka10080": "minute", "ka10081": "D", "ka10082": "W", "ka10083": "M", "ka10094": "Y",
          "usa06010": "tick", "usa06011": "minute", "usa06012": "D", "usa06013": "W", "usa06014": "M",
          "usa06015": "Y"}

#: One candle: (day YYYYMMDD or time YYYYMMDDHHMMSS, open, high, low, close, volume, value, previous close), and
#: for minute and tick bars the day's volume up to and with the bar.
Candle = tuple


def rows(api_id: str, body: dict[str, Any], count: int) -> list[dict[str, str]]:
    """Every row the fake has for this request (at most ``count`` days, or ``count`` bars), newest first."""
    us = api_id.startswith("usa")
    code = str(body.get("stk_cd", "")).strip().upper() if us else str(body.get("stk_cd", ""))
    interval = CHARTS[api_id]
    first = str(body.get("strt_dt") or "") if us else ""  # US charts run from today back to strt_dt
    end = str(body.get("base_dt") or "") or TODAY.strftime("%Y%m%d")
    days = _us_days(code, end, count, first) if us else _days(code, end, count)
    if interval == "D" and not us:
        return daily_candles(code, end, count)  # ka10081's own rows, as the fake always served them
    if interval in ("W", "M", "Y"):
        made = _periods(days, interval)
    elif interval == "minute":
        made = _bars(code, days, _minutes(int(body.get("tic_scope") or 1), us), count)
    elif interval == "tick":
        made = _bars(code, days, _ticks(code, int(body.get("tic_scope") or 1), us), count)
    else:
        made = days
    if us:
        rate = WON_PER_DOLLAR if str(body.get("exrt_appl_tp", "0")) == "1" else 1
        return [_us_row(candle, interval, rate) for candle in made]
    return [_row(candle, interval) for candle in made]


def _days(code: str, end: str, count: int) -> list[Candle]:
    made = []
    for row in daily_candles(code, end, count):
        o, h, l, c = (abs(int(row[k])) for k in ("open_pric", "high_pric", "low_pric", "cur_prc"))
        made.append((row["dt"], o, h, l, c, int(row["trde_qty"]), int(row["trde_prica"]), c - int(row["pred_pre"])))
    return made


def _us_days(code: str, end: str, count: int, first: str) -> list[Candle]:
    """US daily candles in 1/10000 dollar, newest first, from ``end`` back to ``first`` (strt_dt) at most."""
    close = (20 + number(code, "usd") % 480) * 10000 + number(code, "cents") % 100 * 100
    day = datetime.strptime(end, "%Y%m%d").date()
    made: list[Candle] = []
    while len(made) < count:
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        if first and day.strftime("%Y%m%d") < first:
            break
        h = number(code, day, "day")
        previous = max(close + (h % 41 - 20) * close // 1000, 10000)
        spread = close // 150 + h % 7 * 100
        opened = (close + previous) // 2
        qty = 100_000 + h % 9_000_000
        made.append((day.strftime("%Y%m%d"), opened, max(close, previous) + spread,
                     max(min(close, previous) - spread, 100), close, qty, qty * close // 10000, previous))
        close, day = previous, day - timedelta(days=1)
    return made


def _periods(days: list[Candle], interval: str) -> list[Candle]:
    """Days added up by week, month or year, newest first; each dated by its first trading day."""
    def period(day: str) -> Any:
        return date(int(day[:4]), int(day[4:6]), int(day[6:8])).isocalendar()[:2] if interval == "W" else \
            day[:6] if interval == "M" else day[:4]

    groups: list[list[Candle]] = []
    for candle in days:
        if groups and period(groups[-1][0][0]) == period(candle[0]):
            groups[-1].append(candle)
        else:
            groups.append([candle])
    return [(g[-1][0], g[-1][1], max(c[2] for c in g), min(c[3] for c in g), g[0][4], sum(c[5] for c in g),
             sum(c[6] for c in g), g[-1][7]) for g in groups]


def _minutes(scope: int, us: bool) -> list[int]:
    """The seconds after midnight of each bar of one session, newest first."""
    opens, closes = (9 * 3600 + 1800, 16 * 3600) if us else (9 * 3600, 15 * 3600 + 1800)
    return list(range(opens, closes + 1, scope * 60))[::-1]


def _ticks(code: str, scope: int, us: bool) -> Any:
    """A function of the day giving the seconds of its tick bars, newest first: one every 1-20 s per tick."""
    opens, closes = (9 * 3600 + 1800, 16 * 3600) if us else (9 * 3600, 15 * 3600 + 1800)

    def times(day: str) -> list[int]:
        made, now = [], closes
        while now >= opens:
            made.append(now)
            now -= sum(1 + number(code, day, len(made), k) % 20 for k in range(scope))
        return made

    return times


def _bars(code: str, days: list[Candle], seconds: Any, count: int) -> list[Candle]:
    """``count`` bars, newest first, over the days: each day's bars walk from its open to its close, inside its high
    and low; their volumes add up to about the day's."""
    made: list[Candle] = []
    for day, o, h, l, c, qty, _, previous in days:
        times = seconds(day) if callable(seconds) else seconds
        n = len(times)
        close = c
        volumes = [max(qty // n + number(code, day, at, "q") % 1000 - 500, 1) for at in times]
        after = sum(volumes)  # the day's quantity up to and with the bar (acc_trde_qty), newest first
        for i, at in enumerate(times):  # newest first: bar i is n - 1 - i bars after the open
            step = n - 1 - i
            drift = o + (c - o) * step // max(n - 1, 1)
            wiggle = (number(code, day, at, "w") % 21 - 10) * max((h - l) // 40, 1)
            close = c if i == 0 else min(max(drift + wiggle, l), h)
            opened = o if step == 0 else min(max(drift - wiggle // 2, l), h)
            spread = number(code, day, at, "s") % 5 * max((h - l) // 100, 1)
            volume = volumes[i]
            stamp = f"{day}{at // 3600:02d}{at // 60 % 60:02d}{at % 60:02d}"
            made.append((stamp, opened, min(max(opened, close) + spread, h), max(min(opened, close) - spread, l),
                         close, volume, volume * close, previous, after))
            after -= volume
            if len(made) >= count:
                return made
    return made


def _signed(value: int, reference: int, decimals: int = 0) -> str:
    text = f"{value / 10 ** decimals:.{decimals}f}" if decimals else str(value)
    return f"+{text}" if value > reference else f"-{text}" if value < reference else text


def _row(candle: Candle, interval: str) -> dict[str, str]:
    stamp, o, h, l, c, qty, value, previous = candle[:8]
    price = (lambda v, _: str(v)) if interval in ("D", "W", "M", "Y") else _signed  # days and longer: unsigned, as recorded
    row = {"cur_prc": price(c, previous), "trde_qty": str(qty), "trde_prica": str(value),
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
                                               candle[6] * rate, candle[7] * rate)
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


__all__ = ["CHARTS", "TODAY", "WON_PER_DOLLAR", "rows", "stock"]
