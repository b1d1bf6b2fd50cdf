"""One Kiwoom WebSocket (per app key and URL) owned by one daemon thread: LOGIN, the PING echo, replies, reconnects.

No IPython, no printing, and never user code on the reading path: REAL entries go to the streams' ``_take``, which
only buffers and queues. websockets is imported when the first socket connects; frames and URLs are _wire's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

from ._errors import KiwoomError, KiwoomTimeout, NetworkError, TokenError, one_line
from ._wire import PATHS, _chunks, _code, _kiwoom_code, _quiet_logger, _reason, reg_frame

__all__ = ["Socket", "socket_for"]

log = logging.getLogger("kiwoom_nb")

#: seconds before each reconnect; the last repeats
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: a refused LOGIN with these codes re-issues the token once, then logs in again once
AUTH_RETRY = (8005, 8031)
KICKED = ("another program or notebook connected with the same app key (Kiwoom R10001) and Kiwoom allows one "
          "stream per app key; this stream stopped and will not reconnect")


class _Stop(Exception):
    """End the socket for good, with ``error`` (a KiwoomError) as the reason."""

    def __init__(self, error: KiwoomError) -> None:
        super().__init__(str(error))
        self.error = error


class _Waiter:
    def __init__(self, trnm: str, match: Callable[[dict], bool] | None) -> None:
        self.trnm, self.match, self.answer = trnm, match, None
        self.done = threading.Event()
        self.failure: str = ""


_sockets: dict[tuple, "Socket"] = {}
_registry_lock = threading.Lock()


def socket_for(tokens: Any, url: str, *, timeout: float, silence: float) -> tuple["Socket", bool]:
    """The live socket of ``tokens``' app key at ``url`` (shared: Kiwoom kicks a second one), or a new one."""
    key = (tokens.app_key, url)
    with _registry_lock:
        found = _sockets.get(key)
        if found is not None and not found.stopped:
            return found, False
        made = _sockets[key] = Socket(key, url, tokens, timeout=timeout, silence=silence)
        return made, True


def all_sockets() -> list["Socket"]:
    with _registry_lock:
        return list(_sockets.values())


class Socket:
    """The connection and its thread. ``state``: connecting, connected, reconnecting, stopped (``why``)."""

    def __init__(self, key: tuple, url: str, tokens: Any, *, timeout: float, silence: float) -> None:
        self.key, self.url, self.tokens, self.timeout, self.silence = key, url, tokens, timeout, silence
        self.market = "us" if url.endswith(PATHS["us"]) else "domestic"
        self.state, self.why = "connecting", ""
        self.reconnects = 0
        self.streams: list[Any] = []
        self.regs: dict[str, set[str]] = {}  # every type -> items registered, re-sent after a reconnect
        self.conditions: set[str] = set()  # watched condition seqs, re-requested after a reconnect
        self.listed = False  # CNSRLST sent on this connection (CNSRREQ needs it first)
        self._ws: Any = None
        self._send_lock = threading.Lock()
        self._waiters: deque[_Waiter] = deque()
        self._stop = threading.Event()
        self._first = threading.Event()
        self._first_error: KiwoomError | None = None
        self._thread = threading.Thread(target=self._run, name="kiwoom-stream", daemon=True)

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
            try:
                self._login()
                attempt = 0
                self._first.set()
                self._restore()
                self._read()
            except (_Stop, KiwoomError) as stop:
                error = stop.error if isinstance(stop, _Stop) else stop
                self._stopped(error)
                log.warning("kiwoom_nb: the stream stopped: %s", error)
                if not self._first.is_set():
                    self._first_error = error
                    self._first.set()
                return
            except (ConnectionClosed, OSError, TimeoutError, ValueError) as exc:
                if self._stop.is_set():
                    break
                reason = _reason(exc)
                if not self._first.is_set():  # the first connection fails at once, naming the URL
                    error = NetworkError(f"could not open the stream to {self.url} ({reason}); check the network "
                                         "and the WebSocket URL (KIWOOM_WS_URL / KIWOOM_MOCK_WS_URL)")
                    self._stopped(error)
                    self._first_error = error
                    self._first.set()
                    return
                self._fail_waiters(f"the stream's connection dropped ({reason})")
                delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                attempt += 1
                self.state = f"reconnecting ({self.reconnects + 1})"
                log.info("kiwoom_nb: the stream to %s dropped (%s); reconnecting in %g s", self.url, reason, delay)
                if self._stop.wait(delay):
                    break
                self.reconnects += 1
            finally:
                self._close_ws()
        if not self.stopped:
            self._stopped(None)

    def _connect(self) -> Any:
        from websockets.sync.client import connect

        try:
            ws = connect(self.url, open_timeout=self.timeout, ping_interval=None, close_timeout=1.0,
                         max_size=2 ** 24, user_agent_header=None, logger=_quiet_logger())
            # Kiwoom's PING is an application frame echoed in _read; the library's own pings are off.
            return ws.__enter__()  # the connection is ours to close (websockets 17 warns otherwise)
        except Exception as exc:  # noqa: BLE001 - InvalidURI, InvalidHandshake, OSError ... as one line
            raise OSError(_reason(exc)) from None

    def _login(self) -> None:
        reissued = False
        while True:
            ws = self._connect()
            token = self.tokens.current()
            ws.send(json.dumps({"trnm": "LOGIN", "token": str(token)}))
            early = []
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    ws.close()
                    raise TimeoutError("no LOGIN answer")
                text = ws.recv(timeout=left)
                message = json.loads(text)
                trnm = message.get("trnm")
                if trnm == "PING":
                    ws.send(text)
                elif trnm == "SYSTEM":
                    self._system(message)
                elif trnm == "REAL":
                    early.append(message)
                elif trnm == "LOGIN":
                    break
            if _code(message.get("return_code")) == 0:
                with self._send_lock:
                    self._ws, self.listed = ws, False
                self.state = "connected"
                for frame in early:
                    self._real(frame)
                return
            ws.close()
            code = _kiwoom_code(message)
            if code in AUTH_RETRY and not reissued:
                reissued = True
                self.tokens.reissue(token, code, websocket=True)  # the login's own path: variable, panels, revoker follow
                continue
            raise _Stop(TokenError(f"Kiwoom refused the stream's LOGIN [{code or _code(message.get('return_code'))}]"
                                   f" at {self.url}; log in again (a new token) and open the stream again",
                                   code=code))

    def _restore(self) -> None:
        """After a reconnect: every REG again, then CNSRLST and CNSRREQ for every watched condition."""
        with self._send_lock:  # watch() / unwatch() change them under the same lock
            regs = {kind: sorted(items) for kind, items in self.regs.items() if items}
        for kind, items in regs.items():
            for chunk in _chunks(items):
                self._send(reg_frame(chunk, kind), "REG")
        if self.conditions:
            self._send({"trnm": self.prefix + "CNSRLST"}, self.prefix + "CNSRLST")
            self.listed = True
            for seq in sorted(self.conditions):
                self._send(self.condition_frame(seq, "1"), self.prefix + "CNSRREQ")

    def condition_frame(self, seq: str, search_type: str, cont: str = "N", next_key: str = "") -> dict[str, Any]:
        frame = {"trnm": self.prefix + "CNSRREQ", "seq": seq, "search_type": search_type}
        if self.market == "domestic":
            frame["stex_tp"] = "K"
        if search_type == "0":
            frame.update(cont_yn=cont, next_key=next_key)
        return frame

    def _read(self) -> None:
        ws = self._ws
        while not self._stop.is_set():
            try:
                text = ws.recv(timeout=self.silence)
            except TimeoutError:
                raise TimeoutError(f"no frame for {self.silence:g} s") from None
            message = json.loads(text)
            trnm = message.get("trnm")
            if trnm == "REAL":
                self._real(message)
            elif trnm == "SYSTEM":
                self._system(message)
            elif trnm == "PING":
                ws.send(text)  # verbatim, at once
            else:
                self._answer(message)

    def _real(self, message: dict[str, Any]) -> None:
        at = datetime.now(timezone.utc)
        for entry in message.get("data") or ():
            for stream in tuple(self.streams):  # a stream may close meanwhile
                stream._take(entry, at)

    def _system(self, message: dict[str, Any]) -> None:
        code = str(message.get("code", ""))
        if code == "R10001":
            raise _Stop(KiwoomError(KICKED))
        log.info("kiwoom_nb: Kiwoom says %s: %s", code, one_line(str(message.get("message", "")), 160))

    def _answer(self, message: dict[str, Any]) -> None:
        trnm = message.get("trnm")
        with self._send_lock:
            for waiter in self._waiters:
                if waiter.trnm == trnm and (waiter.match is None or waiter.match(message)):
                    self._waiters.remove(waiter)
                    waiter.answer = message
                    waiter.done.set()
                    return

    # -- requests from the user's thread ---------------------------------------------------------------

    def _send(self, frame: dict[str, Any], trnm: str, match: Callable[[dict], bool] | None = None) -> _Waiter:
        waiter = _Waiter(trnm, match)
        with self._send_lock:
            if self._ws is None:
                raise NetworkError(f"the stream is {self.state}{': ' + self.why if self.why else ''}")
            self._waiters.append(waiter)
            self._ws.send(json.dumps(frame, ensure_ascii=False))
        return waiter

    def request(self, frame: dict[str, Any], trnm: str, match: Callable[[dict], bool] | None = None,
                timeout: float | None = None) -> dict[str, Any]:
        """Send ``frame`` and return the answer with ``trnm`` (that ``match`` accepts)."""
        timeout = self.timeout if timeout is None else timeout
        if self.state != "connected" and not self.stopped:  # during a reconnect: wait for it, bounded
            deadline = time.monotonic() + timeout
            while self.state != "connected" and not self.stopped and time.monotonic() < deadline:
                self._stop.wait(0.05)
        try:
            waiter = self._send(frame, trnm, match)
        except Exception as exc:  # noqa: BLE001 - ConnectionClosed while sending: one line
            if isinstance(exc, KiwoomError):
                raise
            raise NetworkError(f"could not send {trnm} to {self.url} ({_reason(exc)})") from None
        if not waiter.done.wait(timeout):
            with self._send_lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            raise KiwoomTimeout(f"no answer to {trnm} from {self.url} within {timeout:g} s")
        if waiter.answer is None:
            raise NetworkError(waiter.failure or f"no answer to {trnm}")
        return waiter.answer

    def _fail_waiters(self, why: str) -> None:
        with self._send_lock:
            waiters, self._waiters = list(self._waiters), deque()
        for waiter in waiters:
            waiter.failure = why
            waiter.done.set()

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
            stream._socket_stopped()

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
            ws = self._ws
        if ws is not None:
            try:
                ws.socket.close()
            except OSError:
                pass

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
            ws = self._ws
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
