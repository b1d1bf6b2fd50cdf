"""The fake market's clock and price steps: Korea time, the anchor day, ticks per minute, KRX's 호가단위, and the
fake's own clock (``parse_when``, ``Clock``). Stdlib only, deterministic (seeds from sha256)."""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from bisect import bisect_right
from datetime import date, datetime, timedelta, timezone
from typing import Any

KST = timezone(timedelta(hours=9), "KST")
#: The day the fake's hand-picked prices (``_stocks.STOCKS``) are true: every path goes through them there.
ANCHOR = date(2026, 12, 1)
#: Trades per minute in the tick path (one every 60 / KNOTS seconds).
KNOTS = 30
MINUTES = 390  # 09:00-15:30 KST (KRX); 09:30-16:00 New York time (US)
_OPEN = {False: 9 * 3600, True: 9 * 3600 + 1800}  # seconds after midnight, by "is US"
_STEP = 60 // KNOTS


def _seed(*parts: object) -> int:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:16], 16)


_BOUNDS = (2000, 5000, 20000, 50000, 200000, 500000)
_STEPS = (1, 5, 10, 50, 100, 500, 1000)


def tick_size(price: float, us: bool = False) -> int:
    """KRX's price step (호가단위) at ``price`` won; one cent (100 in 1/10000 dollar) for US stocks."""
    return 100 if us else _STEPS[bisect_right(_BOUNDS, price)]


def _round(price: float, us: bool, how: str = "near") -> int:
    step = 100 if us else _STEPS[bisect_right(_BOUNDS, price)]
    units = price / step
    units = math.floor(units) if how == "down" else math.ceil(units) if how == "up" else math.floor(units + 0.5)
    return max(int(units) * step, step)


# -- the clock -------------------------------------------------------------------------------------------------------

def parse_when(text: Any, today: date | None = None) -> datetime:
    """A clock setting as naive Korea time: a datetime (aware ones converted), ``"2026-12-01 08:30[:00]"``,
    ``"20261201 0830"``, ``"2026-12-01"`` (its close, 15:30), or ``"08:30"`` (that time on the default session's day).
    Raises ValueError with what to write."""
    if isinstance(text, datetime):
        return text.astimezone(KST).replace(tzinfo=None) if text.tzinfo else text
    if isinstance(text, date):
        return datetime(text.year, text.month, text.day, 15, 30)
    value = str(text).strip()
    try:
        found = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})(?:[ T](\d{1,2}):?(\d{2})(?::?(\d{2}))?)?", value)
        if found:
            y, m, d, hh, mm, ss = found.groups()
            if hh is None:
                hh, mm = "15", "30"
            return datetime(int(y), int(m), int(d), int(hh), int(mm), int(ss or 0))
        found = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", value)
        if found:
            day = today or default_start().date()
            return datetime(day.year, day.month, day.day, int(found.group(1)), int(found.group(2)),
                            int(found.group(3) or 0))
    except ValueError:  # 2026-13-45, 25:00: a date or time that does not exist
        pass
    raise ValueError(f"clock={text!r}: write it like '2026-12-01 08:30' (Korea time), '08:30', or leave it out for "
                     "an open session")


def default_start(real: datetime | None = None) -> datetime:
    """Where the default clock starts: Korea's time now when the market is open with 90 minutes or more to go, else
    10:00 on the latest weekday (a demo at night or on a Sunday still shows a session running, for hours)."""
    now = (real or datetime.now(KST)).astimezone(KST).replace(tzinfo=None, microsecond=0)
    seconds = now.hour * 3600 + now.minute * 60 + now.second
    if now.weekday() < 5 and _OPEN[False] <= seconds < _OPEN[False] + MINUTES * 60 - 5400:
        return now
    day = now.date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0)


class Clock:
    """The fake's market time (naive Korea time): starts at ``start`` (default: :func:`default_start`) and runs at
    ``speed`` seconds per real second (0 holds it still). ``set()`` and ``advance()`` move it."""

    def __init__(self, start: Any = None, speed: float = 1.0) -> None:
        self.speed = float(speed)
        self._lock = threading.Lock()
        self.set(start)

    def set(self, when: Any = None) -> None:
        at = default_start() if when is None or str(when).strip().lower() in ("", "open", "live") else parse_when(when)
        with self._lock:
            self._at, self._since = at, time.monotonic()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._at += timedelta(seconds=seconds)

    def now(self) -> datetime:
        with self._lock:
            return self._at + timedelta(seconds=(time.monotonic() - self._since) * self.speed)

    def __repr__(self) -> str:
        return f"Clock({self.now():%Y-%m-%d %H:%M:%S} KST, speed={self.speed:g})"


def as_clock(value: Any) -> Clock:
    """``FakeKiwoom(clock=...)``: a Clock as it is, else a running clock starting at ``value``."""
    return value if isinstance(value, Clock) else Clock(value)
