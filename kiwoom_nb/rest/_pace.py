"""Pacing shared by every client of one app key in this process, and what Kiwoom's 1700-1702 answers teach it.

Stdlib only, monotonic clock. Waiting here is the product's behaviour (spacing requests), not test
synchronisation. No knowledge of HTTP. Across processes (and machines) the same rules hold through the key's
shared budget (kiwoom_nb.pace): a request passes this process's pacer, then the shared one.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import deque
from typing import Any

__all__ = ["DEFAULT_PACE", "OVERALL", "Pacer", "paced_note", "pacer_for", "rate_in"]

#: Requests per second per api-id until Kiwoom says otherwise (reports: 5/s for queries and orders).
DEFAULT_PACE = 5.0

#: The scope of Kiwoom's overall limit (1701): every api-id of the app key.
OVERALL = "*"

#: Added to every interval: arrival jitter must not push two requests into one second at Kiwoom.
#: Each refusal of a scope whose limit is known doubles its slack, up to MAX_SLACK (a loaded machine
#: delays some requests more than others).
SLACK = 0.01
MAX_SLACK = 0.16

_RATE = re.compile(r"유량\s*=\s*(\d+(?:\.\d+)?)")


def rate_in(message: str | None) -> float | None:
    """The per-second limit Kiwoom states in a 1700-1702 message (``유량=N``), if any."""
    found = _RATE.search(message or "")
    rate = float(found.group(1)) if found else None
    return rate if rate and rate > 0 else None


def paced_note(client: object) -> str:
    """`` · paced 5/s`` for a progress bar when ``client``'s latest request waited for its pace (``client.paced``,
    the rate it waited for), else ""; with the wait for other processes' turns on the key (``client.turn``)."""
    rate = getattr(client, "paced", None)
    turn = getattr(client, "turn", 0.0)
    if not rate:
        return ""
    return f" · paced {rate:g}/s" + (f", waited {turn:.1f} s for other processes on the key" if turn >= 0.05 else "")


class Pacer:
    """When a request may be sent, per scope: its api-id, its group and ``OVERALL``.

    Kiwoom limits requests per api-id (1700), per group (1702) and overall (1701). It does not publish
    what a group is: we assume the URL path (``/api/dostk/chart``). A request passes every scope that
    applies to it. Two rules per scope: requests are spaced 1/rate apart (counted from the real send;
    the api-id's rate is the configured pace or a learned ``유량=N``, whichever is lower), and once
    Kiwoom has stated N per second, a request leaves only if fewer than N requests are in flight or were
    answered within the last second (plus slack). A request in flight or answered less than a second ago
    may have reached Kiwoom within the second, so N + 1 cannot land in one of Kiwoom's seconds, however
    many threads send or however the network delays single requests.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name  # the digest of the app key and environment; names the shared budget
        self._shared: tuple[int, Any] | None = None  # (kiwoom_nb.pace.version, the budget) once asked
        self.waited = 0.0  # seconds the latest request waited for its turn at the shared budget
        self._cond = threading.Condition()
        self._next_at: dict[str, float] = {}
        self._slack: dict[str, float] = {}
        self._flying: dict[str, int] = {}  # scope -> requests sent and not answered yet
        self._answered: dict[str, deque] = {}  # scope -> when answers came back, the last 1 + MAX_SLACK s
        self.learned: dict[str, float] = {}  # scope -> 유량=N

    def rate(self, scope: str, pace: float | None = None) -> float | None:
        learned = self.learned.get(scope)
        if learned and pace:
            return min(learned, pace)
        return learned or pace or None

    @staticmethod
    def scope(ticket: tuple[str, str | None], code: int | None) -> str:
        """The scope a refusal (Kiwoom code ``code``) of the request of ``ticket`` speaks of."""
        api_id, group = ticket[:2]
        if code == 1701:
            return OVERALL
        return group if code == 1702 and group else api_id

    @property
    def shared(self) -> Any:
        """This key's shared budget (kiwoom_nb.pace), or None (``KIWOOM_PACE_URL=off``)."""
        from .. import pace

        if self._shared is None or self._shared[0] != pace.version:
            self._shared = (pace.version, pace.budget_for(self.name) if self.name else None)
        return self._shared[1]

    def acquire(self, api_id: str, pace: float | None, group: str | None = None,
                timeout: float = 10.0) -> tuple[str, str | None, Any]:
        """Wait until a request of ``api_id`` (in ``group``) may be sent, here and at the shared budget (at most
        ``timeout`` seconds there); the ticket to :meth:`release`."""
        scopes = _scopes(api_id, group)
        with self._cond:
            while True:
                now = time.monotonic()
                at = max(now, *(max(self._next_at.get(s, 0.0), self._full_until(s, now)) for s in scopes))
                if at <= now:
                    break
                self._cond.wait(min(at - now, 1.0))  # an answer wakes it early
            for s in scopes:
                self._flying[s] = self._flying.get(s, 0) + 1
                rate = self.rate(s, pace if s == api_id else None)
                if rate:
                    self._next_at[s] = max(self._next_at.get(s, 0.0), now + 1.0 / rate + self._slack.get(s, SLACK))
        shared, ticket = self.shared, None
        if shared is not None:
            try:
                ticket, self.waited, learned = shared.acquire(api_id, scopes, pace, timeout + 1.0, timeout)
            except BaseException:  # Ctrl-C while waiting for a turn: this process's slot is free again
                self.release((api_id, group, None))
                raise
            if self.waited >= 0.05:
                from .. import pace as room

                room.waited(self.waited)  # %kiwoom_status shows the longest
            with self._cond:
                self.learned.update(learned)  # what another process learned applies here at once
        return api_id, group, ticket

    def _full_until(self, scope: str, now: float) -> float:
        """``now`` if the learned limit of ``scope`` lets a request leave, else when to look again."""
        limit = self.learned.get(scope)
        if not limit:
            return now
        window = 1.0 + self._slack.get(scope, SLACK)
        recent = [t for t in self._answered.get(scope, ()) if now - t < window]
        if self._flying.get(scope, 0) + len(recent) < max(int(limit), 1):
            return now
        return recent[0] + window if recent else now + 1.0  # the oldest ages out, or an answer comes

    def release(self, ticket: tuple[str, str | None, Any]) -> None:
        """The request of ``ticket`` was answered, or failed, just now: its slot frees a second later."""
        if ticket[2] is not None and self.shared is not None:
            self.shared.release(ticket[2])
        with self._cond:
            now = time.monotonic()
            for s in _scopes(*ticket[:2]):
                self._flying[s] -= 1
                times = self._answered.setdefault(s, deque())
                times.append(now)
                while now - times[0] > 1.0 + MAX_SLACK:
                    times.popleft()
            self._cond.notify_all()

    def learn(self, scope: str, rate: float) -> None:
        """Kiwoom stated ``rate`` per second for ``scope``; a repeated refusal at that rate widens the slack."""
        with self._cond:
            if self.learned.get(scope) == rate:
                self._slack[scope] = min(self._slack.get(scope, SLACK) * 2, MAX_SLACK)
            self.learned[scope] = rate
        if self.shared is not None:
            self.shared.learn(scope, rate)

    def hold(self, scope: str, seconds: float) -> None:
        """Nothing in ``scope`` before ``seconds`` from now (a back-off after a refusal)."""
        with self._cond:
            self._next_at[scope] = max(self._next_at.get(scope, 0.0), time.monotonic() + seconds)
        if self.shared is not None:
            self.shared.hold(scope, seconds)


def _scopes(api_id: str, group: str | None) -> list[str]:
    return [api_id, group, OVERALL] if group else [api_id, OVERALL]


_pacers: dict[str, Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(app_key: str, mock: bool) -> Pacer:
    """The one Pacer of this app key and environment in this process (keyed by a digest, not the key)."""
    name = hashlib.sha256(f"{bool(mock)}:{app_key}".encode()).hexdigest()[:16]
    with _pacers_lock:
        pacer = _pacers.get(name)
        if pacer is None:
            pacer = _pacers[name] = Pacer(name)
        return pacer
