"""How user code reads a Stream's events (Event) and state (Status): callbacks (``on`` / ``off``, run on the stream's own daemon thread, never
on the socket's reading path), ``events()`` and ``async for`` (the caller's event loop, told through
call_soon_threadsafe; this module never runs a loop of its own).

Stream (kiwoom_nb.live._stream) inherits it; it owns only the consumers, not the socket or the buffers.
"""

from __future__ import annotations

import binascii
import logging
import queue
import re
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .._errors import KiwoomError

if TYPE_CHECKING:
    from ._stream import Stream

__all__ = ["CALLBACKS", "Event", "Reading", "Status"]

#: the name of a stream's callback thread (a wait there for the stream's own events would hold them up)
CALLBACKS = "kiwoom-stream-callbacks"

log = logging.getLogger("kiwoom_nb")


class Event:
    """One real-time entry: ``type`` ("0B"), ``item`` ("005930"), ``values`` (FID -> str, as sent), ``received_at``
    (aware UTC).

    A buffered entry is a plain tuple of these arguments, made an Event when read: its FIDs as one tuple shared by the
    entries of the same shape, its values packed (``pack_rows``); ``values`` becomes a dict the first time it is
    read."""

    __slots__ = ("type", "item", "_fids", "_values", "_dict", "received_at")

    def __init__(self, type: str, item: str, values: Any, received_at: datetime,
                 fids: tuple[str, ...] | None = None) -> None:
        self.type, self.item, self.received_at = type, item, received_at
        # fids None: values is the dict; else the values packed. Neither changes after this (threads read them).
        self._fids, self._values, self._dict = fids, values, values if fids is None else None

    @property
    def values(self) -> dict[str, str]:
        made = self._dict
        if made is None:  # the first read: a dict from here on (a callback may change it)
            made = self._dict = dict(zip(*self._row()))  # type: ignore[arg-type]
        return made

    def _row(self) -> tuple[tuple[str, ...] | None, Any]:
        """(FIDs, the values as a list) without making the dict; (None, the dict) for an entry kept as a dict."""
        fids = self._fids
        if fids is None:
            return None, self._values
        return fids, unpack(self._values)[:len(fids)]

    def __repr__(self) -> str:
        count = len(self._values) if self._fids is None else len(self._fids)
        return f"Event({self.type} {self.item} {count} values at {self.received_at:%H:%M:%S.%f})"


#: what joins a buffered entry's values (an entry with it in a value stays a dict)
SEP = "\x1f"
#: the FID tuples seen (one object per shape); cleared past SHAPES
_shapes: dict[tuple[str, ...], tuple[str, ...]] = {}
SHAPES = 4096
#: the types and items seen (one str object each, not one per entry); cleared past NAMES
_names: dict[str, str] = {}
NAMES = 65536

# A row's joined values are packed two characters to a byte: the 15 characters numbers are written with (digits,
# signs, the point, the space, SEP) are a nibble each, and any other character below U+0100 is _MARK and two nibbles
# of its code. A row with a character beyond (Hangul) stays the joined str. Packing and unpacking run in C
# (bytes.replace and translate, binascii): 44 FIDs of 0B take ~140 bytes instead of ~300.
_MARK = "\x1e"
_NIBBLES = "0123456789+-." + SEP + " " + _MARK  # the characters nibbles 0..15 stand for
_ESCAPES = {code: _MARK + _NIBBLES[code >> 4] + _NIBBLES[code & 15] for code in range(256)}
_ESCAPES.update((ord(c), c) for c in _NIBBLES[:15])  # every key present: a miss is a slow exception in translate
_ESCAPED_BYTES = {code: _ESCAPES[code].encode() for code in range(128)}
_TO_HEX = bytes.maketrans(_NIBBLES.encode(), b"0123456789abcdef")
_FROM_HEX = str.maketrans("0123456789abcde", _NIBBLES[:15])
_ESCAPED = re.compile("f(..)")
_PLAIN = _NIBBLES[:15].encode()
#: what parts a frame's rows while they are packed together (one pass), each then a blob of its own
_ROWS = "\x1d"


def pack(joined: str) -> bytes | str:
    """``joined`` two characters to a byte, or ``joined`` itself when it holds a character beyond U+00FF."""
    try:
        raw = joined.encode()
    except UnicodeEncodeError:  # a lone surrogate (json takes "\\ud800"): kept as it came
        return joined
    odd = raw.translate(None, _PLAIN)
    if odd:
        if len(raw) != len(joined) or _MARK.encode() in odd:  # beyond ASCII, or the escape itself: char by char
            text = joined.translate(_ESCAPES)
            return _unhex(text.encode()) if text.isascii() else joined
        for code in set(odd):  # 0B's 9081 "KRX": three
            raw = raw.replace(bytes((code,)), _ESCAPED_BYTES[code])
    return _unhex(raw)


def pack_rows(rows: list[str]) -> list[bytes | str]:
    """``pack`` of each of a frame's joined rows, in one pass over them all (~0.6 µs a 0B row, one by one ~1.4). Each
    row a blob of its own: a row kept longer than the rest of its frame (another type's buffer, an item's latest)
    holds only its own values."""
    text, parting = _ROWS.join(rows), _ROWS.encode()
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (json takes "\\ud800")
        return [pack(row) for row in rows]
    odd = raw.translate(None, _PLAIN)  # what is not a nibble: the partings, 0B's "KRX", ...
    if len(raw) != len(text) or _MARK.encode() in odd or odd.count(parting) != len(rows) - 1:
        return [pack(row) for row in rows]  # beyond ASCII, the escape, or a value holding the parting: one by one
    for code in set(odd).difference(parting):  # 0B's 9081 "KRX": three
        raw = raw.replace(bytes((code,)), _ESCAPED_BYTES[code])
    unhex = binascii.unhexlify  # odd: one more SEP, never read
    return [unhex(part if len(part) % 2 == 0 else part + b"d") for part in raw.translate(_TO_HEX).split(parting)]


def _unhex(raw: bytes) -> bytes:
    hexed = raw.translate(_TO_HEX)
    return binascii.unhexlify(hexed if len(hexed) % 2 == 0 else hexed + b"d")  # odd: one more SEP, never read


def unpack(values: bytes | str) -> list[str]:
    """The values packed (or joined) together, as they were sent (a packed odd count ends in one more, empty)."""
    if type(values) is str:
        return values.split(SEP)
    hexed = values.hex()
    if "f" not in hexed:
        return hexed.translate(_FROM_HEX).split(SEP)
    parts = _ESCAPED.split(hexed)  # plain, escaped, plain, ...: a plain run never holds "f"
    parts[0::2] = [part.translate(_FROM_HEX) for part in parts[0::2]]
    parts[1::2] = [chr(int(code, 16)) for code in parts[1::2]]
    return "".join(parts).split(SEP)


def name(text: str) -> str:
    """One shared object for a type or an item (a decoder makes a new str for each entry's)."""
    return _one(_names, NAMES, text)


def shape(fids: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple object per shape of FIDs (every entry of a type shares its row's names)."""
    return _one(_shapes, SHAPES, fids)


def _one(table: dict, most: int, value: Any) -> Any:
    """The object ``table`` keeps for ``value`` (``value`` itself the first time); the table starts over past ``most``."""
    found = table.get(value)
    if found is None:
        if len(table) > most:
            table.clear()
        found = table[value] = value
    return found


def compact(values: dict[str, str]) -> tuple[tuple[str, ...] | None, Any]:
    """(FIDs, the values joined by SEP and packed) of an entry's values (each a str), or (None, ``values``) when they
    cannot be joined back apart. A 0B row of 44 FIDs takes ~270 bytes this way, ~4,400 as a dict of strings."""
    joined = SEP.join(values.values())
    if not values or joined.count(SEP) != len(values) - 1:
        return None, values
    return shape(tuple(values)), pack(joined)


class Status:
    """``str()``: connected / reconnecting (n) and when the next attempt is / stopped: why; plus counters: events
    received, reconnects, rows buffered, rows dropped from a full buffer (per type), events a slow consumer did not get
    (per consumer: callbacks, each events() / async for), and bad frames skipped."""

    def __init__(self, stream: "Stream") -> None:
        socket = stream._socket
        self.state = "stopped" if stream.closed else socket.state
        self.peers = getattr(socket, "peers", 0)  # other processes sharing the machine's hub (kiwoom_nb.live.hub)
        self.why = stream._why or socket.why or ("the stream's thread ended" if self.state == "stopped" else "")
        self.reconnects = socket.reconnects
        self.received = stream._received
        self.dropped = dict(stream._dropped)
        self.lost = dict(stream._lost)
        self.bad_frames = socket.bad_frames
        # dict(): one copy in C; iterating the stream's own dict raised when a first row of a type arrived meanwhile
        self.buffered = {kind: len(rows) for kind, rows in dict(stream._buffers).items()}
        at = socket.next_attempt
        self.next_attempt = max(0.0, at - time.monotonic()) if at is not None and self.state != "stopped" else None

    def __str__(self) -> str:
        head = f"stopped: {self.why or 'closed'}" if self.state == "stopped" else self.state
        if self.peers and self.state == "connected":
            head += f" (shared with {self.peers} other process{'es' if self.peers > 1 else ''})"
        if self.next_attempt is not None and self.state.startswith("reconnecting"):
            head += f", next attempt in {self.next_attempt:.1f} s"
        counts = f"{self.received} events, {self.reconnects} reconnects"
        if self.buffered:
            counts += ", buffered " + " ".join(f"{k}={n}" for k, n in sorted(self.buffered.items()))
        if any(self.dropped.values()):
            counts += ", dropped " + " ".join(f"{k}={n}" for k, n in sorted(self.dropped.items()) if n)
        if any(self.lost.values()):
            counts += ", not delivered " + " ".join(f"{k}={n}" for k, n in self.lost.items() if n)
        if self.bad_frames:
            counts += f", bad frames: {self.bad_frames}"
        return f"{head} ({counts})"

    __repr__ = __str__


class Reading:
    """``on`` / ``off``, ``events()`` and ``async for``, over the stream's lock, callbacks and sinks."""

    def on(self, type: str, fn: Callable[[Event], Any]) -> None:
        """Call ``fn(event)`` for every event of ``type`` ("*" for all) on the stream's callback thread; an exception
        in ``fn`` is logged and the events go on."""
        if not isinstance(type, str) or not type.strip():
            raise KiwoomError(f"type={type!r}: a real-time type such as '0B' (주식체결), or '*' for all")
        if not callable(fn):
            raise KiwoomError(f"fn={fn!r}: a function taking one Event, e.g. live.on('0B', print)")
        with self._lock:
            self._callbacks.setdefault(type, []).append(fn)
            if self._calls is None:
                self._lost.setdefault("callbacks", 0)
                self._calls = queue.SimpleQueue()
                threading.Thread(target=self._call_back, name=CALLBACKS, daemon=True).start()

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
        from ..auth._checks import MAX_WAIT, check_number

        check_number("timeout", timeout, none=True, maximum=MAX_WAIT)
        return self._events(timeout, type)

    def _events(self, timeout: float | None, type: str | None) -> Iterator[Event]:
        waiting: queue.SimpleQueue = queue.SimpleQueue()
        name = self._consumer("events()")

        def sink(event: Event | None) -> None:
            if event is None:
                waiting.put(None)
            elif type is None or event.type == type:
                if waiting.qsize() < self.buffer:  # an iterator nobody reads any more holds at most buffer events
                    waiting.put(event)
                else:
                    self._lost[name] = self._lost.get(name, 0) + 1

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
            self._ended(name)

    def _ended(self, name: str) -> None:
        """A consumer stopped: its counter goes unless it counts something (a loop calling events() again and again
        leaves no entry per call)."""
        if self._lost.get(name) == 0:
            self._lost.pop(name, None)

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
                    self._lost[name] = self._lost.get(name, 0) + 1
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
            self._ended(name)
