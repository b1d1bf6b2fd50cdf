"""The stream's connection (kiwoom_nb.live._conn.Conn): websockets' Sans-I/O protocol read by the socket's own thread.

A server here is a plain TCP socket speaking through websockets' ServerProtocol, so it can send what a websockets
server never would: a message in fragments, a byte at a time, binary and non-UTF-8 frames, a close left unanswered.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

import pytest

from kiwoom_nb.live._conn import Conn, open_conn
from kiwoom_nb.live._wire import read_frame
from support import wait_for

websockets = pytest.importorskip("websockets")
from websockets.exceptions import ConnectionClosed  # noqa: E402
from websockets.frames import Frame, Opcode  # noqa: E402
from websockets.http11 import Request  # noqa: E402
from websockets.server import ServerProtocol  # noqa: E402


class Server:
    """One connection: the handshake answered by websockets' ServerProtocol (or ``answer``: raw bytes, or None to
    say nothing), then ``script(self)`` on the server's thread. ``got``: the frames the client sent."""

    def __init__(self, script: Callable[["Server"], Any] = lambda s: None, answer: bytes | None | str = "ws") -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.listener.getsockname()[1]}/api/dostk/websocket"
        self.script, self.answer, self.got, self.error = script, answer, [], None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.sock, _ = self.listener.accept()
            self.protocol = ServerProtocol()
            request = self._read_until(Request)
            if self.answer == "ws":
                self.protocol.send_response(self.protocol.accept(request))
                self.flush()
            elif self.answer is not None:
                self.sock.sendall(self.answer)
            self.script(self)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            self.error = exc
        finally:
            self.done.set()

    def _read_until(self, kind: type) -> Any:
        """Read until an event of ``kind`` arrives (the first, or the first frame of this read); None at the end."""
        while True:
            data = self.sock.recv(65536)
            if not data:
                self.protocol.receive_eof()
            else:
                self.protocol.receive_data(data)
            found = None
            for event in self.protocol.events_received():
                if isinstance(event, Frame):
                    self.got.append(event)
                if found is None and isinstance(event, kind):
                    found = event
            self.flush()
            if found is not None or not data:
                return found

    def read_frame(self) -> Frame | None:
        return self._read_until(Frame)

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def raw(self, data: bytes, one_byte_at_a_time: bool = False) -> None:
        if one_byte_at_a_time:
            for i in range(len(data)):
                self.sock.sendall(data[i:i + 1])
        else:
            self.sock.sendall(data)

    def frame(self, opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
        """A frame as a server sends it (unmasked)."""
        return Frame(opcode, data, fin).serialize(mask=False)

    def close(self) -> None:
        self.listener.close()
        try:
            self.sock.close()
        except Exception:  # noqa: BLE001
            pass


def _accept(sock: socket.socket) -> ServerProtocol:
    """The server's side of the opening handshake: the request read, the 101 ready to send."""
    protocol, request = ServerProtocol(), None
    while request is None:
        protocol.receive_data(sock.recv(65536))
        request = next((e for e in protocol.events_received() if isinstance(e, Request)), None)
    protocol.send_response(protocol.accept(request))
    return protocol


def connect(server: Server, timeout: float = 5.0) -> Conn:
    from websockets.uri import parse_uri

    return Conn(parse_uri(server.url), timeout=timeout, max_size=1 << 24, logger=None)


REAL = '{"trnm": "REAL", "data": [{"type": "0B", "item": "005930", "name": "주식체결", "values": {"10": "+60500"}}]}'


def test_a_message_in_fragments_sent_a_byte_at_a_time_arrives_whole():
    data = REAL.encode()
    server = Server(lambda s: s.raw(s.frame(Opcode.TEXT, data[:7], fin=False) + s.frame(Opcode.CONT, data[7:40], False)
                                    + s.frame(Opcode.CONT, data[40:]), one_byte_at_a_time=True))
    conn = connect(server)
    try:
        message = conn.recv(timeout=10)
        assert message == data
        assert read_frame(message)[0]["data"][0]["name"] == "주식체결"
    finally:
        conn.close()
        server.close()


def test_frames_sent_with_the_handshakes_answer_are_not_lost():
    """The answer and two frames in one write: the frames are read after the handshake, in order."""
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"ws://127.0.0.1:{listener.getsockname()[1]}/"

    def serve() -> None:
        sock, _ = listener.accept()
        protocol = _accept(sock)
        protocol.send_text(b'{"trnm": "PING"}')
        protocol.send_text(REAL.encode())
        sock.sendall(b"".join(protocol.data_to_send()))
        done.wait(10)
        sock.close()

    done = threading.Event()
    threading.Thread(target=serve, daemon=True).start()
    from websockets.uri import parse_uri

    conn = Conn(parse_uri(url), timeout=5, max_size=1 << 24, logger=None)
    try:
        assert conn.recv(timeout=5) == b'{"trnm": "PING"}'
        assert conn.recv(timeout=5) == REAL.encode()
    finally:
        done.set()
        conn.close()
        listener.close()


def test_a_protocol_ping_is_answered_with_its_pong_while_reading():
    def script(s: Server) -> None:
        s.raw(s.frame(Opcode.PING, b"are you there"))
        s.raw(s.frame(Opcode.TEXT, REAL.encode()))
        s.pong = s.read_frame()

    server = Server(script)
    conn = connect(server)
    try:
        assert conn.recv(timeout=10) == REAL.encode()
        assert server.done.wait(10)
        assert server.pong.opcode == Opcode.PONG and server.pong.data == b"are you there"
    finally:
        conn.close()
        server.close()


def test_binary_and_non_utf8_frames_are_handed_on_to_be_skipped_and_the_next_one_is_read():
    def script(s: Server) -> None:
        s.raw(s.frame(Opcode.BINARY, b"\x00\x01") + s.frame(Opcode.TEXT, b'{"trnm": "\xff\xfe"}')
              + s.frame(Opcode.TEXT, REAL.encode()))

    server = Server(script)
    conn = connect(server)
    try:
        first, second, third = (conn.recv(timeout=10) for _ in range(3))
        assert read_frame(first) == (None, "a binary frame")
        assert read_frame(second) == (None, "not JSON")
        assert read_frame(third)[0]["trnm"] == "REAL"
    finally:
        conn.close()
        server.close()


def test_a_refused_handshake_and_a_silent_server_fail_in_time():
    refused = Server(answer=b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(Exception) as caught:
        connect(refused)
    assert "403" in str(caught.value)
    refused.close()

    silent = Server(lambda s: s.done.wait(10), answer=None)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        connect(silent, timeout=0.5)
    assert time.monotonic() - started < 5
    silent.close()


def test_close_sends_a_normal_closure_and_is_bounded_when_the_server_never_answers_while_a_thread_reads():
    def script(s: Server) -> None:
        s.close_frame = s.read_frame()  # and never answers it, nor closes the connection
        s.done.wait(10)

    server = Server(script)
    conn = connect(server)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            conn.recv(timeout=30)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: conn._reading.locked(), 5, "the reader in recv")
    conn.close_timeout = 0.5
    started = time.monotonic()
    conn.close()
    assert time.monotonic() - started < 3
    reader.join(5)
    assert not reader.is_alive() and errors and isinstance(errors[0], ConnectionClosed)
    wait_for(lambda: getattr(server, "close_frame", None) is not None, 5, "the close frame at the server")
    assert server.close_frame.opcode == Opcode.CLOSE and server.close_frame.data[:2] == (1000).to_bytes(2, "big")
    server.close()


def test_a_connection_cut_in_the_middle_of_a_frame_ends_recv_with_connection_closed():
    server = Server(lambda s: (s.raw(s.frame(Opcode.TEXT, REAL.encode())[:20]), s.sock.close()))
    conn = connect(server)
    with pytest.raises(ConnectionClosed):
        conn.recv(timeout=10)
    with pytest.raises(ConnectionClosed):  # and again: closed stays closed
        conn.recv(timeout=10)
    with pytest.raises(ConnectionClosed):
        conn.send('{"trnm": "REG"}')
    conn.close()
    server.close()


def test_threads_sending_at_once_while_the_reader_reads_never_interleave_frames():
    count = 200

    def script(s: Server) -> None:
        for n in range(count):
            s.raw(s.frame(Opcode.TEXT, REAL.encode()))
        while len([f for f in s.got if f.opcode == Opcode.TEXT]) < 4 * count:
            if s.read_frame() is None:
                break

    server = Server(script)
    conn = connect(server)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.extend(conn.recv(timeout=10) for _ in range(count)), daemon=True)
    reader.start()
    senders = [threading.Thread(target=lambda n=n: [conn.send(f'{{"trnm": "REG", "n": "{n}-{k}"}}')
                                                   for k in range(count)]) for n in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(30)
    reader.join(30)
    assert server.done.wait(30) and server.error is None
    texts = sorted(f.data.decode() for f in server.got if f.opcode == Opcode.TEXT)
    assert texts == sorted(f'{{"trnm": "REG", "n": "{n}-{k}"}}' for n in range(4) for k in range(count))
    assert got == [REAL.encode()] * count
    conn.close()
    server.close()


def test_a_proxy_in_the_environment_is_used_through_websockets_own_client(monkeypatch):
    """The fast connection speaks no proxy: with one set for the URL, websockets' client connects through it."""
    asked: list[bytes] = []
    proxy = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        sock, _ = proxy.accept()
        asked.append(sock.recv(65536))
        sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ws_proxy", f"http://127.0.0.1:{proxy.getsockname()[1]}")
    with pytest.raises(Exception):
        open_conn("ws://127.0.0.1:9/api/dostk/websocket", timeout=5, max_size=1 << 20, logger=None)
    proxy.close()
    assert asked and asked[0].startswith(b"CONNECT 127.0.0.1:9 ")


def test_a_stream_reads_its_socket_on_its_own_thread_and_starts_no_other_for_it(fake, monkeypatch):
    """websockets' threaded client read on a thread of its own and handed every frame to the stream's thread (a
    wake-up and the GIL per frame: ~50 µs of CPU a frame). The stream's thread now reads the socket itself."""
    from websockets.sync.client import ClientConnection

    from kiwoom_nb.live._stream import Stream
    from support import CANARY

    monkeypatch.setenv("KIWOOM_STREAM_HUB", "0")
    before = set(threading.enumerate())
    with Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url) as live:
        live.watch(["005930"], "0B")
        fake.ws.send_raw(REAL)
        wait_for(lambda: live.status.received == 1, 10, "the row")
        new = set(threading.enumerate()) - before
        clients = [t.name for t in new  # a thread's _target goes when it ends: read while the stream is open
                   if isinstance(getattr(getattr(t, "_target", None), "__self__", None), ClientConnection)]
    assert not clients, f"a websockets client thread: {clients}"
    assert "kiwoom-stream" in {t.name for t in new} and not any(t.name.startswith("kiwoom-stream-c") for t in new)
