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
import random
import socket
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ._ws_real import CONDITIONS, HITS, RealFrames, _knowable  # noqa: F401 - CONDITIONS: the fake's saved conditions
from ._ws_serve import Conn, Frame, Serving
from .market import _shapes

#: where burst() puts each entry's send time (FID 9999) once the frame is encoded
_SENT = "\ue000sent\ue000"

if TYPE_CHECKING:
    from . import FakeKiwoom

class FakeSocket(Serving, RealFrames):
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
        self.real_before_answer = False  # a REG's first entries go before its answer (a client must not drop them)
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
                entry["values"]["9999"] = _SENT
            parts = json.dumps({"trnm": "REAL", "data": entries}, ensure_ascii=False).split(_SENT)
            for conn in conns:  # the time as the frame goes out, not before it was encoded (+k: one per entry)
                now = time.perf_counter_ns()
                conn.ws.send("".join(part + (str(now + k) if k < per_frame else "") for k, part in enumerate(parts)))
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
            first = [{"type": kind, "name": _shapes.REAL_NAMES.get(kind, ""), "item": item, "values": self._values(kind, item)}
                     for entry in data.get("data") or [] for kind in entry.get("type") or [] for item in entry.get("item") or []
                     if trnm == "REG" and self.real_before_answer and item]
            if first:
                conn.send({"trnm": "REAL", "data": first})
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
