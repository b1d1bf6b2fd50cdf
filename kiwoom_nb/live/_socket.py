"""One Kiwoom WebSocket (per app key and URL) owned by one daemon thread: LOGIN, the PING echo, replies, reconnects;
and the token source its streams share (TokenShare).

No IPython, no printing, and never user code on the reading path: REAL entries go to the streams' ``_take``, which
only buffers and queues. websockets is imported when the first socket connects; frames and URLs are _wire's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import deque
from typing import Any, Callable

from .._errors import KiwoomError, KiwoomTimeout, NetworkError, TokenError
from ._traffic import BAD_LOG_EVERY, Traffic, _Stop, _Waiter
from ._wire import MAX_MESSAGE, PATHS, _chunks, _code, _kiwoom_code, _quiet_logger, _reason, reg_frame

__all__ = ["Socket", "TokenShare", "leave", "socket_for"]

log = logging.getLogger("kiwoom_nb")

#: seconds before the first reconnect; each failed one doubles it (with jitter) up to BACKOFF_CAP
BACKOFF_FIRST = 1.0
BACKOFF_CAP = 30.0
#: a connection that stayed up this long (seconds) resets the back-off; one dropped sooner does not
STABLE = 60.0
#: REAL frames kept while waiting for the LOGIN answer (prod may send some before it)
EARLY = 100
#: a refused LOGIN with these codes re-issues the token once, then logs in again once
AUTH_RETRY = (8005, 8031)


_sockets: dict[tuple, "Socket"] = {}
_registry_lock = threading.Lock()


def socket_for(stream: Any, tokens: Any, url: str, *, timeout: float, silence: float,
               make: Any = None) -> tuple["Socket", bool]:
    """The live socket of ``tokens``' app key at ``url`` (shared: Kiwoom kicks a second one), or a new one, with
    ``stream`` on it. The caller holds a reference to the socket's token source (``TokenShare.hold``) until it lets
    go. A socket whose last stream left (``leave``) is never handed out again, even while it is still closing.
    ``make(key, url, tokens, timeout=, silence=)``: a new socket of another kind (the hub's), or None for a plain one."""
    secret = (getattr(tokens, "secrets", None) or ("", ""))[-1]  # another secret key (a wrong one) shares nothing
    key = (tokens.app_key, url, hashlib.sha256(secret.encode()).hexdigest()[:16])
    with _registry_lock:
        found = _sockets.get(key)
        new = found is None or found.stopped
        if new:
            made = make(key, url, tokens, timeout=timeout, silence=silence) if make is not None else None
            found = _sockets[key] = made or Socket(key, url, tokens, timeout=timeout, silence=silence)
        found.tokens.hold(tokens)
        found.streams.append(stream)
        return found, new


def leave(socket: "Socket", stream: Any) -> bool:
    """Take ``stream`` off ``socket``; True when it was the last one: the socket leaves the registry at once (the
    caller closes it), so a stream opened meanwhile gets a socket of its own, not one about to stop."""
    with _registry_lock:
        if stream in socket.streams:
            socket.streams.remove(stream)
        if socket.streams:
            return False
        if _sockets.get(socket.key) is socket:
            del _sockets[socket.key]
        return True


def all_sockets() -> list["Socket"]:
    with _registry_lock:
        return list(_sockets.values())


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


class Socket(Traffic):
    """The connection and its thread. ``state``: connecting, connected, reconnecting (n), stopped (``why``)."""

    def __init__(self, key: tuple, url: str, tokens: Any, *, timeout: float, silence: float) -> None:
        self.key, self.url, self.timeout, self.silence = key, url, timeout, silence
        self.tokens = TokenShare(tokens)
        self.market = "us" if url.endswith(PATHS["us"]) else "domestic"
        self._state, self.why = "connecting", ""
        self.reconnects = 0
        self.bad_frames = 0
        self.next_attempt: float | None = None  # time.monotonic() of the next reconnect, while waiting for it
        self.streams: list[Any] = []
        self.regs: dict[str, set[str]] = {}  # every type -> items registered, re-sent after a reconnect
        self.conditions: set[str] = set()  # watched condition seqs, re-requested after a reconnect
        self.listed = False  # CNSRLST sent on this connection (CNSRREQ needs it first)
        self.logins, self.login_answer = 0, {}  # LOGINs Kiwoom accepted on this socket; the last one's answer
        self._ws: Any = None
        self._opening: Any = None  # a connection not logged in yet: close() must reach it too
        self._relogin = False  # log in again at once (the token source changed), not a failure
        self._bad_logged = -BAD_LOG_EVERY
        self._send_lock = threading.Lock()
        # held by a stream's REG / REMOVE from its send to its booking: whether another stream still watches a code is
        # read and changed by one of them at a time (reentrant: close() may run inside a watch on the same thread)
        self.reg_lock = threading.RLock()
        self._waiters: deque[_Waiter] = deque()
        self._stop = threading.Event()
        self._first = threading.Event()
        self._first_error: KiwoomError | None = None
        self._thread = threading.Thread(target=self._run, name="kiwoom-stream", daemon=True)

    @property
    def state(self) -> str:
        if self._state != "stopped" and self._thread.ident is not None and not self._thread.is_alive():
            return "stopped"  # never "connected" while the thread is dead
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        self._state = value

    @property
    def stopped(self) -> bool:
        return self.state == "stopped"

    @property
    def prefix(self) -> str:
        return "G" if self.market == "us" else ""

    def start(self) -> None:
        """Connect and log in; returns once logged in, or raises the first failure (and stops)."""
        self._thread.start()
        if not self._first.wait(self.timeout * 2 + 1):
            self._first_error = KiwoomTimeout(f"the stream did not log in to {self.url} within {self.timeout * 2:g} s")
            self._stopped(self._first_error)
            self._abort()
        if self._first_error is not None:
            raise self._first_error

    # -- the thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        attempt = 0
        while not self._stop.is_set():
            up_at = None
            try:
                self._login()
                up_at = time.monotonic()
                self._first.set()
                self._restore()
                if self.reconnects:
                    for stream in list(self.streams):
                        stream._socket_rejoined()  # hands its hooks a thread of their own
                self._read()
            except (_Stop, KiwoomError) as stop:
                self._end(stop.error if isinstance(stop, _Stop) else stop)
                return
            except (ConnectionClosed, OSError, TimeoutError) as exc:
                if self._stop.is_set():
                    break
                reason = _reason(exc)
                if not self._first.is_set():  # the first connection fails at once, naming the URL
                    self._end(NetworkError(f"could not open the stream to {self.url} ({reason}); check the network "
                                           "and the WebSocket URL (KIWOOM_WS_URL / KIWOOM_MOCK_WS_URL)"), quiet=True)
                    return
                self._fail_waiters(f"the stream's connection dropped ({reason})")
                if up_at is not None and time.monotonic() - up_at >= STABLE:
                    attempt = 0  # it stayed up a while: this drop starts the back-off again
                if self._relogin:  # the token source changed: log in again at once
                    self._relogin, delay = False, 0.0
                else:
                    delay = backoff(attempt)
                    attempt += 1
                self.state = f"reconnecting ({self.reconnects + 1})"
                self.next_attempt = time.monotonic() + delay
                log.info("kiwoom_nb: the stream to %s dropped (%s); reconnecting in %.1f s", self.url, reason, delay)
                if self._stop.wait(delay):
                    break
                self.next_attempt = None
                self.reconnects += 1
            except Exception as exc:  # noqa: BLE001 - the last resort: whatever escapes ends the socket, truthfully
                self._end(KiwoomError(f"the stream's thread failed ({type(exc).__name__}: {_reason(exc)})"))
                return
            finally:
                self._close_ws()
        if not self.stopped:
            self._stopped(None)

    def _end(self, error: KiwoomError, quiet: bool = False) -> None:
        self._stopped(error)
        if not quiet:
            log.warning("kiwoom_nb: the stream stopped: %s", error)
        if not self._first.is_set():
            self._first_error = error
            self._first.set()

    def _connect(self) -> Any:
        from ._conn import open_conn

        try:  # Kiwoom's PING is an application frame echoed in _dispatch; websockets' own pings are off
            return open_conn(self.url, timeout=self.timeout, max_size=MAX_MESSAGE, logger=_quiet_logger())
        except Exception as exc:  # noqa: BLE001 - InvalidURI, InvalidHandshake, OSError ... as one line
            raise OSError(_reason(exc)) from None

    def _login(self) -> None:
        reissued = False
        while True:
            ws = self._connect()
            with self._send_lock:
                self._opening = ws
            try:
                token = self.tokens.current()
                ws.send(json.dumps({"trnm": "LOGIN", "token": str(token)}))
                early: deque = deque(maxlen=EARLY)
                deadline = time.monotonic() + self.timeout
                answer = None
                while answer is None:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._stop.is_set():
                        raise TimeoutError(f"no LOGIN answer within {self.timeout:g} s")
                    try:  # in slices: close() is seen even if cutting the connection does not wake recv
                        text = ws.recv(timeout=min(left, 0.25))
                    except TimeoutError:
                        continue
                    answer = self._dispatch(ws, text, early)
                if _code(answer.get("return_code")) == 0:
                    with self._send_lock:
                        self._ws, self._opening, self.listed = ws, None, False
                    for frame in early:  # before "connected": who sees it finds these rows in (a test did not, once)
                        self._real(frame)
                    self.state, self.login_answer = "connected", answer
                    self.logins += 1
                    return
            finally:
                with self._send_lock:
                    opening, self._opening = self._opening, None
                if opening is not None:  # not handed over: a connection never outlives its LOGIN attempt
                    from ._conn import close_quietly

                    close_quietly(opening)
            code = _kiwoom_code(answer)
            if code in AUTH_RETRY and not reissued:
                reissued = True
                self.tokens.reissue(token, code, websocket=True)  # the login's own path: variable, panels, revoker follow
                continue
            raise _Stop(TokenError(f"Kiwoom refused the stream's LOGIN [{code or _code(answer.get('return_code'))}]"
                                   f" at {self.url}; log in again (a new token) and open the stream again",
                                   code=code))

    def _restore(self) -> None:
        """After a reconnect: every REG again, then CNSRLST and CNSRREQ for every watched condition."""
        with self._send_lock:  # watch() / unwatch() change them under the same lock
            regs = {kind: sorted(items) for kind, items in self.regs.items() if items}
        try:
            for kind, items in regs.items():
                for chunk in _chunks(items):
                    self._send(reg_frame(chunk, kind), "REG")
            if self.conditions:
                self._send({"trnm": self.prefix + "CNSRLST"}, self.prefix + "CNSRLST")
                self.listed = True
                for seq in sorted(self.conditions):
                    self._send(self.condition_frame(seq, "1"), self.prefix + "CNSRREQ")
        except NetworkError as exc:  # the connection went meanwhile (a relogin closed it): reconnect, not stop
            raise ConnectionError(str(exc)) from None

    # -- stopping --------------------------------------------------------------------------------------

    def _stopped(self, error: KiwoomError | None) -> None:
        self.state = "stopped"
        if error is not None and not self.why:
            self.why = str(error)
        self._stop.set()
        self._fail_waiters(f"the stream stopped: {self.why or 'closed'}")
        with _registry_lock:
            if _sockets.get(self.key) is self:
                del _sockets[self.key]
        for stream in list(self.streams):
            try:
                stream._socket_stopped()  # wakes its iterators
            except Exception:  # noqa: BLE001 - every waiter is woken, whatever one of them does
                pass

    def _close_ws(self) -> None:
        with self._send_lock:
            ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except Exception:  # noqa: BLE001
                pass

    def _abort(self) -> None:
        with self._send_lock:
            sockets = [ws for ws in (self._ws, self._opening) if ws is not None]
        from ._conn import cut

        for ws in sockets:
            cut(ws)

    def relogin(self, timeout: float) -> None:
        """Log in again now with the token source's current token (another holder's, after a logout): the
        connection closes, the thread reconnects at once and re-registers everything. Waits ``timeout`` at most."""
        if self.state != "connected":
            return  # a reconnect is on its way and takes the new source anyway
        logins, self._relogin = self.logins, True
        self._close_ws()
        deadline = time.monotonic() + timeout
        while self.logins == logins and not self.stopped and time.monotonic() < deadline:
            self._stop.wait(0.02)

    def close(self, timeout: float = 2.0) -> None:
        """CNSRCLR for watched conditions, then a clean close; bounded by ``timeout`` even if Kiwoom is silent."""
        deadline = time.monotonic() + timeout
        if self.state == "connected":
            for seq in sorted(self.conditions):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    self.request({"trnm": self.prefix + "CNSRCLR", "seq": seq}, self.prefix + "CNSRCLR",
                                 timeout=min(left / 2, 1.0))
                except KiwoomError:
                    break
        self._stop.set()
        with self._send_lock:
            ws, opening = self._ws, self._opening
        if opening is not None:  # a LOGIN in flight: its connection goes at once
            from ._conn import cut

            cut(opening)
        if ws is not None:
            ws.close_timeout = max(0.05, min(1.0, (deadline - time.monotonic()) / 2))
            closer = threading.Thread(target=self._close_ws, name="kiwoom-stream-close", daemon=True)
            closer.start()
            closer.join(max(0.0, deadline - time.monotonic()))
            if closer.is_alive():
                self._abort()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if not self.stopped:
            self._stopped(None)


def backoff(attempt: int) -> float:
    """Seconds before reconnect ``attempt`` (0, 1, ...): BACKOFF_FIRST doubled each time, capped, with jitter (half
    to all of it) so that many clients dropped together do not come back together."""
    delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** min(attempt, 30))
    return delay * (0.5 + random.random() / 2)
