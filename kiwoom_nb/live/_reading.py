"""How user code reads a Stream's events: callbacks (``on`` / ``off``, run on the stream's own daemon thread, never
on the socket's reading path), ``events()`` and ``async for`` (the caller's event loop, told through
call_soon_threadsafe; this module never runs a loop of its own).

Stream (kiwoom_nb.live._stream) inherits it; it owns only the consumers, not the socket or the buffers.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from ._stream import Event

__all__ = ["Reading"]

log = logging.getLogger("kiwoom_nb")


class Reading:
    """``on`` / ``off``, ``events()`` and ``async for``, over the stream's lock, callbacks and sinks."""

    def on(self, type: str, fn: Callable[[Event], Any]) -> None:
        """Call ``fn(event)`` for every event of ``type`` ("*" for all) on the stream's callback thread; an exception
        in ``fn`` is logged and the events go on."""
        with self._lock:
            self._callbacks.setdefault(type, []).append(fn)
            if self._calls is None:
                self._lost.setdefault("callbacks", 0)
                self._calls = queue.SimpleQueue()
                threading.Thread(target=self._call_back, name="kiwoom-stream-callbacks", daemon=True).start()

    def off(self, type: str, fn: Callable[[Event], Any]) -> None:
        """Stop calling ``fn`` for ``type``."""
        with self._lock:
            if fn in self._callbacks.get(type, ()):
                self._callbacks[type].remove(fn)

    def _call_back(self) -> None:
        calls = self._calls
        while True:
            event = calls.get()
            if event is None:
                return
            for fn in [*self._callbacks.get(event.type, ()), *self._callbacks.get("*", ())]:
                try:
                    fn(event)
                except Exception as exc:  # noqa: BLE001 - a user's callback never stops the stream
                    log.warning("kiwoom_nb: a stream callback for %s raised %s: %s", event.type,
                                type(exc).__name__, str(exc)[:200])

    def events(self, timeout: float | None = None, type: str | None = None) -> Iterator[Event]:
        """Events as they arrive (of ``type``, or all), from now on; ends when none came for ``timeout`` seconds,
        or the stream stopped."""
        waiting: queue.SimpleQueue = queue.SimpleQueue()
        name = self._consumer("events()")

        def sink(event: Event | None) -> None:
            if event is None:
                waiting.put(None)
            elif type is None or event.type == type:
                if waiting.qsize() < self.buffer:  # an iterator nobody reads any more holds at most buffer events
                    waiting.put(event)
                else:
                    self._lost[name] += 1

        self._sinks.append(sink)
        try:
            while not self.closed and not self._socket.stopped:
                try:
                    event = waiting.get(timeout=timeout)
                except queue.Empty:
                    return
                if event is None:
                    return
                yield event
        finally:
            self._sinks.remove(sink)

    def _consumer(self, what: str) -> str:
        self._consumers += 1
        name = f"{what}#{self._consumers}"
        self._lost[name] = 0
        return name

    async def __aiter__(self) -> Any:
        """``async for event in live``: the caller's event loop is told through call_soon_threadsafe."""
        import asyncio

        loop = asyncio.get_running_loop()
        waiting: asyncio.Queue = asyncio.Queue()
        name = self._consumer("async for")

        sent = [0, 0]  # events handed to the loop (by this stream's socket thread), taken by the reader (the loop)

        def sink(event: Event | None) -> None:
            if event is not None:  # counted, not waiting.qsize(): a busy loop has not queued what it was handed yet
                if sent[0] - sent[1] >= self.buffer:
                    self._lost[name] += 1
                    return
                sent[0] += 1
            try:
                loop.call_soon_threadsafe(waiting.put_nowait, event)
            except RuntimeError:  # the loop is closed
                pass

        self._sinks.append(sink)
        try:
            while not self.closed and not self._socket.stopped:
                event = await waiting.get()
                if event is None:
                    return
                sent[1] += 1
                yield event
        finally:
            self._sinks.remove(sink)
