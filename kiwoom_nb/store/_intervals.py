"""The names of chart intervals (D W M Y, 1m … 60m, tick, 1t … 30t) and the pandas / yfinance / word aliases that mean
them: one vocabulary for ``candles`` and for the store's read / clear (so ``read(code, "1d")`` finds what
``candles(code, "1d")`` kept). No I/O, no TR."""

from __future__ import annotations

import re
from typing import Any

from .._errors import RequestError

__all__ = ["INTERVALS", "interval_of"]

_MINUTES = ("1", "3", "5", "10", "15", "30", "45", "60")
_TICKS = ("1", "3", "5", "10", "30")
#: Every interval ``candles`` takes.
INTERVALS = ("D", "W", "M", "Y", *(f"{m}m" for m in _MINUTES), "tick", *(f"{t}t" for t in _TICKS))

#: pandas' and yfinance's names for the same intervals (1d, 1wk, 1mo, 5min, 1h, ...), and words.
ALIASES = {**{a: "D" for a in ("1d", "d", "day", "daily", "1day")},
           **{a: "W" for a in ("1wk", "wk", "1w", "w", "week", "weekly", "1week")},
           **{a: "M" for a in ("1mo", "mo", "month", "monthly", "1month", "1me", "me")},  # MS: below (ms: milliseconds)
           **{a: "Y" for a in ("1y", "y", "year", "yearly", "1year", "1ye", "ye", "1ys", "ys", "a", "1a")},
           **{f"{m}{unit}": f"{m}m" for m in _MINUTES for unit in ("min", "mins", "minute", "minutes", "t")
              if f"{m}{unit}" not in ("1t", "3t", "5t", "10t", "30t")},  # 5t stays 5 ticks, as before
           "1h": "60m", "h": "60m", "60min": "60m", "1hour": "60m", "hour": "60m", "ticks": "tick", "1tick": "tick"}


def interval_of(interval: Any) -> str:
    """The canonical name of ``interval`` ("1d" -> "D", "5min" -> "5m"); anything else: one line saying what to use."""
    if not isinstance(interval, str):
        raise RequestError(f"interval={interval!r}: use one of {', '.join(INTERVALS)} as a string (M is a month, 1m a "
                           "minute)")
    raw = interval.strip()
    if re.fullmatch(r"\d+T", raw):  # pandas' old minute alias, and this module's ticks: refused, not guessed
        raise RequestError(f"interval={interval!r} reads two ways (pandas: {raw[:-1]} minutes; here: ticks); write "
                           f"{raw[:-1]}min for minutes or {raw[:-1]}t for ticks")
    if raw in ("1M", "MS", "1MS"):  # pandas' month (and month start); 1m is a minute, 1ms a millisecond
        raw = "M"
    text = raw.upper() if raw.upper() in ("D", "W", "Y") or raw == "M" else raw.lower().replace(" ", "")
    text = ALIASES.get(text, text)
    if text not in INTERVALS:
        raise RequestError(f"interval={interval!r}: use one of {', '.join(INTERVALS)} (M is a month, 1m a minute), "
                           "or pandas / yfinance names: 1d, 1wk, 1mo, 1y, 5min, 1h")
    return text

