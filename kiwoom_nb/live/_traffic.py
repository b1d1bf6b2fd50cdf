"""A socket's traffic: each frame its thread reads (checked by _wire.read_frame, PINGs echoed, SYSTEM read, REAL
entries handed to the streams, answers to their waiters), and the requests user threads send and wait on.

Socket (kiwoom_nb.live._socket) inherits it; the connection, LOGIN, reconnects and closing are the socket's. Never
user code on the reading path: a stream's ``_take`` only buffers and queues.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

from .._errors import KiwoomError, KiwoomTimeout, NetworkError, one_line
from ._wire import JOINED, _reason, read_frame

__all__ = ["KICKED", "Traffic"]

log = logging.getLogger("kiwoom_nb")

#: at most one bad-frame warning in this many seconds per socket (the others are counted, and logged at DEBUG)
BAD_LOG_EVERY = 10.0
KICKED = ("another program or notebook connected with the same app key (Kiwoom R10001) and Kiwoom allows one "
          "stream per app key; this stream stopped and will not reconnect")


class _Stop(Exception):
    """End the socket for good, with ``error`` (a KiwoomError) as the reason."""

    def __init__(self, error: KiwoomError) -> None:
        super().__init__(str(error))
        self.error = error


class _Waiter:
    def __init__(self, trnm: str, match: Callable[[dict], bool] | None) -> None:
        self.trnm, self.match, self.answer, self.ws = trnm, match, None, None  # ws: the connection it was sent on
        self.done = threading.Event()
        self.failure: str = ""


def _matches(match: Callable[[dict], bool], message: dict[str, Any]) -> bool:
    try:
        return bool(match(message))
    except Exception:  # noqa: BLE001 - an answer of the wrong shape answers nobody
        return False


class Traffic:
    """Frames in (``_read``, ``_dispatch``) and requests out (``request``) over the socket's ``_ws``, ``_waiters`` and
    ``_send_lock``."""

    #: a request unanswered in time cuts its connection: Kiwoom's answers carry nothing to tell whose they are
    cut_late = True

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
            self._dispatch(ws, text)

    def _dispatch(self, ws: Any, text: Any, early: deque | None = None) -> dict[str, Any] | None:
        """One frame, checked for shape first (_wire.read_frame): a bad one is counted and skipped. PINGs are echoed,
        SYSTEM frames read, REAL entries handed to the streams (kept in ``early`` before the LOGIN answer), answers
        to their waiters. Returns a LOGIN answer, else None. Both the LOGIN wait and the reading loop use it."""
        message, why = read_frame(text)
        if why:
            self._bad(why)
        if message is None:
            return None
        trnm = message["trnm"]
        if trnm == "REAL":
            if early is None:
                self._real(message)
            else:
                early.append(message)
        elif trnm == "PING":
            ws.send(text)  # verbatim, at once
        elif trnm == "SYSTEM":
            self._system(message)
        elif trnm == "LOGIN":
            return message
        else:
            self._answer(message)
        return None

    def _bad(self, why: str) -> None:
        self.bad_frames += 1
        now = time.monotonic()
        if now - self._bad_logged >= BAD_LOG_EVERY:
            self._bad_logged = now
            log.warning("kiwoom_nb: skipped a bad frame from %s (%s); %d so far", self.url, why, self.bad_frames)
        else:
            log.debug("kiwoom_nb: skipped a bad frame from %s (%s)", self.url, why)

    def _real(self, message: dict[str, Any]) -> None:
        at = datetime.now(timezone.utc)
        entries, joined = message.get("data") or [], message.get(JOINED) or []
        for stream in tuple(self.streams):  # a stream may close meanwhile
            stream._take(entries, joined, at)  # the frame's entries at once: one lock, one pass

    def _system(self, message: dict[str, Any]) -> None:
        code = str(message.get("code", ""))
        if code == "R10001":
            raise _Stop(KiwoomError(KICKED))
        log.info("kiwoom_nb: Kiwoom says %s: %s", code, one_line(str(message.get("message", "")), 160))

    def _answer(self, message: dict[str, Any]) -> None:
        trnm = message.get("trnm")
        with self._send_lock:
            for waiter in self._waiters:
                if waiter.trnm == trnm and (waiter.match is None or _matches(waiter.match, message)):
                    self._waiters.remove(waiter)
                    waiter.answer = message
                    waiter.done.set()
                    return

    # -- requests from the user's thread ---------------------------------------------------------------

    def _send(self, frame: dict[str, Any], trnm: str, match: Callable[[dict], bool] | None = None) -> _Waiter:
        waiter = _Waiter(trnm, match)
        with self._send_lock:
            # stopping (the flag is set before the waiters are failed, under this lock): a waiter added now would
            # never be woken, and its caller would wait its whole timeout for an answer that cannot come
            if self._ws is None or self._stop.is_set():
                raise NetworkError(f"the stream is {self.state}{': ' + self.why if self.why else ''}")
            self._waiters.append(waiter)
            waiter.ws = self._ws
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
                elif waiter.answer is not None:  # answered as the wait ran out: an answer, not a timeout
                    return waiter.answer
                late = waiter.ws if self.cut_late and waiter.ws is self._ws else None
                if late is not None:  # what comes next waits for the new connection, not the cut one
                    self._ws, self.state = None, f"reconnecting ({self.reconnects + 1})"
            if late is not None:  # its answer may still come, and would answer the next REG (answers carry nothing to
                from ._conn import cut  # tell whose they are): a new connection, every REG again, is sure of Kiwoom's

                cut(late)
            raise KiwoomTimeout(f"no answer to {trnm} from {self.url} within {timeout:g} s"
                                + ("; connecting again" if self.cut_late else ""))
        if waiter.answer is None:
            raise NetworkError(waiter.failure or f"no answer to {trnm}")
        return waiter.answer

    def _fail_waiters(self, why: str) -> None:
        with self._send_lock:
            waiters, self._waiters = list(self._waiters), deque()
        for waiter in waiters:
            waiter.failure = why
            waiter.done.set()
