"""One order as a live object: its status, fills and average price, moved by 00 events (``apply_event``) or a kt00007
row (``apply_row``), under a lock; ``wait`` / ``await`` until a final state, ``on(fn)`` on every change, ``modify`` /
``cancel`` through the book (and so through the TR client's guard).

Sends nothing itself (the book does); no IPython; pandas only for ``fills``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ..auth._checks import MAX_WAIT, check_number

if TYPE_CHECKING:
    from ._book import Book

__all__ = ["FINAL", "UNKNOWN", "Order", "number", "price_of"]

log = logging.getLogger("kiwoom_nb")

FINAL = ("filled", "cancelled", "rejected")
#: The status of an order whose request timed out or met a 5xx: it may or may not be at Kiwoom; never re-sent.
UNKNOWN = "unknown: check api.orders()"


def number(text: Any) -> int:
    """A Kiwoom quantity or price (``"+0000160400"``, ``"-5"``, ``""``) as a non-negative int."""
    try:
        return abs(int(float(str(text).strip().replace(",", "") or 0)))
    except ValueError:
        return 0


def price_of(text: Any) -> float | int:
    """A Kiwoom price as a number: whole won as an int (``"+0000160400"``), dollars with their cents as a float
    (``"185.2000"``); 0 for none."""
    text = str(text or "").strip().replace(",", "")
    if "." not in text:
        return number(text)
    try:
        return abs(float(text))
    except ValueError:
        return 0


class Order:
    """An order placed by ``api.buy`` / ``api.sell`` (or rebuilt by ``api.orders()``): ``status`` is one of
    submitted, accepted, partially filled, filled, cancelled, rejected, or ``unknown: check api.orders()``.
    A US order (``us``) has its price in dollars and its exchange (``exchange``: ND, NY, NA)."""

    us = False
    exchange = ""

    def __init__(self, book: "Book", side: str, code: str, qty: int, price: Any, order_no: str = "",
                 status: str = "submitted") -> None:
        self._book = book
        self.side, self.code, self.qty, self.price = side, code, int(qty), price
        self.order_no = order_no
        self.numbers: list[str] = [order_no] if order_no else []  # a modify gives the order a new number
        self._status = status
        self._filled = 0
        self._amount = 0  # the filled value, for the average price
        self._fills: list[dict[str, Any]] = []
        self._seen: set[str] = set()  # 체결번호 (909) of the fills applied, so an event counts once
        self._untold = 0  # shares a kt00007 row added that no event has told of yet: a late event's are these
        self._cancelled = self._rejected = False
        self.reason = ""
        self._callbacks: list[Callable[["Order"], Any]] = []
        self._lock = threading.RLock()
        self._changing = threading.RLock()  # one modify / cancel at a time: the next sees the number the last left
        self._changed = threading.Condition(self._lock)

    # -- what the user reads ---------------------------------------------------------------------

    @property
    def status(self) -> str:
        return self._status

    @property
    def filled(self) -> int:
        return self._filled

    @property
    def remaining(self) -> int:
        with self._lock:
            return 0 if self._status in FINAL or self._status == UNKNOWN else self.qty - self._filled

    @property
    def avg_price(self) -> float:
        with self._lock:
            return self._amount / self._filled if self._filled else 0.0

    @property
    def done(self) -> bool:
        return self._status in FINAL

    @property
    def fills(self) -> Any:
        """A DataFrame of the fills: time, qty, price, fee, tax (as Kiwoom reports them; a fill learned from kt00007
        alone has no time, fee or tax)."""
        import pandas as pd

        with self._lock:
            rows = list(self._fills)
        return pd.DataFrame(rows, columns=["time", "qty", "price", "fee", "tax"])

    def __repr__(self) -> str:
        shown = "${:,.2f}" if self.us else "{:,.0f}"
        price = "market" if self.price is None else shown.format(self.price)
        return (f"<Order {self.order_no or '-'} {self.side.upper()} {self.qty} × {self.code} @ {price}: {self.status}, "
                f"filled {self.filled}{' @ ' + shown.format(self.avg_price) if self.filled else ''}>")

    # -- watching -----------------------------------------------------------------------------------

    def on(self, fn: Callable[["Order"], Any]) -> None:
        """Call ``fn(order)`` on every change (on the thread that saw it); an exception in ``fn`` is logged."""
        if not callable(fn):
            from .._errors import KiwoomError

            raise KiwoomError(f"on({fn!r}): pass a function taking the order")
        with self._lock:
            self._callbacks.append(fn)

    def wait(self, timeout: float = 30.0) -> "Order":
        """Until a final state (filled, cancelled, rejected) or ``timeout`` seconds; then the state is checked once
        with kt00007, so nothing depends on an event that never came. Returns the order."""
        check_number("timeout", timeout, maximum=MAX_WAIT)
        self._book.follow(self, time.monotonic() + timeout)
        return self

    def __await__(self) -> Any:
        import asyncio

        return asyncio.get_running_loop().run_in_executor(None, self.wait).__await__()

    def modify(self, price: Any, *, qty: int | None = None, confirm: bool = False) -> Any:
        """Change the price of what remains (kt10002; ``qty``: of that many); production needs ``confirm=True``
        (without it the preview line comes back)."""
        return self._book.modify(self, price, qty, confirm=confirm)

    def cancel(self, *, confirm: bool = False) -> Any:
        """Cancel what remains (kt10003); production needs ``confirm=True`` (without it the preview line comes
        back). A cancel that comes after the last fill leaves the order filled, and says so in one line."""
        return self._book.cancel(self, confirm=confirm)

    # -- what moves it (the book's threads, the stream's) ----------------------------------------

    def apply_event(self, values: dict[str, Any]) -> None:
        """One 00 event of this order (9203 its number): 913 접수 / 체결 / 확인 / 취소 / 거부."""
        state = str(values.get("913", "")).strip()
        with self._lock:
            before = self._status, self._filled
            if state == "거부":
                self._rejected, self.reason = True, str(values.get("919", "")).strip()
            elif state == "취소":
                self._cancelled = True
            elif state == "체결":
                key = str(values.get("909", "")).strip()
                qty = number(values.get("915") or values.get("911"))
                price = number(values.get("914") or values.get("910"))
                if qty and (not key or key not in self._seen):
                    self._seen.add(key)
                    told, self._untold = min(qty, self._untold), self._untold - min(qty, self._untold)
                    if qty > told:  # what kt00007 had already counted is not counted again
                        self._add_fill(qty - told, price, _clock(values.get("908")), number(values.get("938")),
                                       number(values.get("939")))
            self._settle(accepted=state in ("접수", "체결", "확인"))
            changed = (self._status, self._filled) != before
        if changed:
            self._tell()

    def apply_row(self, row: dict[str, Any]) -> None:
        """This order's kt00007 row: what filled in all, at what average, and whether it was cancelled."""
        with self._lock:
            before = self._status, self._filled
            filled, average = number(row.get("cntr_qty")), price_of(row.get("cntr_uv"))
            if filled > self._filled:  # fills no event told of: one row for the difference
                qty, before_row = filled - self._filled, self._filled
                self._add_fill(qty, (average * filled - self._amount) / qty, None, None, None)
                self._untold += self._filled - before_row
            if "취소" in str(row.get("mdfy_cncl", "")) or "거부" in str(row.get("acpt_tp", "")):
                if "거부" in str(row.get("acpt_tp", "")):
                    self._rejected = True
                else:
                    self._cancelled = True
            self._settle(accepted=True)
            changed = (self._status, self._filled) != before
        if changed:
            self._tell()

    def unknown(self) -> None:
        """The request timed out or met a 5xx: it may be at Kiwoom or not, and is never re-sent."""
        with self._lock:
            self._status = UNKNOWN
            self._changed.notify_all()
        self._tell()

    def _add_fill(self, qty: int, price: float, at: Any, fee: Any, tax: Any) -> None:
        qty = min(qty, self.qty - self._filled)
        if qty <= 0:
            return
        self._filled += qty
        self._amount += qty * price
        self._fills.append({"time": at, "qty": qty, "price": price, "fee": fee, "tax": tax})

    def _settle(self, *, accepted: bool = False) -> None:
        """The status from what is known (under the lock); callbacks and waiters told of a change."""
        if self._filled >= self.qty:
            status = "filled"  # a cancel that raced the last fill ends here
        elif self._rejected:
            status = "rejected"
        elif self._cancelled:
            status = "cancelled"
        elif self._filled:
            status = "partially filled"
        elif accepted or self._status not in ("submitted", UNKNOWN):
            status = "accepted"
        else:
            status = self._status
        if self._status in FINAL and status != "filled":
            status = self._status  # a final state does not go back (a late or repeated event)
        self._status = status
        self._changed.notify_all()

    def _tell(self) -> None:
        """Call the callbacks (outside the lock): an exception is logged, never raised into the thread that saw it."""
        with self._lock:
            callbacks = list(self._callbacks)
        for fn in callbacks:
            try:
                fn(self)
            except Exception:  # noqa: BLE001 - a user's callback must not stop the stream or the poll
                log.exception("kiwoom_nb: an order callback %r failed", fn)


def _clock(text: Any) -> str | None:
    text = str(text or "").strip()
    return f"{text[:2]}:{text[2:4]}:{text[4:6]}" if len(text) >= 6 and text[:6].isdigit() else None
