"""Kiwoom's real-time stream: watch / unwatch, bounded buffers as DataFrames, callbacks, iterators, condition search.

No IPython. The socket and its thread are kiwoom_nb.live._socket's; this module never touches an event loop (``async for``
only uses the caller's). Callbacks run on the stream's own daemon thread, never on the socket's reading path.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections import deque
from typing import Any, Callable

from .._errors import KiwoomError, RequestError
from ._conditions import ConditionSearch
from ._reading import Event, Reading, Status  # Event, Status: what a stream's reader sees, named here too
from ._taking import ACCOUNT, Taking

__all__ = ["Event", "Stream", "close_all", "close_bound"]

log = logging.getLogger("kiwoom_nb")

#: rows kept per type; the oldest go first
BUFFER = 100_000

_streams: "set[Stream]" = set()
_streams_lock = threading.Lock()


class Stream(Taking, Reading, ConditionSearch):
    """Kiwoom's real-time WebSocket. ``Stream(appkey, secretkey, mock=...)`` issues its own token and revokes it on
    ``close()`` (or leaving ``with``, or exit); ``kiwoom_nb.stream()`` gives one bound to the notebook's login.
    Streams of one app key in one process share one socket (Kiwoom allows one per key). Without ``base_url`` /
    ``ws_url`` it follows KIWOOM_BASE_URL and KIWOOM_WS_URL (mock: their KIWOOM_MOCK_ twins), as the magics do."""

    def __init__(self, appkey: str, secretkey: str, *, mock: bool = False, base_url: str | None = None,
                 ws_url: str | None = None, timeout: float = 10.0, market: str = "domestic", buffer: int = BUFFER,
                 silence: float = 120.0, transport: Any = None) -> None:
        from ..auth._client import WS_URL_SETTINGS, configured, resolve_base_url
        from ..auth._tokens import KeyTokens
        from ..rest._api import _check_options

        _check_options(mock=mock, base_url=base_url, timeout=timeout, pace=None, refresh_margin=600.0)
        # the settings %kiwoom_login reads (KIWOOM_BASE_URL, KIWOOM_WS_URL and their MOCK_ twins); arguments win
        base_url, ws_url = configured(base_url, mock), configured(ws_url, mock, WS_URL_SETTINGS)
        resolve_base_url(base_url, mock)
        tokens = KeyTokens(appkey, secretkey, mock=mock, base_url=base_url, timeout=timeout, transport=transport,
                           margin=600.0, kind="Stream")
        self._setup(tokens, ws_url=ws_url, market=market, buffer=buffer, silence=silence, own=True, var=None,
                    production_url=configured(None, False, WS_URL_SETTINGS))

    @classmethod
    def bound(cls, tokens: Any, *, ws_url: str | None, market: str = "domestic", buffer: int = BUFFER,
              silence: float = 120.0, var: str | None = None, production_url: str | None = None) -> "Stream":
        """A stream logging in with ``tokens`` (kiwoom_nb.auth._tokens.SessionTokens), which the session owns."""
        self = cls.__new__(cls)
        self._setup(tokens, ws_url=ws_url, market=market, buffer=buffer, silence=silence, own=False, var=var,
                    production_url=production_url)
        return self

    def _setup(self, tokens: Any, *, ws_url: str | None, market: str, buffer: int, silence: float, own: bool,
               var: str | None, production_url: str | None = None) -> None:
        from ..auth._checks import MAX_ROWS, MAX_WAIT, check_number
        from ._socket import socket_for
        from ._wire import resolve_ws_url
        from .hub._client import hub_socket as hub

        check_number("buffer", buffer, minimum=1, integer=True, maximum=MAX_ROWS)
        check_number("silence", silence, minimum=0.001, maximum=MAX_WAIT)
        if ws_url is not None and not isinstance(ws_url, str):
            raise KiwoomError(f"ws_url={ws_url!r}: a URL string such as 'wss://api.kiwoom.com:10000', or None")

        self.tokens, self.var, self.market, self._own = tokens, var, market, own
        self.closed, self._closing, self._why = False, False, ""
        self._lock = threading.Lock()
        self._buffers: dict[str, deque] = {}
        self._dropped: dict[str, int] = {}
        self._latest: dict[str, dict[str, tuple]] = {}  # rows, as in _buffers
        self._watched: dict[str, set[str]] = {}  # what Kiwoom accepted
        self._admit: dict[str, set[str]] = {}  # what the socket's thread lets in: that and a REG in flight
        self._typed: dict[str, dict[str, None]] = {}  # type -> items in the order they were watched (boards' rows)
        self._conditions: set[str] = set()
        self._callbacks: dict[str, list[Callable[[Event], Any]]] = {}
        self._sinks: list[Callable[[Event | None], Any]] = []
        self._calls: queue.SimpleQueue | None = None
        self._lost: dict[str, int] = {}  # consumer -> events it did not get (its queue was full)
        self._consumers = 0
        self._received = 0
        self.buffer = int(buffer)
        url = resolve_ws_url(ws_url, tokens.mock, market, production_url)
        self._socket, new = socket_for(self, tokens, url, timeout=tokens.timeout, silence=silence, make=hub)
        if new:
            try:
                self._socket.start()
            except KiwoomError:
                self._let_go_token()
                raise
        with _streams_lock:
            _streams.add(self)
        if own:
            atexit.register(self._close_at_exit)

    def __repr__(self) -> str:
        return f"<kiwoom_nb.Stream {self._socket.url}: {self.status}>"

    @property
    def status(self) -> Status:
        return Status(self)

    def _socket_stopped(self) -> None:
        for sink in list(self._sinks):
            sink(None)

    def _socket_rejoined(self) -> None:
        """Logged in again after a drop (the socket's thread): ``_rejoin_hooks`` (the orders re-reading Kiwoom's
        state) run on a thread of their own, as they may call REST; an exception is logged."""
        hooks = list(self.__dict__.get("_rejoin_hooks", ()))
        if hooks:
            threading.Thread(target=_run_hooks, args=(hooks,), name="kiwoom-stream-rejoined", daemon=True).start()

    # -- registering -------------------------------------------------------------------------------

    def watch(self, items: Any, type: str) -> None:
        """Register ``items`` (codes; ``[]`` for the account-wide 00 / 04) for real-time ``type`` (REG); returns once
        Kiwoom acked. Over 100 items go as several REGs. A refusal raises RequestError naming the items and type."""
        from ._wire import _chunks

        self._check_open()
        from ..rest._client import Client
        from ..rest._codes import watch_items

        codes = watch_items(lambda: Client.bound(self.tokens), items, type, us=self.market == "us",
                            account=type in ACCOUNT)
        codes = list(dict.fromkeys(codes))  # 005930 and 삼성전자: one stock, registered once
        for chunk in _chunks(codes):
            with self._socket.reg_lock:
                self._register(chunk, type)

    def _register(self, chunk: list[str], type: str) -> None:
        """One REG and its booking, under the socket's reg_lock."""
        from ._wire import reg_frame

        with self._lock:  # let in from before the REG goes: Kiwoom's first entry can come before the answer, or be
            flying = set(chunk)  # read by the socket's thread before this one wakes (_watched: what Kiwoom accepted)
            self._set_watched(type, self._watched.get(type, set()), flying)
        answer, unanswered = None, True
        try:
            answer, unanswered = self._socket.request(reg_frame(chunk, type), "REG"), False
        finally:
            refused = answer is None or str(answer.get("return_code", "0")).strip() not in ("0", "")
            with self._lock:  # close() marks _closing under it: an ack after that registers nothing for good
                late, watched = self._closing, self._watched.get(type, set())
                self._set_watched(type, watched if refused or late else watched | flying)
                if not (refused or late):
                    self._typed.setdefault(type, {}).update(dict.fromkeys(chunk))
                    with self._socket._send_lock:
                        self._socket.regs.setdefault(type, set()).update(chunk)
            if refused or late:
                self._let_go(chunk, type, sent=late or unanswered)
        if refused:
            shown = ", ".join(c or '""' for c in chunk[:5]) + (f" and {len(chunk) - 5} more" if len(chunk) > 5 else "")
            raise RequestError(f"Kiwoom refused to watch {type} for {shown} (return_code "
                               f"{answer.get('return_code')}: {str(answer.get('return_msg', ''))[:120]})")
        if late:
            self._check_open()
            raise KiwoomError("this stream was closed while watching; open a new one")

    def _set_watched(self, type: str, items: set[str], flying: "set[str] | frozenset[str]" = frozenset()) -> None:
        """(With ``_lock``.) ``items`` watched; the socket's thread lets in those and ``flying`` (a REG's in flight),
        each set in one assignment: it never meets an empty set, which would let every item in."""
        for where, now in ((self._watched, items), (self._admit, items | flying)):
            if now:
                where[type] = now
            else:
                where.pop(type, None)

    def _let_go(self, codes: list[str], type: str, sent: bool) -> None:
        """After a REG this stream does not keep (refused; unanswered or acked once closing, ``sent``: Kiwoom may have
        it): REMOVE what no stream of the socket watches or is registering, of what it may have registered and of what a
        stream that closed meanwhile left to it (in ``regs``), and forget those in ``regs`` (a reconnect re-sends them)."""
        from ._wire import _chunks, reg_frame

        socket = self._socket
        others = set().union(*(s._admit.get(type, set()) for s in socket.streams if s is not self))
        gone = [c for c in codes if c not in others and c not in self._watched.get(type, ())]
        with socket._send_lock:
            kept = socket.regs.get(type, set())
            removed = [c for c in gone if sent or c in kept]
            kept.difference_update(gone)
        try:
            if removed and socket.state == "connected":
                for chunk in _chunks(removed):
                    socket.request(reg_frame(chunk, type, "REMOVE"), "REMOVE")
        except KiwoomError as exc:
            log.info("kiwoom_nb: taking a REG back: %s", exc)

    def watch_orders(self) -> None:
        """Order fills (00) of the token's account: ``watch([], "00")``."""
        self.watch([], "00")

    def unwatch(self, items: Any, type: str) -> None:
        """Stop watching ``items`` of ``type`` (REMOVE), unless another stream of this socket still watches them.
        Items are checked and names resolved as :meth:`watch` does."""
        from ..rest._client import Client
        from ..rest._codes import watch_items

        codes = watch_items(lambda: Client.bound(self.tokens), items, type, us=self.market == "us",
                            account=type in ACCOUNT)
        self._unwatch(codes, type)

    def _unwatch(self, codes: list[str], type: str, wait: float = -1, timeout: float | None = None) -> None:
        """``wait``: at most this long for another thread's REG in flight (close() stays bounded), then anyway;
        ``timeout``: for each REMOVE's answer (default: the socket's)."""
        locked = self._socket.reg_lock.acquire(timeout=wait)
        try:
            self._remove(codes, type, timeout)
        finally:
            if locked:
                self._socket.reg_lock.release()

    def _remove(self, codes: list[str], type: str, timeout: float | None = None) -> None:
        from ._wire import _chunks, reg_frame

        with self._lock:
            self._set_watched(type, self._watched.get(type, set()) - set(codes))
        # a REG in flight (another thread, close() not waiting for it) counts: it lets go of what nobody keeps
        others = set().union(*(s._admit.get(type, set()) for s in self._socket.streams if s is not self))
        gone = [c for c in codes if c not in others]
        with self._socket._send_lock:
            self._socket.regs.get(type, set()).difference_update(gone)
        if gone and not self.closed and self._socket.state == "connected":
            for chunk in _chunks(gone):
                self._socket.request(reg_frame(chunk, type, "REMOVE"), "REMOVE", timeout=timeout)

    # -- reading -----------------------------------------------------------------------------------

    def frame(self, type: str) -> Any:
        """A DataFrame of what arrived for ``type`` so far (at most ``buffer`` rows, the latest): ``item``,
        ``received_at`` and a column per FID under its name (an unknown FID keeps its number)."""
        with self._lock:
            rows = list(self._buffers.get(type, ()))
        return _to_frame(type, [Event(*row) for row in rows])

    def latest(self, type: str) -> Any:
        """One row per item: its latest values of ``type``."""
        with self._lock:
            rows = list(self._latest.get(type, {}).values())
        return _to_frame(type, [Event(*row) for row in rows])

    # -- closing -----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed or self._socket.stopped:
            why = "closed" if self.closed else f"stopped: {self._socket.why or 'closed'}"
            again = "live = kiwoom_nb.Stream(appkey, secretkey)" if self._own else \
                f"live = kiwoom_nb.stream({'' if self.var in (None, 'kiwoom_token') else repr(self.var)}) (after " \
                "%kiwoom_login if you logged out)"
            raise KiwoomError(f"this stream is {why}; open a new one: {again}")

    def close(self, timeout: float = 2.0) -> None:
        """CNSRCLR for watched conditions, then a clean close (the socket closes with its last stream); the token is
        let go, and an own token revoked once no other stream of the socket holds it. Bounded by ``timeout`` even if
        Kiwoom does not answer."""
        from ..auth._checks import MAX_WAIT, check_number

        check_number("timeout", timeout, maximum=MAX_WAIT)
        if self.closed:
            return
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True  # a watch() acked from now on takes its items back (watch)
        socket = self._socket
        others = [s for s in socket.streams if s is not self]
        if others:  # the socket stays: take back only what is ours alone, for good (a reconnect re-sends the rest)
            try:
                for kind, items in list(self._watched.items()):
                    self._unwatch(sorted(items), kind, wait=timeout / 2, timeout=_left(deadline, timeout / 2))
                for seq in self._conditions - set().union(*(s._conditions for s in others)):
                    socket.conditions.discard(seq)
                    if socket.state == "connected":
                        socket.request({"trnm": socket.prefix + "CNSRCLR", "seq": seq}, socket.prefix + "CNSRCLR",
                                       timeout=_left(deadline, 1.0))
            except KiwoomError as exc:
                log.info("kiwoom_nb: closing a stream: %s", exc)
        self.closed = True
        self._why = self._why or "closed"
        from ._socket import leave

        last = leave(socket, self)
        with _streams_lock:
            _streams.discard(self)
        if last:
            socket.close(max(0.0, deadline - time.monotonic()))
        for sink in list(self._sinks):
            sink(None)
        if self._calls is not None:
            self._calls.put(None)
        if self._own:
            atexit.unregister(self._close_at_exit)
        self._let_go_token(round(deadline - time.monotonic(), 2))  # what is left of timeout, for the revoke

    def _let_go_token(self, timeout: float | None = None) -> None:
        """Release this stream's reference to the socket's token source; close what nobody holds any more (an own
        token is revoked then, within ``timeout``; the session's logins are revoked by the session). Never raises:
        a revoke that fails (or finds no time left) keeps the token for the exit revoke and the revoker process."""
        for source in self._socket.tokens.let_go(self.tokens):
            try:
                source.close(timeout=timeout)
            except KiwoomError as exc:
                log.warning("kiwoom_nb: could not revoke a stream's token now (%s); it is revoked at exit", exc)

    def _close_at_exit(self) -> None:
        try:
            self.close(timeout=0.5)
        except BaseException as exc:  # noqa: BLE001 - an exit hook must not raise
            log.warning("kiwoom_nb: could not close a stream at exit: %s", type(exc).__name__)

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def close_all(timeout: float = 0.5, where: Callable[["Stream"], bool] | None = None) -> None:
    """Close every stream (or those ``where`` accepts) of this process together, within ``timeout``. Never raises."""
    with _streams_lock:
        chosen = [s for s in _streams if where is None or where(s)]
    if not chosen:
        return
    deadline = time.monotonic() + timeout
    threads = []
    for stream in chosen:
        thread = threading.Thread(target=_quietly, args=(stream, timeout), name="kiwoom-stream-close", daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def close_bound(session: Any, var: str, timeout: float = 2.0) -> None:
    """%kiwoom_logout: close the streams bound to ``var`` of ``session`` first."""
    def lent(source: Any) -> bool:
        return getattr(source, "session", None) is session and getattr(source, "var", None) == var

    close_all(timeout, lambda s: lent(s.tokens))
    from ._socket import all_sockets

    for socket in all_sockets():  # a socket other streams still use moves to their token before this one is revoked
        if socket.tokens.hand_over(lent):
            socket.relogin(timeout)


def _run_hooks(hooks: list[Callable[[], Any]]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:  # noqa: BLE001 - a hook must not end anything
            log.exception("kiwoom_nb: after a reconnect, %r failed", hook)


def _left(deadline: float, most: float) -> float:
    return max(0.001, min(most, deadline - time.monotonic()))  # what is left until deadline, at most most; a sliver


def _quietly(stream: Stream, timeout: float) -> None:
    try:
        stream.close(timeout)
    except BaseException as exc:  # noqa: BLE001 - exit path
        log.warning("kiwoom_nb: could not close a stream: %s", type(exc).__name__)


def _to_frame(kind: str, events: list[Event]) -> Any:
    from ._stream_frame import events_frame

    return events_frame(kind, events)
