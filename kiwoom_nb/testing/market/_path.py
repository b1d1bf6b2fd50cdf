"""One code's price path (kiwoom_nb.testing.market._market): its days (``Path``, ``Bar``) from the listing date,
and one day inside: minutes and the ticks between them. Stdlib only, deterministic."""

from __future__ import annotations

import math
import random
import threading
from bisect import bisect_right
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from ._clock import ANCHOR, KNOTS, MINUTES, _round, _seed, tick_size

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
