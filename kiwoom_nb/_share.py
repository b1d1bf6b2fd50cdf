"""The token source of one real-time socket, shared by the streams on it: counted references, the last one out closes.

Stdlib only; no I/O of its own (closing an own-key source revokes its token through that source).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["TokenShare"]


class TokenShare:
    """The token source of one socket, shared by its streams: each holds a counted reference (its own source). The
    source is closed (an own token revoked) when the last holder lets go, never before; when its owner stops lending
    it (a logout), the socket moves to another holder's source first (``hand_over``)."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.holders: list[Any] = []  # each stream's own source, once per stream
        self._lock = threading.Lock()

    app_key = property(lambda self: self.source.app_key)
    mock = property(lambda self: self.source.mock)

    def current(self) -> Any:
        return self.source.current()

    def reissue(self, stale: Any, code: int | None = None, **how: Any) -> Any:
        return self.source.reissue(stale, code, **how)

    def hold(self, source: Any) -> None:
        with self._lock:
            self.holders.append(source)

    def let_go(self, source: Any) -> list[Any]:
        """Drop one reference of ``source``; returns the sources nobody holds any more, to close."""
        with self._lock:
            if source in self.holders:
                self.holders.remove(source)
            closing = [source] if source is not self.source and source not in self.holders else []
            if not self.holders:
                closing.append(self.source)
            return closing

    def hand_over(self, leaving: Callable[[Any], bool]) -> bool:
        """The source is no longer lent (``leaving(source)``): take another holder's; True if it changed."""
        with self._lock:
            if not leaving(self.source):
                return False
            other = next((s for s in self.holders if not leaving(s)), None)
            if other is None:
                return False
            self.source = other
            return True
