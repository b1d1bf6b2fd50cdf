"""What arrives for a Stream, on its socket's thread: a REAL frame's watched entries buffered (rows: tuples of
Event's arguments, see _reading.Event) under the stream's lock, then queued for the callbacks and each iterator.
Nothing else: no user code, no I/O, no waiting here.

Stream (kiwoom_nb.live._stream) inherits it; the buffers, the lock and the queues are the stream's.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from ._reading import SEP, Event, _names, _shapes, name, pack_rows, shape

__all__ = ["ACCOUNT", "EXCHANGES", "Taking"]

#: account-wide types: Kiwoom ignores their items and sends the account of the token
ACCOUNT = ("00", "04")
#: what Kiwoom puts after a watched code for the exchange it traded on (039490_NX, 039490_AL): the same stock
EXCHANGES = ("_NX", "_AL")


class Taking:
    """``_take``: one frame's entries into the stream's buffers and consumers' queues."""

    def _take(self, entries: list[dict[str, Any]], joined: list[str], at: datetime) -> None:
        """A REAL frame's entries and their values ``joined`` (both from _wire.read_frame): the watched ones buffered
        at once, then queued."""
        kept, texts, watched, names, same = [], [], self._admit, _names, ()
        for entry, text in zip(entries, joined):
            kind = entry["type"]
            items = watched.get(kind)
            if items is None and not (kind == "02" and self._conditions):
                continue
            item = entry["item"]
            if items and "" not in items and kind not in ACCOUNT and item not in items \
                    and not (item[:6] in items and item[6:] in EXCHANGES):
                continue
            values = entry["values"]
            kind, item = names.get(kind) or name(kind), names.get(item) or name(item)
            if text.count(SEP) == len(values) - 1:
                fids = tuple(values)
                if fids != same:  # the entry before's shape is the likely one: a compare, not a hash of 44 FIDs
                    same = _shapes.get(fids) or shape(fids)
                kept.append((kind, item, values, same))
                texts.append(text)
            else:  # a value holds SEP: the entry stays its dict
                kept.append((kind, item, values, None))
        if not kept:
            return
        # rows are plain tuples (Event's arguments): the collector stops tracking them, where 100,000 buffered Events
        # made its full passes cost ~0.5 µs an entry; the frame's rows are packed in one pass, a blob each (one blob
        # for the frame kept it all while any of its rows was held: a rare type's buffer, an item's latest row)
        packed = iter(pack_rows(texts))
        taken = [(kind, item, values if fids is None else next(packed), at, fids) for kind, item, values, fids in kept]
        with self._lock:
            buffers, latest, last = self._buffers, self._latest, None
            for row in taken:
                kind = row[0]
                if kind != last:  # a frame is mostly of one type
                    rows, last = buffers.get(kind), kind
                    if rows is None:
                        rows, self._dropped[kind], latest[kind] = deque(maxlen=self.buffer), 0, {}
                        buffers[kind] = rows
                    newest, most = latest[kind], rows.maxlen
                if len(rows) == most:
                    self._dropped[kind] += 1
                rows.append(row)
                newest[row[1]] = row
            self._received += len(taken)
        calls, callbacks, sinks = self._calls, self._callbacks, self._sinks
        if calls is None and not sinks:
            return
        for kind, item, values, _ in kept:  # each consumer's Event has a dict of its own, made from the decoded one
            if calls is not None and (kind in callbacks or "*" in callbacks):
                if calls.qsize() < self.buffer:  # one producer (this thread): the bound holds
                    calls.put(Event(kind, item, dict(values), at))
                else:
                    self._lost["callbacks"] += 1
            for sink in sinks:
                sink(Event(kind, item, dict(values), at))
