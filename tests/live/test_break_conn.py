"""Break review of the stream's own connection (kiwoom_nb.live._conn, issue 34): what a hostile server, a TLS server
and user threads did to it. Each test failed on the commit that brought the connection in (5341c27)."""

from __future__ import annotations

import random
import socket
import ssl
import sys
import threading
import time

import pytest

from kiwoom_nb.live._conn import Conn, open_conn
from kiwoom_nb.live._stream import Stream
from kiwoom_nb.live._wire import read_frame
from support import CANARY, wait_for
from test_conn import REAL, Server, _accept, connect

from websockets.exceptions import ConnectionClosed  # noqa: E402  (test_conn skips without websockets)
from websockets.frames import Close, Frame, Opcode  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402


def test_a_ping_then_the_servers_close_in_one_segment_reconnects_not_stops(fake, open_stream):
    """The PING's echo met a closing connection, and Conn.send made ConnectionClosed without the order of the two
    close frames: websockets' assertion failed, and the in-process socket stopped for good."""
    live = open_stream()
    try:
        live.watch(["005930"], "0B")
        [conn] = fake.ws.live()
        conn.ws.socket.sendall(Frame(Opcode.TEXT, b'{"trnm": "PING"}').serialize(mask=False)
                               + Frame(Opcode.CLOSE, Close(1001, "server restart").serialize()).serialize(mask=False))
        wait_for(lambda: len(fake.ws.received("LOGIN")) >= 2 or live.status.state == "stopped", 15, "a reconnect")
        assert live.status.state != "stopped", str(live.status)
        wait_for(lambda: live.status.state == "connected", 15, "connected again")
    finally:
        live.close()


def test_a_callback_changing_event_values_is_not_seen_by_the_other_stream(fake, open_stream):
    """Two streams of one app key share the socket; one's callback empties its event's values. The other's callback
    must see the values as sent (a first version handed every stream's first consumer the decoded dict itself)."""
    first = open_stream()
    second = open_stream()
    try:
        seen: list[dict] = []
        changed = threading.Event()

        def vandal(event):
            event.values["10"] = "MUTATED"
            event.values.clear()
            changed.set()

        def watcher(event):
            changed.wait(5)  # after the first stream's callback changed its event
            seen.append(dict(event.values))

        first.on("0B", vandal)
        second.on("0B", watcher)
        first.watch(["005930"], "0B")
        second.watch(["005930"], "0B")
        assert len(fake.ws.live()) == 1
        fake.ws.send_raw(REAL)
        wait_for(lambda: seen, 10, "the second stream's callback")
        assert seen[0] == {"10": "+60500"}
    finally:
        first.close()
        second.close()


@pytest.mark.in_process
def test_a_callback_changing_event_values_is_not_seen_by_the_same_streams_iterator(fake):
    fake.ws.rate = 0
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the callback thread may run as soon as its event is queued
    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
    try:
        live.on("0B", lambda event: event.values.__setitem__("10", "MUTATED"))
        live.watch(["005930"], "0B")
        got: list = []
        events = live.events(timeout=3, type="0B")
        reader = threading.Thread(target=lambda: got.extend(e.values.get("10") for e in events), daemon=True)
        reader.start()
        wait_for(lambda: live._sinks, 5, "the iterator listening")
        for _ in range(2000):
            fake.ws.send_raw(REAL)
        reader.join(30)
        assert len(got) == 2000 and "MUTATED" not in got, f"{got.count('MUTATED')} of {len(got)} changed"
    finally:
        sys.setswitchinterval(old)
        live.close()


def _pings(s: Server, stop: threading.Event) -> None:
    while not stop.wait(0.3):  # pacing the server's PINGs
        s.raw(s.frame(Opcode.PING, b"alive"))


def _trickle(s: Server, stop: threading.Event) -> None:
    frame = s.frame(Opcode.TEXT, REAL.encode())
    for i in range(20):
        if stop.wait(0.3):  # pacing the bytes
            return
        s.raw(frame[i:i + 1])


@pytest.mark.parametrize("send", [_pings, _trickle], ids=["protocol pings", "a message a byte at a time"])
def test_recv_times_out_while_no_whole_message_comes(send):
    """recv(timeout=1): no whole message for 1 s is a TimeoutError, whatever control frames or pieces come meanwhile
    (each read restarted the wait, and the silence watchdog never fired)."""
    stop = threading.Event()
    server = Server(lambda s: send(s, stop))
    conn = connect(server)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            conn.recv(timeout=1)
        assert time.monotonic() - started < 2.5
    finally:
        stop.set()
        conn.close()
        server.close()


@pytest.mark.in_process
def test_the_silence_watchdog_reconnects_while_the_server_sends_only_protocol_pings(fake):
    """silence=2: no Kiwoom frame for 2 s is a dead feed, whatever protocol PINGs a proxy or a keep-alive sends."""
    fake.ws.rate = 0
    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, silence=2)
    try:
        [conn] = fake.ws.live()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and len(fake.ws.received("LOGIN")) == 1:
            try:
                conn.ws.ping()  # websockets' own keep-alive PING, answered by the client's protocol
            except Exception:  # noqa: BLE001 - the client reconnected
                break
            time.sleep(0.5)  # pacing the PINGs
        assert len(fake.ws.received("LOGIN")) >= 2, f"no reconnect in 8 s with silence=2 ({live.status.state})"
    finally:
        live.close()


@pytest.mark.parametrize("glued", [False, True])
def test_a_close_right_after_the_101_reads_the_same_whether_or_not_it_shares_a_tcp_segment(glued):
    """Accepted, then closed at once with a reason: glued to the 101 it was "the opening handshake did not
    complete", a moment later ConnectionClosed with the reason. The same either way now."""
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"ws://127.0.0.1:{listener.getsockname()[1]}/"
    sent = threading.Event()

    def serve() -> None:
        sock, _ = listener.accept()
        protocol = _accept(sock)
        hello = b"".join(protocol.data_to_send())
        bye = Frame(Opcode.CLOSE, Close(1008, "R10001 another connection").serialize()).serialize(mask=False)
        if glued:
            sock.sendall(hello + bye)
        else:
            sock.sendall(hello)
            sent.wait(5)  # the client is connected: the close comes in a segment of its own
            sock.sendall(bye)
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        conn = Conn(parse_uri(url), timeout=5, max_size=1 << 24, logger=None)
        sent.set()
        with pytest.raises(ConnectionClosed) as caught:
            conn.recv(timeout=5)
        conn.close()
    finally:
        listener.close()
    assert "R10001 another connection" in str(caught.value)


@pytest.mark.parametrize("text", ['\ufeff{"trnm": "PING"}',  # a UTF-8 BOM first
                                  '{"trnm": "PING"}'.encode("utf-16-le").decode(),  # valid UTF-8, NULs between
                                  '{"trnm": "SYSTEM", "code": "x", "message": "' + "가" * 400_000 + '"}'])
def test_a_text_frame_reads_the_same_as_bytes_as_it_did_as_str(text):
    """The same text frame as websockets handed it (str) and as Conn hands it (its UTF-8 bytes): accepted or skipped
    alike (json reads bytes with a BOM or as UTF-16; MAX_FRAME counts characters)."""
    as_str, as_bytes = read_frame(text), read_frame(text.encode())
    assert (as_str[0] is None, as_str[1]) == (as_bytes[0] is None, as_bytes[1])


def _burst(fake) -> None:
    try:
        fake.ws.burst(2000, ["005930"])
    except Exception:  # noqa: BLE001 - the stream closed under the burst, as the test means it to
        pass


@pytest.mark.in_process
def test_close_racing_drops_relogins_and_bursts_is_bounded_and_leaves_no_thread(fake):
    fake.ws.rate = 200
    late, rnd = [], random.Random(5)
    for n in range(15):
        live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, silence=5)
        live.watch(["005930", "000660"], "0B")
        live.on("0B", lambda e: e.values.get("10"))
        if n % 3 == 0:
            fake.ws.drop()
        elif n % 3 == 1:
            threading.Thread(target=live._socket.relogin, args=(2,), daemon=True).start()
        else:
            threading.Thread(target=_burst, args=(fake,), daemon=True).start()
        time.sleep(rnd.random() * 0.05)  # a random moment inside what was just started
        started = time.monotonic()
        closers = [threading.Thread(target=live.close) for _ in range(2)]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join(10)
        if time.monotonic() - started > 2.2:
            late.append((n, round(time.monotonic() - started, 2)))
    assert not late, f"close over 2.2 s: {late}"
    wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("kiwoom-stream")], 5,
             "every stream thread gone")


# -- TLS: a server with a certificate of trustme's CA, which SSL_CERT_FILE makes the client trust --------------------

@pytest.fixture
def tls(tmp_path, monkeypatch):
    import trustme  # the test extra
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    listeners = []

    def serve(script):
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def run() -> None:
            raw, _ = listener.accept()
            try:
                sock = context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):  # the client refused the certificate
                return
            protocol = _accept(sock)
            sock.sendall(b"".join(protocol.data_to_send()))
            script(sock, protocol)

        threading.Thread(target=run, daemon=True).start()
        return f"wss://127.0.0.1:{listener.getsockname()[1]}/api/dostk/websocket"

    yield serve
    for listener in listeners:
        listener.close()


def test_tls_a_big_message_in_small_records_a_ping_frames_and_the_closing_handshake(tls):
    big = ('{"trnm": "REAL", "x": "' + "가" * 200_000 + '"}').encode()
    closed = threading.Event()

    def script(sock, protocol) -> None:
        data = Frame(Opcode.TEXT, big).serialize(mask=False) + Frame(Opcode.PING, b"p").serialize(mask=False)
        for i in range(0, len(data), 777):
            sock.sendall(data[i:i + 777])
        for _ in range(300):
            sock.sendall(Frame(Opcode.TEXT, REAL.encode()).serialize(mask=False))
        while not closed.is_set():
            chunk = sock.recv(65536)
            if not chunk:
                break
            protocol.receive_data(chunk)
            if any(event.opcode is Opcode.CLOSE for event in protocol.events_received()):
                closed.set()
            sock.sendall(b"".join(protocol.data_to_send()))
        sock.close()

    conn = open_conn(tls(script), timeout=5, max_size=1 << 24, logger=None)
    assert conn.recv(timeout=5) == big
    assert [conn.recv(timeout=5) for _ in range(300)] == [REAL.encode()] * 300
    started = time.monotonic()
    conn.close()
    assert time.monotonic() - started < 1.5 and closed.wait(5)
    with pytest.raises(ConnectionClosed):
        conn.recv(timeout=1)


def test_tls_threads_sending_while_the_reader_waits(tls):
    count, got, done = 300, [], threading.Event()

    def script(sock, protocol) -> None:
        while len(got) < 4 * count:
            chunk = sock.recv(65536)
            if not chunk:
                return
            protocol.receive_data(chunk)
            got.extend(e for e in protocol.events_received() if e.opcode is Opcode.TEXT)
        sock.sendall(Frame(Opcode.TEXT, b'{"trnm":"PING"}').serialize(mask=False))
        done.wait(10)

    conn = open_conn(tls(script), timeout=5, max_size=1 << 24, logger=None)
    result: list = []
    reader = threading.Thread(target=lambda: result.append(conn.recv(timeout=20)), daemon=True)
    reader.start()
    senders = [threading.Thread(target=lambda n=n: [conn.send(f'{{"n": "{n}-{k}"}}') for k in range(count)])
               for n in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(20)
    reader.join(20)
    done.set()
    assert result == [b'{"trnm":"PING"}']
    assert sorted(e.data for e in got) == sorted(f'{{"n": "{n}-{k}"}}'.encode() for n in range(4) for k in range(count))
    conn.close()


def test_tls_a_certificate_nobody_trusts_is_refused(tls, monkeypatch):
    url = tls(lambda sock, protocol: None)
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(ssl.SSLCertVerificationError):
        open_conn(url, timeout=3, max_size=1 << 24, logger=None)


# -- the second review ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", [0, -1])
def test_recv_with_a_zero_or_negative_timeout_polls_and_leaves_the_connection_open(timeout):
    """recv(timeout=0) made the socket non-blocking and read BlockingIOError as the end of the stream; -1 raised
    ValueError. websockets' recv (the proxy path) polls: a TimeoutError, the connection untouched."""
    stop = threading.Event()
    server = Server(lambda s: stop.wait(10))
    conn = connect(server)
    try:
        with pytest.raises(TimeoutError):
            conn.recv(timeout=timeout)
        server.raw(server.frame(Opcode.TEXT, REAL.encode()))
        assert conn.recv(timeout=5) == REAL.encode()
    finally:
        stop.set()
        conn.close()
        server.close()


def test_recv_after_a_close_the_server_never_answered_raises_connection_closed():
    """It raised OSError (a bad file descriptor) from setting the closed socket's timeout."""
    stop = threading.Event()
    server = Server(lambda s: stop.wait(10))
    conn = connect(server)
    conn.close_timeout = 0.2
    try:
        conn.close()
        with pytest.raises(ConnectionClosed):
            conn.recv(timeout=0.5)
        with pytest.raises(ConnectionClosed):
            conn.send("x")
    finally:
        stop.set()
        server.close()


@pytest.mark.parametrize("depth", [995, 1000, 1020])
def test_a_non_real_frame_nested_deeper_than_json_goes_is_a_bad_frame(depth):
    """orjson reads 1,024 levels, json about 1,000: the second reading of a non-REAL frame raised RecursionError."""
    text = '{"trnm": "SYSTEM", "code": "x", "message": ' + "[" * depth + "]" * depth + "}"
    for frame in (text, text.encode()):
        message, why = read_frame(frame)
        assert (message is not None and why == "") or (message is None and why == "not JSON")


@pytest.mark.in_process
def test_a_deeply_nested_system_frame_does_not_stop_the_stream(fake):
    fake.ws.rate = 0
    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
    try:
        live.watch(["005930"], "0B")
        fake.ws.send_raw('{"trnm": "SYSTEM", "code": "x", "message": ' + "[" * 1000 + "]" * 1000 + "}")
        fake.ws.send_raw('{"trnm": "PING"}')
        wait_for(lambda: fake.ws.received("PING") or live.status.state == "stopped", 10, "the PING's echo")
        assert live.status.state == "connected", str(live.status)
    finally:
        live.close()


# -- the third review ---------------------------------------------------------------------------------------------------

def _oversized(s: Server) -> None:  # a frame header announcing 2**25 bytes (max_size 2**24), then silence
    s.raw(bytes([0x81, 127]) + (1 << 25).to_bytes(8, "big") + b"x" * 100)


def _close_left_open(s: Server) -> None:  # the server's close, the client's answer read, TCP never ended
    s.raw(Frame(Opcode.CLOSE, Close(1001, "bye").serialize()).serialize(mask=False))
    s.read_frame()


@pytest.mark.parametrize("send, code", [(_oversized, "1009"), (_close_left_open, "1001")])
def test_a_closing_connection_the_server_never_ends_ends_within_close_timeout(send, code):
    """Once closing, recv waited for the server to end TCP for ever (each recv a TimeoutError): a stream stayed on a
    dead connection until its silence reconnect (120 s). websockets' client ends it after close_timeout."""
    hold = threading.Event()
    server = Server(lambda s: (send(s), hold.wait(10)))
    conn = connect(server)
    conn.close_timeout = 0.5
    started, outcome = time.monotonic(), None
    try:
        while time.monotonic() - started < 4 and outcome is None:
            try:
                conn.recv(timeout=0.25)
            except TimeoutError:
                continue
            except ConnectionClosed as exc:
                outcome = exc
        assert outcome is not None and code in str(outcome), f"{conn.protocol.state}: {outcome}"
        assert time.monotonic() - started < 2
    finally:
        hold.set()
        conn.close()
        server.close()
