"""The fake WebSocket's loopback server: websockets' threading server, a thread per connection reading its frames
(recorded as Frame), handing each to the answers (kiwoom_nb.testing._ws) and sending PINGs and REAL ticks on time.

Knows Kiwoom's paths and the PING rule; what a frame is answered with is FakeSocket's.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Any

__all__ = ["Conn", "Frame", "PATHS", "Serving"]

PATHS = {"/api/dostk/websocket": "domestic", "/api/us/websocket": "us"}


class Frame:
    """One frame the fake received: environment, market, the app key's connection number, and the JSON."""

    def __init__(self, environment: str, market: str, connection: int, data: Any) -> None:
        self.environment, self.market, self.connection, self.data = environment, market, connection, data
        self.at = time.monotonic()

    @property
    def trnm(self) -> str:
        return self.data.get("trnm", "") if isinstance(self.data, dict) else ""

    def __repr__(self) -> str:
        shown = dict(self.data) if isinstance(self.data, dict) else self.data
        if isinstance(shown, dict) and "token" in shown:
            shown["token"] = "…"
        return f"Frame({self.environment}, #{self.connection}, {shown!r})"


class Conn:
    """One client connection and what it registered."""

    def __init__(self, number: int, ws: Any, environment: str, market: str) -> None:
        self.number, self.ws, self.environment, self.market = number, ws, environment, market
        self.appkey = ""
        self.token = ""
        self.logged_in = False
        self.listed = False  # CNSRLST seen on this connection (CNSRREQ needs it first)
        self.regs: dict[str, set[str]] = {}
        self.conditions: set[str] = set()
        self.ping_owed = False
        self.closed = threading.Event()
        self.lock = threading.Lock()
        #: (type, item) -> the day, its cumulative volume (it only rises within the day) and the price last sent
        self.volumes: dict[tuple[str, str], tuple] = {}
        self.events_seen = 0  # how many of the order book's events this connection has looked at (00)

    def send(self, data: dict[str, Any]) -> None:
        try:
            self.ws.send(json.dumps(data, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - the client went away meanwhile
            pass


class Serving:
    """start / stop / port, and each connection's loop; FakeSocket (kiwoom_nb.testing._ws) inherits it."""

    def start(self, host: str, port: int = 0) -> None:
        from websockets.frames import Opcode
        from websockets.sync.server import ServerConnection, serve

        class Recording(ServerConnection):
            """Notes when the client's close frame arrived (the handler learns of it a little later)."""

            close_at: float | None = None

            def send_data(self) -> None:  # runs before process_event, and sends the reply to a close frame
                if self.close_at is None and self.protocol.close_rcvd is not None:
                    self.close_at = time.monotonic()  # before the reply: the client cannot act on it earlier
                super().send_data()

            def process_event(self, event: Any) -> None:
                if getattr(event, "opcode", None) is Opcode.CLOSE and self.close_at is None:
                    self.close_at = time.monotonic()
                super().process_event(event)

        quiet = logging.getLogger("kiwoom_nb.testing.websockets")  # at DEBUG, websockets logs every frame: tokens
        quiet.setLevel(logging.WARNING)
        self._server = serve(self._handle, host, port, ping_interval=None, compression=None, close_timeout=1,
                             create_connection=Recording, logger=quiet)
        threading.Thread(target=self._server.serve_forever, name="fake-kiwoom-ws", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.shutdown()
            for conn in self.live():
                try:
                    conn.ws.socket.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    @property
    def port(self) -> int:
        return self._server.socket.getsockname()[1]

    def _handle(self, ws: Any) -> None:
        path = ws.request.path
        environment = "production"
        if path.startswith("/mock/"):
            environment, path = "mock", path[len("/mock"):]
        market = PATHS.get(path)
        if market is None:
            ws.close(1008, "unknown path")
            return
        with self._lock:
            self._count += 1
            conn = Conn(self._count, ws, environment, market)
            self.conns.append(conn)
        try:
            self._serve(conn)
        finally:
            conn.closed.set()
            rcvd = ws.protocol.close_rcvd
            code = rcvd.code if rcvd is not None else None
            with self._lock:
                self.closes.append((conn.number, code, getattr(ws, "close_at", None) or time.monotonic()))

    def _serve(self, conn: Conn) -> None:
        from websockets.exceptions import ConnectionClosed

        next_ping = time.monotonic() + (self.ping_interval or 3600)
        ticked = float("-inf")  # when this connection last ticked: the next is due 1 / rate after, rate read each time
        while True:
            if self.hang:
                self.fake._stopping.wait()
                return
            now = time.monotonic()
            next_tick = ticked + 1.0 / max(self.rate, 0.001)  # a test changing the rate is obeyed at once
            wait = max(0.0, min(next_ping, next_tick) - now) if conn.logged_in else 0.2
            if conn.logged_in and ("00" in conn.regs or "04" in conn.regs):
                wait = min(wait, 0.005)  # order events go out as they happen, as Kiwoom's do, not on the next tick
            try:
                text = conn.ws.recv(timeout=wait)
            except TimeoutError:
                text = None
            except ConnectionClosed:
                return
            if text is not None:
                try:
                    data = json.loads(text)
                except ValueError:
                    data = text
                with self._lock:
                    self.frames.append(Frame(conn.environment, conn.market, conn.number, data))
                if not self._answer(conn, data if isinstance(data, dict) else {}):
                    return
            now = time.monotonic()
            if not conn.logged_in:
                continue
            if self.ping_interval and now >= next_ping:
                if conn.ping_owed:
                    conn.send({"trnm": "SYSTEM", "code": "R10002",
                               "message": "사용자 프로그램으로부터 Heartbeat(연결유지) 메시지가 오지않아서 접속을 종료합니다"})
                    conn.ws.close()
                    return
                conn.ping_owed = True
                conn.send({"trnm": "PING"})
                next_ping = now + self.ping_interval
            elif not self.ping_interval:
                next_ping = now + 0.5
            if now >= ticked + 1.0 / max(self.rate, 0.001):
                self._tick(conn)
                ticked = now
            elif ("00" in conn.regs or "04" in conn.regs) and len(self.fake.market.orders.events) > conn.events_seen:
                self._order_news(conn)
