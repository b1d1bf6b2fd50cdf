"""Per-api-id pacing shared by every client of one app key in this process, and what Kiwoom's 1700 answers teach it.

Stdlib only, monotonic clock. Waiting here is the product's behaviour (spacing requests), not test
synchronisation. No I/O, no knowledge of HTTP.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import deque

__all__ = ["DEFAULT_PACE", "Pacer", "pacer_for", "rate_in"]

#: Requests per second per api-id until Kiwoom says otherwise (reports: 5/s for queries and orders).
DEFAULT_PACE = 5.0

#: Added to every interval: arrival jitter must not push two requests into one second at Kiwoom.
#: Each refusal of a TR whose limit is known doubles its slack, up to MAX_SLACK (a loaded machine
#: delays some requests more than others).
SLACK = 0.01
MAX_SLACK = 0.16

_RATE = re.compile(r"유량\s*=\s*(\d+(?:\.\d+)?)")


def rate_in(message: str | None) -> float | None:
    """The per-second limit Kiwoom states in a 1700 message (``유량=N``), if any."""
    found = _RATE.search(message or "")
    rate = float(found.group(1)) if found else None
    return rate if rate and rate > 0 else None


class Pacer:
    """When each api-id may be sent next; a learned limit (``유량=N``) overrides any configured pace.

    Two rules: requests of an api-id are spaced 1/rate apart (counted from the real send), and once
    Kiwoom has stated N per second, a request leaves only a second after the answer to the one N
    before it came back. Kiwoom saw that one arrive before its answer, so no second can hold N + 1
    of them however the network or a busy machine delays single requests.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at: dict[str, float] = {}
        self._slack: dict[str, float] = {}
        self._answered: dict[str, deque] = {}  # api-id -> when the last answers came back
        self.learned: dict[str, float] = {}

    def rate(self, api_id: str, pace: float | None) -> float | None:
        learned = self.learned.get(api_id)
        if learned and pace:
            return min(learned, pace)
        return learned or pace or None

    def reserve(self, api_id: str, pace: float | None) -> float:
        """Claim the next slot for ``api_id``; returns how many seconds to wait before sending."""
        rate = self.rate(api_id, pace)
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next_at.get(api_id, 0.0))
            learned = self.learned.get(api_id)
            answered = self._answered.get(api_id)
            if learned and answered:
                n = max(int(learned), 1)
                if len(answered) >= n:
                    at = max(at, answered[-n] + 1.0 + SLACK)
            if rate:
                self._next_at[api_id] = at + 1.0 / rate + self._slack.get(api_id, SLACK)
            return at - now

    def wait(self, api_id: str, pace: float | None) -> None:
        """Sleep until ``api_id`` may be sent; the next slot counts from when this one really went."""
        delay = self.reserve(api_id, pace)
        if delay > 0:
            time.sleep(delay)
        rate = self.rate(api_id, pace)
        if rate:
            with self._lock:  # a late wake-up (a busy machine) must not squeeze the next request closer
                sent = time.monotonic()
                self._next_at[api_id] = max(self._next_at.get(api_id, 0.0),
                                            sent + 1.0 / rate + self._slack.get(api_id, SLACK))

    def answered(self, api_id: str) -> None:
        """An answer (or a failure) for ``api_id`` came back just now."""
        with self._lock:
            times = self._answered.get(api_id)
            if times is None:
                times = self._answered[api_id] = deque(maxlen=64)
            times.append(time.monotonic())

    def learn(self, api_id: str, rate: float) -> None:
        """Kiwoom stated ``rate`` per second for ``api_id``; a repeated refusal at that rate widens the slack."""
        with self._lock:
            if self.learned.get(api_id) == rate:
                self._slack[api_id] = min(self._slack.get(api_id, SLACK) * 2, MAX_SLACK)
            self.learned[api_id] = rate

    def hold(self, api_id: str, seconds: float) -> None:
        """Nothing for ``api_id`` before ``seconds`` from now (a back-off after a refusal)."""
        with self._lock:
            self._next_at[api_id] = max(self._next_at.get(api_id, 0.0), time.monotonic() + seconds)


_pacers: dict[str, Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(app_key: str, mock: bool) -> Pacer:
    """The one Pacer of this app key and environment in this process (keyed by a digest, not the key)."""
    name = hashlib.sha256(f"{bool(mock)}:{app_key}".encode()).hexdigest()[:16]
    with _pacers_lock:
        pacer = _pacers.get(name)
        if pacer is None:
            pacer = _pacers[name] = Pacer()
        return pacer
