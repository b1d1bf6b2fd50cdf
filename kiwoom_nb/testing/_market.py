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

import hashlib
import math
import random
import re
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, NamedTuple

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


# -- the daily path --------------------------------------------------------------------------------------------------

class Bar(NamedTuple):
    """One candle's numbers: when (a date, or the datetime it ends), open, high, low, close, volume, value (won, or
    1/10000 dollar × shares for US stocks), and the close before it (the reference its signs are against)."""

    at: Any
    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int
    previous: int


def listing_date(code: str) -> date:
    """The day ``code`` was listed on the fake: its history starts there (between 2012 and 2015, so every code has
    more than ten years of daily candles)."""
    return date(2012, 1, 2) + timedelta(days=_seed(code, "listed") % (4 * 365))


class Path:
    """The daily bars of one code from its listing date on; grows forward on demand. Thread-safe.

    The closes are made at once (one draw a day); each day's open, high, low and volume in chunks of :data:`_CHUNK`
    days when first asked for, so a page of recent candles never pays for the whole history."""

    def __init__(self, code: str, close: int, previous: int, us: bool = False) -> None:
        self.code, self.us = code, us
        self._lock = threading.Lock()
        first, anchor = listing_date(code).toordinal(), ANCHOR.toordinal()
        self.days: list[int] = [d for d in range(first, anchor + 1) if (d + 6) % 7 < 5]  # weekdays (ordinal 1: Monday)
        draw = random.Random(_seed(code, "back")).random
        self.sigma = sigma = 0.012 + _seed(code, "sigma") % 100 / 10000  # 1.2 % to 2.2 % a day
        n = len(self.days)
        logs = [0.0] * n
        home = logs[-1] = math.log(close)
        logs[-2] = math.log(previous)
        for k in range(n - 3, -1, -1):  # backwards from the anchor: the close before is this one less its return
            step = sigma * (draw() + draw() - 1.0) * 2.45 + 0.004 * (logs[k + 1] - home)
            logs[k] = logs[k + 1] - (0.25 if step > 0.25 else -0.25 if step < -0.25 else step)
        exp = math.exp
        self.close = [_round(exp(v), us) for v in logs]
        self.close[-1], self.close[-2] = close, previous
        self._draw_forward = random.Random(_seed(code, "forward")).random
        self._base_volume = 2_000_000 + _seed(code, "volume") % 18_000_000
        self._shapes: dict[int, list[tuple[int, int, int, int]]] = {}

    def _shape(self, chunk: int) -> list[tuple[int, int, int, int]]:
        """(open, high, low, volume) of the days of one chunk, around their closes."""
        found = self._shapes.get(chunk)
        if found is not None and len(found) == min(_CHUNK, len(self.close) - chunk * _CHUNK):
            return found
        draw = random.Random(_seed(self.code, "shape", chunk)).random
        us, sigma, exp, closes = self.us, self.sigma, math.exp, self.close
        made = []
        for k in range(chunk * _CHUNK, min((chunk + 1) * _CHUNK, len(closes))):
            c = closes[k]
            p = closes[k - 1] if k else c
            o = _round(p * exp(sigma * 0.3 * (draw() + draw() - 1.0) * 2.45), us)
            h = _round(max(o, c) * exp(sigma * 0.4 * abs(draw() + draw() - 1.0) * 2.45), us, "up")
            lo = _round(min(o, c) / exp(sigma * 0.4 * abs(draw() + draw() - 1.0) * 2.45), us, "down")
            v = int(self._base_volume * exp(0.35 * (draw() + draw() - 1.0) * 2.45) * (0.8 + 0.2 * abs(c - p) / p / sigma))
            made.append((o, max(h, o, c), min(lo, o, c), max(v, 100_000)))
        self._shapes[chunk] = made
        return made

    def reach(self, day: date) -> None:
        """Make sure the path has every trading day up to ``day`` (and a week beyond)."""
        ordinal = day.toordinal()
        if ordinal <= self.days[-1]:
            return
        with self._lock:
            if ordinal <= self.days[-1]:
                return
            home = math.log(self.close[-1])
            nxt = self.days[-1] + 1
            draw = self._draw_forward
            while nxt <= ordinal + 7:
                if (nxt + 6) % 7 < 5:
                    step = self.sigma * (draw() + draw() - 1.0) * 2.45 - 0.004 * (math.log(self.close[-1]) - home)
                    self.close.append(_round(self.close[-1] * math.exp(max(min(step, 0.25), -0.25)), self.us))
                    self.days.append(nxt)
                nxt += 1

    def index(self, day: date) -> int:
        """The index of the last trading day on or before ``day`` (-1 before the listing)."""
        self.reach(day)
        return bisect_right(self.days, day.toordinal()) - 1

    def bar(self, k: int) -> Bar:
        o, h, lo, v = self._shape(k // _CHUNK)[k % _CHUNK]
        c = self.close[k]
        return Bar(date.fromordinal(self.days[k]), o, h, lo, c, v, v * (o + h + lo + c) // 4,
                   self.close[k - 1] if k else c)


_CHUNK = 128


# -- one day inside: minutes and ticks -------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def _minutes(code: str, us: bool, ordinal: int, o: int, h: int, lo: int, c: int, v: int) -> tuple:
    """The 390 minute bars (open, high, low, close, volume) of one day, pinned to its daily bar."""
    draw = random.Random(_seed(code, "minutes", ordinal)).random
    n = MINUTES
    walk = [0.0]
    for _ in range(n):
        walk.append(walk[-1] + (draw() + draw() - 1.0) * 2.45)
    bridge = [w - walk[-1] * i / n for i, w in enumerate(walk)]
    spread = (max(bridge) - min(bridge)) or 1.0
    scale = (h - lo) * 0.9 / spread
    points = [o] + [min(max(_round(o + (c - o) * i / n + bridge[i] * scale, us), lo), h) for i in range(1, n)] + [c]
    bars = []
    for i in range(n):
        first, last = points[i], points[i + 1]
        step = tick_size(max(first, last), us)
        top = min(max(first, last) + int(draw() * 3) * step, h)
        bottom = max(min(first, last) - int(draw() * 3) * step, lo)
        bars.append([first, top, bottom, last])
    peak = max(range(n), key=lambda i: bars[i][1])
    trough = min(range(n), key=lambda i: bars[i][2])
    bars[peak][1], bars[trough][2] = h, lo
    weights = [(1.0 + 2.5 * ((i - n / 2) / (n / 2)) ** 2) * (0.5 + draw()) for i in range(n)]
    total = sum(weights)
    spare = max(v - KNOTS * n, 0)
    volumes = [KNOTS + int(spare * w / total) for w in weights]
    volumes[-1] += v - sum(volumes)
    return tuple((b[0], b[1], b[2], b[3], q) for b, q in zip(bars, volumes))


def _running(minutes: tuple, opened: int) -> tuple:
    highs, lows, volumes = [opened], [opened], [0]
    for _, h, lo, _, v in minutes:
        highs.append(max(highs[-1], h))
        lows.append(min(lows[-1], lo))
        volumes.append(volumes[-1] + v)
    return highs, lows, volumes


@lru_cache(maxsize=4096)
def _knots(code: str, us: bool, ordinal: int, minute: int, o: int, h: int, lo: int, c: int, v: int) -> tuple:
    """The :data:`KNOTS` trades (price, volume) of one minute: open first, close last, touching its high and low."""
    draw = random.Random(_seed(code, "knots", ordinal, minute)).random
    n = KNOTS
    prices = []
    for j in range(n):
        wiggle = (draw() - 0.5) * (h - lo)
        prices.append(min(max(_round(o + (c - o) * j / (n - 1) + wiggle * 0.6, us), lo), h))
    prices[0], prices[-1] = o, c
    if h > max(o, c):
        prices[1 + int(draw() * (n - 2))] = h
    if lo < min(o, c):
        spot = 1 + int(draw() * (n - 2))
        if prices[spot] == h:
            spot = spot % (n - 2) + 1
        prices[spot] = lo
    weights = [0.2 + draw() for _ in range(n)]
    total = sum(weights)
    spare = v - n
    volumes = [1 + int(spare * w / total) for w in weights]
    volumes[-1] += v - sum(volumes)
    return tuple(zip(prices, volumes))


class Market:
    """Every code's path and the fake's clock: what any TR or frame asks about a code at the clock's time."""

    def __init__(self, clock: Clock, stock: Callable[[str], Any]) -> None:
        self.clock, self._stock = clock, stock
        self._paths: dict[tuple[str, bool], Path] = {}
        self._runs: dict[tuple, tuple] = {}
        self._lock = threading.Lock()
        self.orders = Orders(self)

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


# -- mock orders -----------------------------------------------------------------------------------------------------

@dataclass
class Order:
    """One order the fake accepted: its number, side, code, quantity, limit price (None: at market), and what filled."""

    number: str
    side: str  # "buy" or "sell"
    code: str
    quantity: int
    price: int | None
    placed: datetime
    environment: str = "mock"
    appkey: str = ""
    filled: int = 0
    fill_price: int = 0
    fill_time: datetime | None = None
    cancelled: bool = False
    matched: bool = True  # False: an order TR the book only acknowledges (a modify, a cancel, a US order)

    @property
    def remaining(self) -> int:
        return 0 if self.cancelled or not self.matched else self.quantity - self.filled


@dataclass
class Event:
    """One 00 event: 접수 (accepted) or 체결 (filled), for the order's app key."""

    status: str
    order: Order
    at: datetime
    price: int = 0
    quantity: int = 0
    remaining: int = 0  # what was left to fill after this event


class Orders:
    """The fake's order book for mock and production orders: a market order fills at the path's price at once, a limit
    order rests until the path trades at or through its price. ``matching = False`` holds every order resting until
    :meth:`fill` (a test's hook for pace and partial fills)."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.orders: list[Order] = []
        self.events: list[Event] = []
        self.matching = True
        self._checked: dict[str, datetime] = {}
        self._lock = threading.RLock()

    def place(self, number: str, side: str, code: str, quantity: int, price: int | None, *, environment: str = "mock",
              appkey: str = "", matched: bool = True) -> Order:
        """Accept an order (a 접수 event); a market order fills at once while the session is open, a limit order
        already through the price too. ``matched=False`` only acknowledges it."""
        now = self.market.clock.now()
        order = Order(number, side, code, quantity, price, now, environment, appkey, matched=matched)
        with self._lock:
            self.orders.append(order)
            self.events.append(Event("접수", order, now, remaining=quantity))
            self._checked[number] = now
            if self.matching and matched:
                quote = self.market.quote(code)
                if quote["open_now"]:
                    last = quote["price"]
                    if price is None or (side == "buy" and last <= price) or (side == "sell" and last >= price):
                        self.fill(number, price=last, at=now)  # at market, or a limit the price is already through
        return order

    def fill(self, number: str, quantity: int | None = None, price: int | None = None, at: datetime | None = None) -> None:
        """Fill ``quantity`` (default: all that remains) of order ``number`` at ``price`` (default: the path's now)."""
        with self._lock:
            order = next(o for o in self.orders if o.number == number)
            qty = min(order.remaining if quantity is None else quantity, order.remaining)
            if qty <= 0:
                return
            price = self.market.quote(order.code)["price"] if price is None else price
            at = at or self.market.clock.now()
            order.fill_price = (order.fill_price * order.filled + price * qty) // (order.filled + qty)
            order.filled += qty
            order.fill_time = at
            self.events.append(Event("체결", order, at, price, qty, order.remaining))

    def update(self) -> None:
        """Fill the resting limit orders the path has crossed since they were last looked at."""
        if not self.matching:
            return
        now = self.market.clock.now()
        with self._lock:
            for order in self.orders:
                if order.remaining <= 0:
                    continue
                if order.price is None:  # placed while the market was shut: fills once it trades
                    if self.market.quote(order.code)["open_now"]:
                        self.fill(order.number, at=now)
                    continue
                since = self._checked.get(order.number, order.placed)
                self._checked[order.number] = now
                limit = order.price
                crossed = (lambda p: p <= limit) if order.side == "buy" else (lambda p: p >= limit)
                at = self.market.first_trade(order.code, since, now, crossed)
                if at is not None:
                    self.fill(order.number, price=order.price, at=at)

    def of(self, environment: str | None = None) -> list[Order]:
        self.update()
        with self._lock:
            return [o for o in self.orders if environment is None or o.environment == environment]


__all__ = ["ANCHOR", "KNOTS", "KST", "MINUTES", "Bar", "Clock", "Event", "Market", "Order", "Orders", "Path",
           "as_clock", "default_market", "default_start", "listing_date", "parse_when", "tick_size"]
