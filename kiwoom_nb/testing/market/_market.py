"""The fake Kiwoom's market: one price path per stock code, the fake's own clock, and mock orders matched against the
path. Every number the fake serves (ka10001, every chart, the order book, 0B / 0D / 00) comes from here.

Owns values only, never Kiwoom's formats (signs, widths, labels stay in ``_stocks``, ``_charts``, ``_trs``, ``_ws``).
Stdlib only and deterministic: seeds come from sha256 and are drawn with ``random.Random(seed).random()`` only, whose
sequence Python keeps the same across versions and processes.

The path, from coarse to fine:
- **days**: a walk of closes per code, pinned at :data:`ANCHOR` (2026-12-01) to the close and previous close the
  fake always had (``_stocks.stock``), back to the code's listing date and forward as far as the clock needs; each day
  has an open, high, low and volume drawn around it;
- **minutes** of one day (made lazily, cached): 390 bars from the day's open to its close that touch its high and
  low and add up to its volume;
- **ticks**: :data:`KNOTS` trades per minute (every 2 s) from the minute's open to its close, touching its high and
  low, their volumes adding up to the minute's. The last tick of a day is its close.
Between ticks the cumulative volume grows linearly, so a stream sampled at any rate sees it only rise.
"""

from __future__ import annotations

import random
import threading
from datetime import date, datetime, timedelta
from typing import Any, Callable

from ._clock import ANCHOR, Clock, KNOTS, KST, MINUTES, _OPEN, _STEP, _seed, as_clock, default_start, parse_when, tick_size
from ._path import Bar, Path, _knots, _minutes, _running, listing_date
from ._orders import Event, Order, Orders

class Market:
    """Every code's path and the fake's clock: what any TR or frame asks about a code at the clock's time."""

    def __init__(self, clock: Clock, stock: Callable[[str], Any]) -> None:
        self.clock, self._stock = clock, stock
        self._paths: dict[tuple[str, bool], Path] = {}
        self._runs: dict[tuple, tuple] = {}
        self._lock = threading.Lock()
        self.orders = Orders(self)
        self.factors: dict[str, float] = {}  # code -> what its adjusted prices are multiplied by (rebase)

    def rebase(self, code: str, factor: float = 0.5) -> None:
        """A split or dividend re-bases ``code``'s adjusted history: from now on its adjusted charts (upd_stkpc_tp=1)
        serve every price times ``factor`` (0.5: a 2-for-1 split); unadjusted charts are unchanged."""
        self.factors[code] = self.factors.get(code, 1.0) * factor

    @staticmethod
    def listed(code: str) -> date:
        return listing_date(code)

    # paths
    def path(self, code: str, us: bool = False) -> Path:
        key = (code, us)
        found = self._paths.get(key)
        if found is None:
            with self._lock:
                found = self._paths.get(key)
                if found is None:
                    close, previous = self._anchor(code, us)
                    found = self._paths[key] = Path(code, close, previous, us)
        return found

    def _anchor(self, code: str, us: bool) -> tuple[int, int]:
        if us:
            close = (20 + _seed(code, "usd") % 480) * 10000 + _seed(code, "cents") % 100 * 100
            return close, max(close + (_seed(code, "usd-previous") % 41 - 20) * close // 1000 // 100 * 100, 10000)
        found = self._stock(code)
        return (found[1], found[2]) if found else (50000, 50000)

    def session(self, us: bool = False, now: datetime | None = None) -> tuple[date, int]:
        """(the exchange's date, seconds after its open; negative before it) at ``now`` (default: the clock)."""
        now = now or self.clock.now()
        if us:
            from zoneinfo import ZoneInfo

            now = now.replace(tzinfo=KST).astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)
        seconds = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
        return now.date(), seconds - _OPEN[us]

    # days
    def days(self, code: str, until: date | None = None, us: bool = False) -> tuple[Path, int, Bar | None]:
        """(path, index of the newest complete day, today's bar so far or None) as of the clock, not after ``until``.

        Today (the clock's day, a weekday) has a bar once the session opened; it grows until the close."""
        path = self.path(code, us)
        today, elapsed = self.session(us)
        last = path.index(min(today, until) if until else today)
        partial = None
        if last >= 0 and path.days[last] == today.toordinal():
            if elapsed < MINUTES * 60:
                partial = self.bar_until(path, last, elapsed) if elapsed >= 0 else None
                last -= 1
        return path, last, partial

    def bar_until(self, path: Path, k: int, elapsed: float) -> Bar:
        """Day ``k``'s bar from its open to ``elapsed`` seconds into the session."""
        whole = path.bar(k)
        highs, lows, volumes = self.running(path, k)
        m = min(int(elapsed // 60), MINUTES - 1)
        part = self.minute_until(path, k, m, elapsed - m * 60)
        high, low = max(highs[m], part.high), min(lows[m], part.low)
        volume = volumes[m] + part.volume
        return Bar(whole.at, whole.open, high, low, part.close, volume, volume * part.close, whole.previous)

    def running(self, path: Path, k: int) -> tuple:
        """Day ``k``'s high, low and volume before each minute (the first minute: its open, nothing traded)."""
        key = (path.code, path.us, path.days[k])
        found = self._runs.get(key)
        if found is None:
            if len(self._runs) > 256:
                self._runs.clear()
            found = self._runs[key] = _running(self.minutes(path, k), path.bar(k).open)
        return found

    def daily(self, code: str, until: date | None = None, us: bool = False) -> list[Bar]:
        """Every daily bar up to ``until`` and the clock, newest first (today's growing bar first when open)."""
        path, last, partial = self.days(code, until, us)
        bars = [path.bar(k) for k in range(last, -1, -1)]
        return ([partial] if partial else []) + bars

    # minutes and ticks
    def minutes(self, path: Path, k: int) -> tuple:
        b = path.bar(k)
        return _minutes(path.code, path.us, path.days[k], b.open, b.high, b.low, b.close, b.volume)

    def knots(self, path: Path, k: int, m: int) -> tuple:
        first, high, low, last, volume = self.minutes(path, k)[m]
        return _knots(path.code, path.us, path.days[k], m, first, high, low, last, volume)

    def minute_until(self, path: Path, k: int, m: int, into: float) -> Bar:
        """Minute ``m`` of day ``k`` from its start to ``into`` seconds into it (its last trade so far is its close;
        the volume of the trade under way grows with time)."""
        knots = self.knots(path, k, m)
        j = min(max(int(into // _STEP), 0), KNOTS - 1)
        seen = knots[:j + 1]
        done = sum(q for _, q in knots[:j])
        share = min(max(into - j * _STEP, 0.0) / _STEP, 1.0) if into < 60 else 1.0
        volume = done + max(int(knots[j][1] * share), 1 if j == 0 else 0)
        prices = [p for p, _ in seen]
        previous = path.close[k - 1] if k else path.close[k]
        return Bar(None, knots[0][0], max(prices), min(prices), prices[-1], volume, 0, previous)

    def quote(self, code: str, us: bool = False) -> dict[str, Any]:
        """What ka10001 / 0B say now: price, previous close (기준가), open, high, low, cumulative volume and value,
        the time of the last trade, and whether the session is open. Before today's open (or on a weekend) the last
        complete day's numbers."""
        path, last, partial = self.days(code, None, us)
        today, elapsed = self.session(us)
        bar = partial or (path.bar(last) if last >= 0 else None)
        if bar is None:  # before the listing: nothing traded yet
            close, _ = self._anchor(code, us)
            return {"price": close, "previous": close, "open": close, "high": close, "low": close, "volume": 0,
                    "value": 0, "open_now": False, "at": None}
        return {"price": bar.close, "previous": bar.previous, "open": bar.open, "high": bar.high, "low": bar.low,
                "volume": bar.volume, "value": bar.value, "open_now": partial is not None,
                "at": self.clock.now() if partial is not None else None}

    def book(self, code: str, levels: int = 10, us: bool = False, price: int | None = None) -> dict[str, list]:
        """The order book around the last price (``price``: the caller's quote of it): ``asks`` and ``bids`` as
        (price, quantity), best first; the best ask one step above the last trade, the best bid one step below."""
        price = self.quote(code, us)["price"] if price is None else price
        now = self.clock.now()
        draw = random.Random(_seed(code, "book", now.strftime("%Y%m%d%H%M%S"))).random
        asks, bids = [], []
        ask = price + tick_size(price, us)
        bid = price - tick_size(price - 1, us)
        for _ in range(levels):
            asks.append((ask, 100 + int(draw() * 20000)))
            bids.append((max(bid, 1), 100 + int(draw() * 20000)))
            ask += tick_size(ask, us)
            bid -= tick_size(bid - 1, us)
        return {"asks": asks, "bids": bids}

    def first_trade(self, code: str, since: datetime, now: datetime, wanted: Callable[[int], bool],
                    us: bool = False) -> datetime | None:
        """When the first tick after ``since`` up to ``now`` (in ``now``'s session) traded at a price ``wanted``
        takes, or None. Minutes whose high and low both miss are skipped unread."""
        path = self.path(code, us)
        day, elapsed = self.session(us, now)
        k = path.index(day)
        if k < 0 or path.days[k] != day.toordinal() or elapsed < 0:
            return None
        start_day, start = self.session(us, since)
        first = int(start // _STEP) + 1 if start_day == day and start >= 0 else 0
        last = min(int(elapsed // _STEP), MINUTES * KNOTS - 1)
        base = datetime(day.year, day.month, day.day) + timedelta(seconds=_OPEN[us])
        minutes = self.minutes(path, k)
        n = first
        while n <= last:
            m, j = divmod(n, KNOTS)
            if not (wanted(minutes[m][1]) or wanted(minutes[m][2])):
                n = (m + 1) * KNOTS
                continue
            if wanted(self.knots(path, k, m)[j][0]):
                return base + timedelta(seconds=n * _STEP)
            n += 1
        return None


_default: Market | None = None


def default_market() -> Market:
    """A market on a default clock, for callers without a FakeKiwoom (benchmarks, ``_charts.rows``)."""
    global _default
    if _default is None:
        from ._stocks import stock

        _default = Market(Clock(), stock)
    return _default


__all__ = ["ANCHOR", "KNOTS", "KST", "MINUTES", "Bar", "Clock", "Event", "Market", "Order", "Orders", "Path",
           "as_clock", "default_market", "default_start", "listing_date", "parse_when", "tick_size"]
