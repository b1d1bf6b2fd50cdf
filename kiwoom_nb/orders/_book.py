"""A client's orders: placing (kt10000 / kt10001 through the TR client's own guard), modify (kt10002) and cancel
(kt10003), the objects by order number, and what moves them — the 00 events of an open stream of the same app key
and environment (kiwoom_nb.live), else kt00007 polled at the pacer's rate; either way kt00007 once at the end.
A US stock (``_us.ticker``) goes through the US TRs (ust20000 …) instead, and is followed by polling ust21510.

Never decides whether a request may go (``Client.call`` does), never re-sends an order whose request timed out, met
a 5xx or an answer that is not JSON (only ``Client.call`` resends, after a rate-limit refusal). No IPython.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from typing import Any

from .._errors import KiwoomError, KiwoomTimeout, NetworkError, OrderNotConfirmed, RequestError, ServerError
from . import _us
from ._order import UNKNOWN, Order, number, price_of

__all__ = ["Book", "book_of"]

log = logging.getLogger("kiwoom_nb")

#: seconds between two kt00007 polls at least (the pacer may make it longer)
POLL = 0.2
#: seconds between two looks at whether the stream ``wait()`` follows is still open
STREAM_LOOK = 1.0
#: 00 events of a number not known yet (the answer to kt10000 still on its way) kept per number
PENDING = 64
VENUE = "KRX"
_made = threading.Lock()


def book_of(api: Any) -> "Book":
    """The one Book of ``api``."""
    with _made:
        book = api.__dict__.get("_order_book")
        if book is None:
            book = api._order_book = Book(api)
        return book


def _key(no: Any, us: bool = False) -> str:
    """The book's key of an order number (US numbers are a series of their own)."""
    key = str(no or "").strip().lstrip("0")
    return f"us:{key}" if us and key else key


class Book:
    """The orders of one client, by number (a modified order answers to its old and new numbers)."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._orders: dict[str, Order] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._hooked: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._hooking = threading.Lock()  # one thread hooks a stream (its REG waits for Kiwoom's ack)
        self.looked: dict[bool, float] = {}  # us -> time.monotonic() of the latest reconcile (tickets share it)

    # -- sending (every request through Client.call: its guard, its preview) ----------------------

    def request(self, side: str, code: Any, qty: Any, price: Any) -> tuple[str, dict[str, Any], str | None]:
        """(api-id, body, US exchange or None) of the order ``place`` would send — checked, names resolved, a US
        stock routed to the US TRs — without sending it (the ticket's preview is of this)."""
        from ..auth._checks import check_code, check_number

        check_code(code)
        check_number("qty", qty, minimum=1, integer=True)
        found = _us.ticker(self.api, code)
        if found is not None:
            check_number("price", price, minimum=0.0001, none=True)
            body = {"stex_tp": found[1], "stk_cd": found[0], "ord_qty": str(qty),
                    "ord_uv": None if price is None else _us.dollars(price), "trde_tp": "03" if price is None else "00"}
            return (_us.BUY if side == "buy" else _us.SELL), body, found[1]
        api_id = "kt10000" if side == "buy" else "kt10001"
        code = self.api._named(api_id, {"stk_cd": code.strip()})["stk_cd"]  # a name becomes its code, or is unknown
        check_number("price", price, minimum=1, none=True, integer=True)
        return api_id, {"dmst_stex_tp": VENUE, "stk_cd": code, "ord_qty": str(qty),
                        "trde_tp": "3" if price is None else "0", "ord_uv": None if price is None else str(price)}, None

    def place(self, side: str, code: Any, qty: Any, price: Any, *, confirm: bool) -> Any:
        from ..auth._checks import check_flag

        check_flag("confirm", confirm)
        api_id, body, exchange = self.request(side, code, qty, price)
        if exchange is None:
            self.stream()  # listening before the order goes: its 접수 may beat the answer
        order = Order(self, side, body["stk_cd"], qty, price)  # a US order: followed by polling ust21510 only
        if exchange is not None:
            order.us, order.exchange = True, exchange
        answer = self._send(order, api_id, body, confirm)
        if isinstance(answer, str) or answer is None:
            return answer if isinstance(answer, str) else order
        if not _key(answer.get("ord_no")):  # placed, but no number to follow it by: never re-sent
            order.unknown()
            print(f"{api_id}: accepted with no order number; not re-sent — check api.orders()", file=sys.stderr)
        self._register(order, answer.get("ord_no"))
        return order

    def _us_body(self, order: Order) -> dict[str, Any]:
        exchange = order.exchange or (_us.ticker(self.api, order.code) or ("", ""))[1]
        return {"orig_ord_no": order.order_no, "stex_tp": exchange, "stk_cd": order.code}

    def modify(self, order: Order, price: Any, qty: Any, *, confirm: bool) -> Any:
        with order._changing:  # a second modify from another thread waits, then sees this one's outcome
            return self._modify(order, price, qty, confirm=confirm)

    def _modify(self, order: Order, price: Any, qty: Any, *, confirm: bool) -> Any:
        from ..auth._checks import check_flag, check_number

        check_flag("confirm", confirm)
        check_number("price", price, minimum=0.0001 if order.us else 1, integer=not order.us)
        check_number("qty", qty, minimum=1, integer=True, none=True)
        if order.us and qty is not None:
            raise KiwoomError("a US modify (ust20002) changes the price of all that remains: pass no qty "
                              "— nothing was sent")
        self._check_open(order, "modify")
        self.reconcile(us=order.us)  # what remains now, fills no event told of included
        self._check_open(order, "modify")
        if qty is not None and qty > order.remaining:
            raise KiwoomError(f"qty={qty}: {order.remaining} of order {order.order_no} remain to modify; pass at most "
                              "that, or no qty for all of it — nothing was sent")
        if order.us:
            api_id, body = _us.MODIFY, {**self._us_body(order), "mdfy_uv": _us.dollars(price)}
        else:
            api_id, body = "kt10002", {"dmst_stex_tp": VENUE, "orig_ord_no": order.order_no, "stk_cd": order.code,
                                       "mdfy_qty": str(qty or order.remaining), "mdfy_uv": str(price)}
        answer = self._send(order, api_id, body, confirm)
        if isinstance(answer, str) or answer is None:
            return answer if isinstance(answer, str) else order
        with order._lock:
            order.price = price
        self._register(order, answer.get("ord_no"))
        self.reconcile(us=order.us)
        return order

    def cancel(self, order: Order, *, confirm: bool) -> Any:
        with order._changing:  # a second cancel from another thread waits, then sees this one's outcome
            return self._cancel(order, confirm=confirm)

    def _cancel(self, order: Order, *, confirm: bool) -> Any:
        from ..auth._checks import check_flag

        check_flag("confirm", confirm)
        self._check_open(order, "cancel")
        if order.us:
            api_id, body = _us.CANCEL, self._us_body(order)
        else:
            api_id = "kt10003"
            body = {"dmst_stex_tp": VENUE, "orig_ord_no": order.order_no, "stk_cd": order.code, "cncl_qty": "0"}
        try:
            answer = self._send(order, api_id, body, confirm)
        except RequestError:
            self.reconcile(us=order.us)  # Kiwoom refuses to cancel what has filled meanwhile
            if order.status != "filled":
                raise
            answer = None
        if isinstance(answer, str):
            return answer
        self.reconcile(us=order.us)
        if order.status == "filled":
            print(f"order {order.order_no} filled before the cancel reached it: nothing was cancelled", file=sys.stderr)
        return order

    def _check_open(self, order: Order, what: str) -> None:
        if not order.order_no or order.status == UNKNOWN:
            raise KiwoomError(f"cannot {what} an order whose number is not known ({order.status}); "
                              "api.orders() shows what Kiwoom has")
        if order.done:
            raise KiwoomError(f"order {order.order_no} is {order.status}: nothing left to {what} — nothing was sent")

    def _send(self, order: Order, api_id: str, body: dict[str, Any], confirm: bool) -> Any:
        """The answer; the preview line when the guard refused (nothing sent); None when the outcome is unknown."""
        try:
            return self.api.call(api_id, confirm=confirm, **body)
        except OrderNotConfirmed as exc:
            return str(exc)
        except (KiwoomTimeout, NetworkError, ServerError) as exc:
            status = exc.status_code or 0
            if isinstance(exc, ServerError) and status < 500 and (status >= 400 or exc.return_code is not None):
                raise  # refused in words (Kiwoom's code, a firewall's 4xx): not placed; a 200 with no JSON may be
            order.unknown()  # it may have been placed: never re-sent
            print(f"{api_id}: no answer ({type(exc).__name__}); not re-sent — check api.orders()", file=sys.stderr)
            return None

    def _register(self, order: Order, no: Any) -> None:
        key = _key(no, order.us)
        if not key:
            return
        with self._lock:
            self._orders[key] = order
            pending = self._pending.pop(key, [])
        with order._lock:
            order.order_no = str(no).strip()
            order.numbers.append(order.order_no)
        for values in pending:
            order.apply_event(values)

    # -- what moves the orders -------------------------------------------------------------------

    def stream(self) -> Any:
        """An open stream of this client's app key (Kiwoom issues a key for one environment), listening to 00 for
        the book; None without one."""
        from ..live._stream import _streams, _streams_lock

        tokens = self.api.tokens
        with _streams_lock:
            found = [s for s in _streams if not s.closed and s.tokens.app_key == tokens.app_key]  # a key is one env
        for stream in found:
            try:
                with self._hooking:
                    self._hook(stream)
                return stream
            except KiwoomError as exc:
                log.info("kiwoom_nb: orders not following a stream: %s", exc)
        return None

    def _hook(self, stream: Any) -> None:
        if stream not in self._hooked:
            self._hooked.add(stream)
            stream.on("00", self._event)
            stream.__dict__.setdefault("_rejoin_hooks", []).append(self._rejoined)
        if "00" not in stream._watched:
            stream.watch([], "00")

    def _event(self, event: Any) -> None:
        values = dict(event.values)
        key = _key(values.get("9203"))
        with self._lock:
            order = self._orders.get(key)
            if order is None:
                waiting = self._pending.setdefault(key, [])
                if len(waiting) < PENDING:
                    waiting.append(values)
                return
        order.apply_event(values)

    def _rejoined(self) -> None:
        """The stream dropped and logged in again: events may have been missed; re-read the open orders."""
        with self._lock:
            open_ = any(not o.done for o in self._orders.values())
        if open_:
            self.reconcile()

    def follow(self, order: Order, deadline: float) -> None:
        """Until ``order`` is final or ``deadline``: by events while a stream is open (looked at again every second:
        one that closes hands over to polling), else (and on a stream's callback thread) by polling; then kt00007
        once."""
        from ..live._reading import CALLBACKS

        if not order.order_no:
            return
        # a US order's news is in ust21510 only; a callback's wait would hold up the very events it waits for
        by_events = not order.us and threading.current_thread().name != CALLBACKS
        while not order.done and time.monotonic() < deadline:
            stream = self.stream() if by_events else None
            if stream is None:
                self.reconcile(us=order.us)
            pause = STREAM_LOOK if stream is not None else self._interval(_us.STATUS if order.us else "kt00007")
            with order._changed:
                order._changed.wait_for(lambda: order.done, timeout=max(
                    0.0, min(pause, deadline - time.monotonic())))
        self.reconcile(us=order.us)

    def _interval(self, api_id: str) -> float:
        from ..rest._pace import pacer_for

        rate = pacer_for(self.api.tokens.app_key, self.api.mock).rate(api_id, self.api.pace)
        return max(POLL, 1.0 / rate) if rate else POLL

    def reconcile(self, us: bool | None = None) -> list[dict[str, Any]]:
        """Today's orders applied to the objects; the rows. Domestic ones from kt00007 (``us`` False or None), US
        ones from ust21510 (``us`` True, or None while the book holds a US order) in kt00007's names."""
        if not us:
            self.looked[False] = time.monotonic()
        rows = [] if us else self.api.rows("kt00007", qry_tp="1", stk_bond_tp="0", sell_tp="0", dmst_stex_tp=VENUE)
        with self._lock:
            any_us = any(o.us for o in self._orders.values())
        if us or (us is None and any_us):
            self.looked[True] = time.monotonic()
            rows += [_us.row(r) for r in self.api.rows(_us.STATUS, slby_tp="0")]
        by_order: dict[int, tuple[Order, list[dict[str, Any]]]] = {}
        with self._lock:
            for row in rows:
                order = self._orders.get(_key(row.get("ord_no"), bool(row.get("us"))))
                if order is not None:
                    by_order.setdefault(id(order), (order, []))[1].append(row)
        for order, found in by_order.values():
            order.apply_row(_summed(order, found))
        return rows

    # -- listing ---------------------------------------------------------------------------------

    def today(self) -> list[Order]:
        """Every order of today in kt00007, the known objects reused, open ones first (newest first)."""
        rows = self.reconcile()
        seen: dict[int, Order] = {}
        for row in rows:
            key = _key(row.get("ord_no"), bool(row.get("us")))
            with self._lock:
                order = self._orders.get(key)
            if order is None:
                order = _rebuilt(self, row)
                self._register(order, row.get("ord_no"))
                order.apply_row(row)
            seen.setdefault(id(order), order)
        listed = sorted(seen.values(), key=lambda o: -number(o.order_no))
        return [o for o in listed if not o.done] + [o for o in listed if o.done]

    def positions(self, us: bool = False) -> Any:
        """kt00018 as a DataFrame; while a stream of this app key is open, read once and then moved by its 04 events
        (930 quantity, 931 buy price, 10 price) with no further request. ``us``: the US account (ust21070, dollars),
        read on each call (04 is domestic)."""
        if us is not False and us is not True:
            shown = repr(us) if isinstance(us, (str, int, float, type(None))) else f"<a {type(us).__name__}>"
            raise KiwoomError(f"positions(us={shown}): us is True (the US account) or False (domestic) — nothing was sent")
        if us:
            return self.api.frame("ust21070")
        stream = self.stream()
        if stream is None:
            return self.api.frame("kt00018", qry_tp="1", dmst_stex_tp=VENUE)
        with self._lock:
            listening = self.__dict__.get("_held_from") is stream
        if not listening:
            if "04" not in stream._watched:
                stream.watch([], "04")
            frame = self.api.frame("kt00018", qry_tp="1", dmst_stex_tp=VENUE)
            with self._lock:
                self._held, self._held_frame, self._held_from = {}, frame, stream
                stream.on("04", self._balance)
        with self._lock:
            return _moved(self._held_frame, dict(self._held))

    def _balance(self, event: Any) -> None:
        with self._lock:
            if "_held" in self.__dict__:
                self._held[str(event.values.get("9001", event.item)).strip().lstrip("A")] = dict(event.values)


def _moved(frame: Any, held: dict[str, dict[str, Any]]) -> Any:
    """``frame`` (kt00018 rows) with the 04 values of ``held`` (code -> values) in it: quantity, buy price and price
    replaced, a new holding added, one sold out dropped."""
    import pandas as pd

    frame = frame.copy()
    codes = frame["stk_cd"].astype(str).str.lstrip("AQ") if "stk_cd" in frame else pd.Series(dtype=str)
    for code, values in held.items():
        qty, buy, price = number(values.get("930")), number(values.get("931")), number(values.get("10"))
        found = codes == code
        if qty == 0:
            frame, codes = frame[~found], codes[~found]
            continue
        if not found.any():
            row = {"stk_cd": f"A{code}", "stk_nm": values.get("302", ""), "rmnd_qty": qty, "pur_pric": buy,
                   "cur_prc": price}
            frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
            codes = frame["stk_cd"].astype(str).str.lstrip("AQ")
            continue
        for column, value in (("rmnd_qty", qty), ("trde_able_qty", number(values.get("933")) or qty),
                              ("pur_pric", buy), ("cur_prc", price)):
            if column in frame:
                frame.loc[found, column] = value
    return frame.reset_index(drop=True)


def _summed(order: Order, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One row for an order with several numbers (a modify): the fills of all, the state of the latest."""
    if len(rows) == 1:
        return rows[0]
    filled = sum(number(r.get("cntr_qty")) for r in rows)
    amount = sum(number(r.get("cntr_qty")) * price_of(r.get("cntr_uv")) for r in rows)
    latest = max(rows, key=lambda r: number(r.get("ord_no")))
    average = (f"{amount / filled:.4f}" if order.us else str(int(amount) // filled)) if filled else "0"
    return {**latest, "cntr_qty": str(filled), "cntr_uv": average}


def _rebuilt(book: Book, row: dict[str, Any]) -> Order:
    """An order known only from its kt00007 row (placed elsewhere, or before a kernel restart)."""
    side = "sell" if "매도" in str(row.get("io_tp_nm", "")) else "buy"
    price = price_of(row.get("ord_uv")) or None
    order = Order(book, side, str(row.get("stk_cd", "")).strip().lstrip("A"), number(row.get("ord_qty")), price,
                  status="accepted")
    if row.get("us"):
        order.us, order.exchange = True, str(row.get("stex_tp", ""))
    return order
