"""Mock orders on the fake market (kiwoom_nb.testing.market._market): the order book matched against the price path,
and the 00 events an order makes. Stdlib only."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING


if TYPE_CHECKING:  # annotations only: _market imports this module
    from ._market import Market

# -- mock orders -----------------------------------------------------------------------------------------------------

@dataclass
class Order:
    """One order the fake accepted: its number, side, code, quantity, limit price (None: at market), and what filled."""

    number: str
    side: str  # "buy" or "sell"
    code: str
    quantity: int
    price: int | None
    placed: datetime
    environment: str = "mock"
    appkey: str = ""
    filled: int = 0
    fill_price: int = 0
    fill_time: datetime | None = None
    cancelled: bool = False
    rejected: str = ""  # why the exchange refused it after accepting it (a 거부 event), if it did
    matched: bool = True  # False: an order TR the book only acknowledges (a modify, a cancel, a credit order)
    us: bool = False  # a US order: prices in ten-thousandths of a dollar, the US price path

    @property
    def remaining(self) -> int:
        return 0 if self.cancelled or self.rejected or not self.matched else self.quantity - self.filled


@dataclass
class Event:
    """One 00 event: 접수 (accepted) or 체결 (filled), for the order's app key."""

    status: str
    order: Order
    at: datetime
    price: int = 0
    quantity: int = 0
    remaining: int = 0  # what was left to fill after this event


class Orders:
    """The fake's order book for mock and production orders: a market order fills at the path's price at once, a limit
    order rests until the path trades at or through its price. ``matching = False`` holds every order resting until
    :meth:`fill` (a test's hook for pace and partial fills)."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.orders: list[Order] = []
        self.events: list[Event] = []
        self.matching = True
        self._checked: dict[str, datetime] = {}
        self._lock = threading.RLock()

    def place(self, number: str, side: str, code: str, quantity: int, price: int | None, *, environment: str = "mock",
              appkey: str = "", matched: bool = True, us: bool = False) -> Order:
        """Accept an order (a 접수 event); a market order fills at once while the session is open, a limit order
        already through the price too. ``matched=False`` only acknowledges it."""
        now = self.market.clock.now()
        order = Order(number, side, code, quantity, price, now, environment, appkey, matched=matched, us=us)
        with self._lock:
            self.orders.append(order)
            self.events.append(Event("접수", order, now, remaining=quantity))
            self._checked[number] = now
            if self.matching and matched:
                quote = self.market.quote(code, us)
                if quote["open_now"]:
                    last = quote["price"]
                    if price is None or (side == "buy" and last <= price) or (side == "sell" and last >= price):
                        self.fill(number, price=last, at=now)  # at market, or a limit the price is already through
        return order

    def fill(self, number: str, quantity: int | None = None, price: int | None = None, at: datetime | None = None) -> None:
        """Fill ``quantity`` (default: all that remains) of order ``number`` at ``price`` (default: the path's now)."""
        with self._lock:
            order = next(o for o in self.orders if o.number == number)
            qty = min(order.remaining if quantity is None else quantity, order.remaining)
            if qty <= 0:
                return
            price = self.market.quote(order.code, order.us)["price"] if price is None else price
            at = at or self.market.clock.now()
            order.fill_price = (order.fill_price * order.filled + price * qty) // (order.filled + qty)
            order.filled += qty
            order.fill_time = at
            self.events.append(Event("체결", order, at, price, qty, order.remaining))

    def reject(self, number: str, reason: str = "주문가능금액이 부족합니다") -> None:
        """Refuse order ``number`` after its 접수 (a 거부 event, 919 ``reason``): nothing of it fills."""
        with self._lock:
            order = next(o for o in self.orders if o.number == number)
            order.rejected = reason
            self.events.append(Event("거부", order, self.market.clock.now()))

    def update(self) -> None:
        """Fill the resting limit orders the path has crossed since they were last looked at."""
        if not self.matching:
            return
        now = self.market.clock.now()
        with self._lock:
            for order in self.orders:
                if order.remaining <= 0:
                    continue
                if order.price is None:  # placed while the market was shut: fills once it trades
                    if self.market.quote(order.code, order.us)["open_now"]:
                        self.fill(order.number, at=now)
                    continue
                since = self._checked.get(order.number, order.placed)
                self._checked[order.number] = now
                limit = order.price
                crossed = (lambda p: p <= limit) if order.side == "buy" else (lambda p: p >= limit)
                at = self.market.first_trade(order.code, since, now, crossed, order.us)
                if at is not None:
                    self.fill(order.number, price=order.price, at=at)

    def of(self, environment: str | None = None) -> list[Order]:
        self.update()
        with self._lock:
            return [o for o in self.orders if environment is None or o.environment == environment]
