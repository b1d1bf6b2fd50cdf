"""One WebSocket connection read by the socket's own thread: websockets' Sans-I/O protocol on a TCP (TLS) socket.

websockets' threaded client reads on a thread of its own and hands each message to the thread that calls ``recv``:
a wake-up and the GIL for every frame (~50 µs of CPU a frame at Kiwoom's pace). Here the thread that calls ``recv``
reads the socket itself. websockets still does the protocol: the handshake, framing, its PONGs and the closing
handshake. Through a proxy (the ``*_proxy`` environment) websockets' own client is used, as before.

No threads of its own, no user code; the caller (kiwoom_nb.live._socket) reads from one thread at a time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

__all__ = ["Conn", "close_quietly", "cut", "open_conn"]

#: bytes read from the socket at once
CHUNK = 1 << 16


def open_conn(url: str, *, timeout: float, max_size: int, logger: Any) -> Any:
    """A connection to ``url`` (a Conn, or websockets' sync connection when a proxy is set for it); raises OSError,
    TimeoutError or websockets' InvalidHandshake / InvalidURI."""
    uri = parse_uri(url)
    if _proxy(uri) is not None:
        from websockets.sync.client import connect

        ws = connect(url, open_timeout=timeout, ping_interval=None, close_timeout=1.0, max_size=max_size,
                     user_agent_header=None, logger=logger)
        return ws.__enter__()  # the connection is ours to close (websockets 17 warns otherwise)
    return Conn(uri, timeout=timeout, max_size=max_size, logger=logger)


def _proxy(uri: Any) -> str | None:
    try:
        from websockets.proxy import get_proxy
    except ImportError:
        try:
            from websockets.uri import get_proxy  # type: ignore[no-redef]  # websockets 15.0
        except ImportError:
            return None
    try:
        return get_proxy(uri)
    except Exception:  # noqa: BLE001 - a proxy setting websockets cannot read: its client says why
        return "?"


class Conn:
    """The connection, shaped as websockets' sync ClientConnection where the socket uses it: ``send(text)``,
    ``recv(timeout)`` (on the reading thread), ``close()``, ``socket`` and ``close_timeout``."""

    def __init__(self, uri: Any, *, timeout: float, max_size: int, logger: Any) -> None:
        self.close_timeout = 1.0
        self._lock = threading.Lock()  # the protocol and sending: the reading thread and senders take turns
        self._reading = threading.Lock()  # held while a thread reads the socket
        self._messages: deque[Any] = deque()
        self._parts: list[bytes] = []  # a fragmented message's frames so far
        self._text = True
        self._timeout: float | None = -1.0
        self._closing_by: float | None = None  # time.monotonic() by which a closing connection ends
        deadline = time.monotonic() + timeout
        sock = socket.create_connection((uri.host, uri.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if uri.secure:
                import ssl

                sock.settimeout(max(0.01, deadline - time.monotonic()))
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=uri.host)
            self.socket = sock
            self.protocol = protocol = ClientProtocol(uri, max_size=max_size, logger=logger)
            protocol.send_request(protocol.connect())
            self._flush()
            response = None
            while response is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out during the opening handshake")
                self._feed(left, opening=True)
                for event in protocol.events_received():
                    if isinstance(event, Response):
                        response = event
                    else:
                        self._take(event)
            if protocol.handshake_exc is not None:
                raise protocol.handshake_exc
            # a close that came with the answer (CLOSING already) is recv's to say, as one a moment later would be
        except BaseException:
            sock.close()
            raise

    # -- reading (one thread at a time) ---------------------------------------------------------------

    def recv(self, timeout: float | None = None) -> Any:
        """The next message: a text one as its UTF-8 bytes (orjson reads them without a str in between; valid or
        not, the reader decides), a binary one as a bytearray. Raises TimeoutError when no whole message came in
        ``timeout`` seconds (control frames and a message's pieces do not restart it), and websockets'
        ConnectionClosed once the connection is closed."""
        messages = self._messages
        if timeout is not None and timeout <= 0:  # a poll, as websockets' recv takes it (0 would make the socket
            timeout = 1e-6  # non-blocking, and a negative one is refused)
        with self._reading:
            deadline, wait = (None if timeout is None else time.monotonic() + timeout), timeout
            while not messages:
                self._feed(wait)  # the first read with the timeout as set (no syscall to set it again)
                for event in self.protocol.events_received():
                    self._take(event)
                if deadline is not None and not messages:  # control frames, a message in pieces: the time left
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        raise TimeoutError("no message")
            return messages.popleft()

    def _feed(self, timeout: float | None, opening: bool = False) -> None:
        """One read from the socket into the protocol (its replies sent); ConnectionClosed once it is closed."""
        protocol = self.protocol
        if not opening and protocol.state is State.CLOSED:
            raise protocol.close_exc
        closing = protocol.state is State.CLOSING
        if closing:  # the server's end of the connection is due within close_timeout, as websockets waits for it
            if self._closing_by is None:
                self._closing_by = time.monotonic() + self.close_timeout
            left = max(0.0, self._closing_by - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        try:
            if timeout != self._timeout:  # a syscall: only when it changes
                self.socket.settimeout(timeout)
                self._timeout = timeout
            data = self.socket.recv(CHUNK) if not closing or timeout > 0 else b""
        except socket.timeout:
            if not closing or time.monotonic() < self._closing_by:  # type: ignore[operator]
                raise TimeoutError("no data") from None
            data = b""  # the server never ended it: ended here
        except OSError:
            data = b""  # reset, or cut (or closed) by close(): the end of the stream
        with self._lock:
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            self._flush()
        if not data:
            self._close_socket()
            if not opening:
                raise protocol.close_exc
            raise ConnectionError("the server closed the connection during the opening handshake")

    def _take(self, frame: Any) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY or opcode is Opcode.CONT:
            if opcode is not Opcode.CONT:
                self._parts, self._text = [], opcode is Opcode.TEXT
            self._parts.append(frame.data)
            if frame.fin:
                data, self._parts = b"".join(self._parts), []
                self._messages.append(data if self._text else bytearray(data))
        # PING / PONG / CLOSE: the protocol answers them (sent by _feed)

    # -- sending (any thread) -------------------------------------------------------------------------

    def send(self, text: Any) -> None:
        data = text.encode() if isinstance(text, str) else bytes(text)
        with self._lock:
            protocol = self.protocol
            if protocol.state is not State.OPEN:  # closing or closed: as websockets says it
                raise ConnectionClosed(protocol.close_rcvd, protocol.close_sent, protocol.close_rcvd_then_sent)
            protocol.send_text(data)
            self._flush()

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.socket.sendall(data)
            else:  # the protocol's end of the stream
                try:
                    self.socket.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    # -- closing (any thread) -------------------------------------------------------------------------

    def close(self) -> None:
        """The closing handshake, bounded by ``close_timeout``: the close frame, then the server's (read here, or by
        the reading thread if one is reading), then the socket closed."""
        deadline = time.monotonic() + self.close_timeout
        with self._lock:
            protocol = self.protocol
            if protocol.state is State.OPEN:
                try:
                    protocol.send_close(1000)  # a normal closure, as websockets sends it
                    self._flush()
                except OSError:
                    pass
        if self._reading.acquire(timeout=max(0.0, deadline - time.monotonic())):
            try:
                while protocol.state is not State.CLOSED:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        self._feed(left)
                    except Exception:  # noqa: BLE001 - closed, cut, timed out: closing either way
                        break
                    protocol.events_received()  # what came after the close is dropped
            finally:
                self._reading.release()
        self._close_socket()

    def _close_socket(self) -> None:
        cut(self)


def close_quietly(ws: Any) -> None:
    try:
        ws.close()
    except Exception:  # noqa: BLE001
        pass


def cut(ws: Any) -> None:
    """End a connection (a Conn, websockets' or the hub's Link) without the closing handshake; shutdown() also wakes a
    thread blocked reading it."""
    try:
        ws.socket.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        ws.socket.close()
    except OSError:
        pass
