"""The fake's WebSocket side: Kiwoom's real-time socket on loopback, as FACTS-realtime.md describes it.

LOGIN checked against the tokens the REST side issued, PINGs to echo (R10002 and a close when one is not),
REG / REMOVE acks, REAL frames from the market's path at the fake's clock (``_market``: 0B the last trade, its
cumulative volume only rising; 0D the book around it; nothing while the market is shut; several entries of mixed
types in one frame; 0G / 0I / 0J a walk of their own; values formatted as recorded, ``_shapes``), 00 events from the
market's order book (접수, then 체결 when an order fills),
frame), R10001 for the older socket of an app key, CNSRLST / CNSRREQ / CNSRCLR, a 00 event for every order the
REST side accepts, and fault injection. ``/mock/...`` paths are the mock side. Uses websockets' threading server.
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import _shapes
from ._stocks import stock

if TYPE_CHECKING:
    from . import FakeKiwoom

PATHS = {"/api/dostk/websocket": "domestic", "/api/us/websocket": "us"}
CONDITIONS = [("0", "급등주"), ("1", "거래량 상위"), ("2", "신고가"), ("3", "골든크로스")]
#: condition seq -> its hits (codes); one-off answers come in pages of ``condition_page`` rows
HITS = {seq: [f"{(int(seq) + 1) * 1000 + n:06d}" for n in range(7)] for seq, _ in CONDITIONS}
_TICKS = {"0B", "0D", "0H", "0A", "0C", "0G", "0I", "0J", "FE", "FT", "F5"}


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


class FakeSocket:
    """The WebSocket server of one FakeKiwoom; settings are plain attributes, changeable while it runs."""

    def __init__(self, fake: "FakeKiwoom") -> None:
        self.fake = fake
        self.ping_interval: float | None = None  # seconds between PINGs; None sends none
        self.rate = 20.0  # REAL frames per second per connection while something is registered
        self.condition_page = 3
        self.frames: list[Frame] = []  # everything received, in order
        #: (connection, close code the client sent or None for no close frame, time.monotonic() at the close)
        self.closes: list[tuple[int, int | None, float]] = []
        self.refuse_types: set[str] = set()  # REGs of these types are refused (return_code 1)
        #: frames sent before each LOGIN answer (prod sends SYSTEM frames, PINGs and REALs there too)
        self.before_login: list[dict[str, Any]] = []
        self.hang = False  # stop reading frames and answering them (REG, CNSRCLR ... go unanswered; the library still closes)
        self.silent_logins = 0  # the next n LOGINs get no answer at all (the connection stays open, frames still read)
        self.drop_after_login = False  # cut each connection right after answering its LOGIN (a server that flaps)
        self.conns: list[Conn] = []
        self._refuse_logins = 0
        self._lock = threading.Lock()
        self._count = 0
        self._walk: dict[tuple[str, str], int] = {}
        self._random = random.Random(22)
        self._server: Any = None

    # -- scripting and inspection ------------------------------------------------------------------

    def refuse_next_login(self, times: int = 1) -> None:
        """Answer the next ``times`` LOGINs with 805004 [CODE=8005] and close, whatever the token."""
        with self._lock:
            self._refuse_logins += times

    def drop(self) -> None:
        """Cut every connection without a close frame (a network drop: the client sees 1006)."""
        for conn in self.live():
            try:
                conn.ws.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def burst(self, frames: int, items: list[str], kind: str = "0B", per_frame: int = 1,
              per_second: float | None = None) -> int:
        """Send ``frames`` REAL frames of ``kind`` to every logged-in connection, as fast as the socket takes them or
        ``per_second`` frames a second (benchmarks), each with ``per_frame`` entries cycling over ``items`` and FID
        9999 holding ``time.perf_counter_ns()`` at the send. Returns the entries sent per connection."""
        conns = [c for c in self.live() if c.logged_in]
        sent = 0
        start = time.perf_counter()
        for n in range(frames):
            if per_second:
                due = start + n / per_second
                while time.perf_counter() < due:  # pacing the sender, not waiting for anything
                    time.sleep(max(0.0, due - time.perf_counter()))
            entries = []
            for k in range(per_frame):
                item = items[(n * per_frame + k) % len(items)]
                entries.append({"type": kind, "name": _shapes.REAL_NAMES.get(kind, ""), "item": item,
                                    "values": self._values(kind, item)})
            for entry in entries:
                entry["values"]["9999"] = str(time.perf_counter_ns())
            text = json.dumps({"trnm": "REAL", "data": entries}, ensure_ascii=False)
            for conn in conns:
                conn.ws.send(text)
            sent += per_frame
        return sent

    def send_raw(self, text: str | bytes) -> int:
        """Send ``text`` as it is (str: a text frame, bytes: a binary one) to every logged-in connection, to try the
        client with what Kiwoom should never send. Returns the connections it went to."""
        conns = [c for c in self.live() if c.logged_in]
        for conn in conns:
            try:
                conn.ws.send(text)
            except Exception:  # noqa: BLE001 - the client went away meanwhile
                pass
        return len(conns)

    def live(self) -> list[Conn]:
        with self._lock:
            return [c for c in self.conns if not c.closed.is_set()]

    def received(self, trnm: str | None = None) -> list[Frame]:
        with self._lock:
            return [f for f in self.frames if trnm is None or f.trnm == trnm]

    # -- serving -----------------------------------------------------------------------------------

    def start(self, host: str, port: int = 0) -> None:
        from websockets.frames import Opcode
        from websockets.sync.server import ServerConnection, serve

        class Recording(ServerConnection):
            """Notes when the client's close frame arrived (the handler learns of it a little later)."""

            close_at: float | None = None

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
        next_tick = time.monotonic()
        while True:
            if self.hang:
                self.fake._stopping.wait()
                return
            now = time.monotonic()
            wait = max(0.0, min(next_ping, next_tick) - now) if conn.logged_in else 0.2
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
            if now >= next_tick:
                self._tick(conn)
                next_tick = now + 1.0 / max(self.rate, 0.001)

    # -- answers -----------------------------------------------------------------------------------

    def _answer(self, conn: Conn, data: dict[str, Any]) -> bool:
        """Answer one frame; False when the connection is to end."""
        trnm = data.get("trnm")
        if trnm == "PING":
            conn.ping_owed = False
            return True
        if trnm == "LOGIN":
            return self._login(conn, data)
        if not conn.logged_in:
            conn.send({"trnm": trnm or "", "return_code": 100013,
                       "return_msg": "로그인 인증이 들어오기 전에 요청이 들어왔습니다"})
            return True
        g = "G" if conn.market == "us" else ""
        if trnm == "REG" and any(k in self.refuse_types for e in data.get("data") or [] for k in e.get("type") or []):
            conn.send({"trnm": trnm, "return_code": 1, "return_msg": "등록 종목수 초과"})
        elif trnm == "REG" and not all(_knowable(conn.market, kind, item) for e in data.get("data") or []
                                       for kind in e.get("type") or [] for item in e.get("item") or [""]):
            # a name, a 7-digit code, null: a fake that invented prices for them would hide the caller's mistake
            conn.send({"trnm": trnm, "return_code": 1, "return_msg": "종목코드가 올바르지 않습니다"})
        elif trnm in ("REG", "REMOVE"):
            with conn.lock:
                if trnm == "REG" and str(data.get("refresh", "1")) == "0":
                    conn.regs.clear()
                for entry in data.get("data") or []:
                    for kind in entry.get("type") or []:
                        items = {str(i) for i in entry.get("item") or [""]}
                        if trnm == "REG":
                            conn.regs.setdefault(kind, set()).update(items)
                        else:
                            conn.regs.get(kind, set()).difference_update(items)
            conn.send({"trnm": trnm, "return_code": 0, "return_msg": ""})
        elif trnm == g + "CNSRLST":
            conn.listed = True
            conn.send({"trnm": trnm, "return_code": 0, "return_msg": "", "data": [list(c) for c in CONDITIONS]})
        elif trnm == g + "CNSRREQ":
            self._condition(conn, data)
        elif trnm == g + "CNSRCLR":
            seq = str(data.get("seq", "")).strip()
            conn.conditions.discard(seq)
            conn.send({"trnm": trnm, "seq": seq, "return_code": 0, "return_msg": "정상종료되었습니다."})
        else:
            conn.send({"trnm": trnm or "", "return_code": 105108, "return_msg": "정의되어 있지 않는 TRNM입니다"})
        return True

    def _login(self, conn: Conn, data: dict[str, Any]) -> bool:
        token = str(data.get("token") or "")
        now = datetime.now(timezone.utc)
        with self.fake._lock:
            issued = next((t for t in self.fake.tokens if t.value == token), None)
            valid = issued is not None and not issued.revoked and issued.expires_at > now \
                and issued.environment == conn.environment
        with self._lock:
            refused = self._refuse_logins > 0
            if refused:
                self._refuse_logins -= 1
            silent = self.silent_logins > 0
            if silent:
                self.silent_logins -= 1
        if silent:
            return True
        if refused or not valid:
            conn.send({"trnm": "LOGIN", "return_code": 805004,
                       "return_msg": "토큰 인증에 실패했습니다. 접속을 종료합니다 [CODE=8005, MESSAGE=Token이 유효하지 않습니다]"})
            conn.ws.close()
            return False
        conn.appkey, conn.token, conn.logged_in = issued.appkey, token, True
        older = [c for c in self.live() if c is not conn and c.appkey == conn.appkey and c.market == conn.market
                 and c.environment == conn.environment and c.logged_in]
        for early in list(self.before_login):
            conn.send(early)
        conn.send({"trnm": "LOGIN", "return_code": 0, "return_msg": "", "sor_yn": "Y"})
        for old in older:
            old.send({"trnm": "SYSTEM", "code": "R10001",
                      "message": "동일한 App key로 접속이 되었습니다. 기존 세션은 종료가 됩니다"})
            try:
                old.ws.close()
            except Exception:  # noqa: BLE001
                pass
        with self.fake.market.orders._lock:  # 00 carries what happens from now on
            conn.events_seen = len(self.fake.market.orders.events)
        if self.drop_after_login:
            try:
                conn.ws.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return True

    def _condition(self, conn: Conn, data: dict[str, Any]) -> None:
        if not conn.listed:
            return  # as Kiwoom: without CNSRLST first on this connection, no answer at all
        seq = str(data.get("seq", "")).strip()
        trnm = data["trnm"]
        hits = HITS.get(seq)
        if hits is None:
            conn.send({"trnm": trnm, "seq": seq, "return_code": 1, "return_msg": "조건검색 일련번호가 없습니다"})
            return
        if str(data.get("search_type", "0")) == "1":
            conn.conditions.add(seq)
            conn.send({"trnm": trnm, "seq": f"{seq:<3}", "return_code": 0,  # no return_msg (recorded, ka10173)
                       "data": [{"jmcode": "A" + code} for code in hits[:3]]})
            return
        start = int(data.get("next_key") or 0) if str(data.get("cont_yn", "N")) == "Y" else 0
        page = hits[start:start + self.condition_page]
        more = start + len(page) < len(hits)
        conn.send({"trnm": trnm, "seq": f"{seq:<3}", "cont_yn": "Y" if more else "N",
                   "next_key": str(start + len(page)) if more else "", "return_code": 0,  # no return_msg (ka10172)
                   "data": [self._hit(code) for code in page]})

    def _hit(self, code: str) -> dict[str, str]:
        """One row of a one-off condition search, the ten FIDs recorded: unsigned, 9 wide; 12 the rate in
        thousandths of a per cent."""
        price = self._price(code)
        moved = price // 100
        return {"9001": "A" + code, "302": f"종목{code}", "10": _shapes.padded(price, 9), "25": "2",
                "11": _shapes.padded(moved, 9), "12": _shapes.padded(moved * 100_000 // (price - moved), 9),
                "13": _shapes.padded(int(code) % 900_000 + 1000, 9), "16": _shapes.padded(price - moved // 2, 9),
                "17": _shapes.padded(price + moved // 4, 9), "18": _shapes.padded(price - moved, 9)}

    # -- REAL frames: the market's path at the fake's clock ------------------------------------------------------------

    def _price(self, code: str) -> int:
        return self.fake.market.quote(code)["price"] if stock(code) else 150000

    def _values(self, kind: str, item: str, since: int | None = None,
                before: int | None = None) -> dict[str, str] | None:
        """One entry's values for ``item`` now, in the shape Kiwoom was recorded sending (``_shapes``: 0B 43 FIDs,
        0D 139). 0B: the last trade and what traded since the cumulative volume ``since`` (None: the trade's own
        share of it), sold at the bid when the price fell from ``before``, else bought at the ask; None when nothing
        traded since. Stocks read the market; 0G / 0I / 0J and unknown items walk."""
        code = item[:6]
        market = self.fake.market
        clock = self.fake.clock.now().strftime("%H%M%S")  # Kiwoom's clock times are Korea time (the fake's clock)
        if stock(code) is None or kind in ("0G", "0I", "0J"):
            return self._walked(kind, item, clock)
        quote = market.quote(code)
        price, base = quote["price"], quote["previous"]
        book = market.book(code, 10 if kind == "0D" else 1, price=price)
        if kind == "0D":
            changes = random.Random(f"{code}{clock}")
            asks = [(p, q, changes.choice((-3, 0, 0, 2))) for p, q in book["asks"]]
            bids = [(p, q, changes.choice((-2, 0, 0, 4))) for p, q in book["bids"]]
            return _shapes.book_fids(time=clock, asks=asks, bids=bids, base=base, expected=price, expected_qty=0)
        volume = quote["volume"]
        traded = volume - since if since is not None else max(volume % 997, 1)
        if since is not None and traded <= 0:
            return None
        side = -1 if before is not None and price < before else 1
        return _shapes.trade_fids(time=clock, price=price, base=base, open_=quote["open"], high=quote["high"],
                                  low=quote["low"], volume=volume, qty=side * traded, value=quote["value"] // 1_000_000,
                                  ask=book["asks"][0][0], bid=book["bids"][0][0])

    def _walked(self, kind: str, item: str, clock: str) -> dict[str, str]:
        """Values of what the market has no path for (ETF NAV, gold, industry indices, unknown items): a walk per
        (type, item) around a base price."""
        key = (kind, item)
        base = 10000 + (int(item[:6]) % 900) * 100 if item[:6].isdigit() else 20000
        price = self._walk.get(key, base) + self._random.choice((-50, 0, 50))
        self._walk[key] = price
        change = price - base
        sign = "+" if change > 0 else "-" if change < 0 else ""
        if kind == "0D":
            asks = [(price + 50 * n, self._random.randint(1, 900), self._random.choice((-3, 0, 0, 2))) for n in range(1, 11)]
            bids = [(price - 50 * n, self._random.randint(1, 900), self._random.choice((-2, 0, 0, 4)))
                    for n in range(1, 11)]
            return _shapes.book_fids(time=clock, asks=asks, bids=bids, base=base, expected=price, expected_qty=0)
        up = "2" if change > 0 else "5" if change < 0 else "3"
        if kind == "0G":  # ETF NAV: the NAV (36) and its change (37) in hundredths, beside the price
            nav = price * 100 + self._random.randint(-500, 500)
            return {"36": _shapes.hundredths(nav, base * 100), "37": _shapes.hundredths(nav - base * 100),
                    "38": _shapes.rate(change * 100 / base), "39": "0.12", "20": clock, "10": f"{sign}{price}",
                    "11": _shapes.change(change), "12": _shapes.rate(change * 100 / base),
                    "13": str(self._random.randint(10000, 99999)), "25": up, "265": "+0.04", "266": "-0.11"}
        if kind == "0I":  # gold spot's base price: four FIDs
            return {"10": f"{sign}{price}", "25": up, "11": _shapes.change(change),
                    "12": _shapes.rate(change * 100 / base)}
        if kind == "0J":  # an industry index: the walk read as hundredths, written with two decimals
            return {"20": clock, "10": _shapes.hundredths(price, base), "11": _shapes.hundredths(change),
                    "12": _shapes.rate(change * 100 / base), "15": str(self._random.randint(1, 500)),
                    "13": str(self._random.randint(100000, 999999)), "14": str(self._random.randint(10**6, 10**7)),
                    "16": _shapes.hundredths(base + 150, base), "17": _shapes.hundredths(max(price, base) + 300, base),
                    "18": _shapes.hundredths(min(price, base) - 300, base), "25": up,
                    "26": str(-self._random.randint(1, 20000))}
        qty = self._random.choice((1, -1)) * self._random.randint(1, 500)
        open_ = base + 50 if item[:6].isdigit() and int(item[:6]) % 2 else base - 50
        return _shapes.trade_fids(time=clock, price=price, base=base, open_=open_, high=max(price, base, open_),
                                  low=min(price, base, open_), volume=self._random.randint(10000, 99999), qty=qty,
                                  value=self._random.randint(1000, 9999), ask=price + 50, bid=price - 50)

    def _tick(self, conn: Conn) -> None:
        entries = []
        with conn.lock:
            regs = {kind: sorted(items) for kind, items in conn.regs.items() if items}
        market = self.fake.market
        for kind, items in regs.items():
            if kind not in _TICKS:
                continue
            for item in items:
                code = item[:6]
                listed = stock(code) is not None
                if listed and not market.quote(code)["open_now"]:
                    continue  # the market is shut on the fake's clock: nothing trades, nothing moves
                if kind in ("0D", "0G", "0I", "0J") or not listed:
                    values = self._values(kind, item)
                else:
                    day = self.fake.clock.now().date()
                    last_day, seen, before = conn.volumes.get((kind, item), (day, None, None))
                    if last_day != day:  # a new session: its volume starts again from nothing
                        seen, before = None, None
                    values = self._values(kind, item, seen, before)
                    if values is None:
                        continue  # nothing traded since the last entry
                    conn.volumes[(kind, item)] = (day, int(values["13"]), int(values["10"].lstrip("+-")))
                entries.append({"type": kind, "name": _shapes.REAL_NAMES.get(kind, ""), "item": item, "values": values})
        if "00" in regs:
            entries += self._fills(conn)
        if conn.conditions and self._random.random() < 0.2:
            seq = sorted(conn.conditions)[0]
            code = self._random.choice(HITS[seq])
            entries.append({"type": "02", "name": "조건검색", "item": code,
                            "values": {"841": seq, "9001": code, "843": self._random.choice("ID"),
                                       "20": self.fake.clock.now().strftime("%H%M%S"), "907": "2"}})
        if entries:
            conn.send({"trnm": "REAL", "data": entries})

    def _fills(self, conn: Conn) -> list[dict[str, Any]]:
        """A 00 entry for every event of the market's order book since this connection last looked (접수, then 체결
        when the order fills), for orders of its app key and environment."""
        orders = self.fake.market.orders
        orders.update()
        with orders._lock:
            new = orders.events[conn.events_seen:]
            conn.events_seen += len(new)
        entries = []
        for event in new:
            order = event.order
            if order.appkey != conn.appkey or order.environment != conn.environment:
                continue
            book = self.fake.market.book(order.code, 1) if stock(order.code) else {"asks": [(0, 0)], "bids": [(0, 0)]}
            price = self._price(order.code) if order.code else 0
            filled = event.status == "체결"
            entries.append({"type": "00", "name": "주문체결", "item": order.code, "values": {
                "9201": "1234567890", "9203": order.number, "9001": order.code, "913": event.status,
                "302": (stock(order.code) or (f"종목{order.code}",))[0], "900": str(order.quantity),
                "901": str(order.price or 0), "902": str(event.remaining),
                "903": str(order.fill_price * order.filled) if filled else "0", "904": "0000000",
                "905": "+매수" if order.side == "buy" else "-매도", "906": "시장가" if order.price is None else "보통",
                "907": "2" if order.side == "buy" else "1", "908": event.at.strftime("%H%M%S"),
                "909": f"{len(orders.events):07d}" if filled else "", "910": str(event.price) if filled else "",
                "911": str(event.quantity) if filled else "", "10": str(price), "27": str(book["asks"][0][0]),
                "28": str(book["bids"][0][0]), "914": str(event.price) if filled else "",
                "915": str(event.quantity) if filled else ""}})
        return entries


_KRX_ITEM = re.compile(r"(?=[A-Z]*\d)[0-9A-Z]{6}(?:_(?:NX|AL))?")
_US_ITEM = re.compile(r"[A-Z][A-Z.\-]{0,11}")


def _knowable(market: str, kind: Any, item: Any) -> bool:
    """Whether Kiwoom could send prices for ``item`` of ``kind``: a KRX code (US: a ticker), a sector code for 0J / 0U,
    a symbol for 0I, "" for a whole-market or account type."""
    if not isinstance(item, str):
        return False
    if item == "":
        return True
    if market == "us":
        return bool(_US_ITEM.fullmatch(item))
    if kind in ("0J", "0U"):
        return item.isdigit() and len(item) == 3
    if kind == "0I":  # gold: a symbol (MGD)
        return bool(re.fullmatch(r"[0-9A-Z]{1,12}", item))
    return bool(_KRX_ITEM.fullmatch(item))
