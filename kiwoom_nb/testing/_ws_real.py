"""The fake WebSocket's REAL frames: the market's path at the fake's clock (0B the last trade, its cumulative volume
only rising within the day; 0D the book around it; 0G / 0I / 0J walks of their own), sent on each connection's
tick, and the 00 events of the market's order book. Values formatted as recorded (``market._shapes``).

FakeSocket (kiwoom_nb.testing._ws) inherits it; what it answers to a client's frames is FakeSocket's.
"""

from __future__ import annotations

import random
import re
from typing import Any

from ._ws_serve import Conn
from .market import _shapes
from .market._stocks import held, stock

CONDITIONS = [("0", "급등주"), ("1", "거래량 상위"), ("2", "신고가"), ("3", "골든크로스")]
#: condition seq -> its hits (codes); one-off answers come in pages of ``condition_page`` rows
HITS = {seq: [f"{(int(seq) + 1) * 1000 + n:06d}" for n in range(7)] for seq, _ in CONDITIONS}
_TICKS = {"0B", "0D", "0H", "0A", "0C", "0G", "0I", "0J", "FE", "FT", "F5"}


class RealFrames:
    """``_tick`` for one connection (REAL frames of what it registered) and the values they carry."""

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
        if "00" in regs or "04" in regs:
            entries += self._fills(conn, regs)
        if conn.conditions and self._random.random() < 0.2:
            seq = sorted(conn.conditions)[0]
            code = self._random.choice(HITS[seq])
            entries.append({"type": "02", "name": "조건검색", "item": code,
                            "values": {"841": seq, "9001": code, "843": self._random.choice("ID"),
                                       "20": self.fake.clock.now().strftime("%H%M%S"), "907": "2"}})
        if entries:
            conn.send({"trnm": "REAL", "data": entries})

    def _order_news(self, conn: Conn) -> None:
        """The 00 / 04 entries of orders placed or filled since the last tick, sent at once."""
        with conn.lock:
            regs = {kind: sorted(items) for kind, items in conn.regs.items() if items}
        entries = self._fills(conn, regs)
        if entries:
            conn.send({"trnm": "REAL", "data": entries})

    def _fills(self, conn: Conn, regs: dict[str, Any]) -> list[dict[str, Any]]:
        """A 00 entry for every event of the market's order book since this connection last looked (접수, then 체결
        when the order fills), for orders of its app key and environment, where 00 is registered; a 04 (잔고) entry
        after each 체결 where 04 is."""
        orders = self.fake.market.orders
        orders.update()
        with orders._lock:
            start = conn.events_seen
            new = orders.events[start:]
            conn.events_seen += len(new)
        entries = []
        for seq, event in enumerate(new, start + 1):  # seq: the event's place in the book, its 체결번호
            order = event.order
            if order.appkey != conn.appkey or order.environment != conn.environment or order.us:
                continue  # a US order's news is in ust21510, not on the domestic socket
            filled = event.status == "체결"
            if "00" in regs:
                entries.append(self._fill_entry(order, event, seq, filled))
            if filled and "04" in regs:  # the balance the fill left, after it
                entries.append(self._balance(order.code, conn.environment))
        return entries

    def _fill_entry(self, order: Any, event: Any, seq: int, filled: bool) -> dict[str, Any]:
        book = self.fake.market.book(order.code, 1) if stock(order.code) else {"asks": [(0, 0)], "bids": [(0, 0)]}
        price = self._price(order.code) if order.code else 0
        return {"type": "00", "name": "주문체결", "item": order.code, "values": {
                "9201": "1234567890", "9203": order.number, "9001": order.code, "913": event.status,
                "302": (stock(order.code) or (f"종목{order.code}",))[0], "900": str(order.quantity),
                "901": str(order.price or 0), "902": str(event.remaining),
                "903": str(order.fill_price * order.filled) if filled else "0", "904": "0000000",
                "905": "+매수" if order.side == "buy" else "-매도", "906": "시장가" if order.price is None else "보통",
                "907": "2" if order.side == "buy" else "1", "908": event.at.strftime("%H%M%S"),
                "909": f"{seq:07d}" if filled else "", "910": str(event.price) if filled else "",
                "911": str(event.quantity) if filled else "", "10": str(price), "27": str(book["asks"][0][0]),
                "28": str(book["bids"][0][0]), "914": str(event.price) if filled else "",
                "915": str(event.quantity) if filled else "",
                "919": order.rejected if event.status == "거부" else ""}}

    def _balance(self, code: str, environment: str) -> dict[str, Any]:
        """A 04 entry: the account's holding of ``code`` now (930 quantity, 931 buy price, 10 the price)."""
        name, qty, buy, bought = held(self.fake.market, environment).get(code, ((stock(code) or ("",))[0], 0, 0, 0))
        return {"type": "04", "name": "현물잔고", "item": code, "values": {
            "9201": "1234567890", "9001": code, "302": name, "10": str(self._price(code)), "930": str(qty),
            "931": str(buy), "932": str(bought), "933": str(qty), "917": "00", "916": "00000000"}}


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
