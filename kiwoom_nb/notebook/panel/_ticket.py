"""The order ticket (kiwoom_nb.ticket(), issue 35): code, side, quantity, price or market; the preview line as you
type; a two-step confirm (주문 → 확인, the destination in red for production); then the live order — status, fills,
modify and cancel; the order followed by itself (a thread) for FOLLOW seconds, so the ticket moves with no stream open.

Owns the widgets only: every request goes through the client's buy / sell / modify / cancel and so through its guard;
the ticket passes confirm=True only from the second click — of 확인 after 주문 with nothing typed between, once per
order; of 정정 / 취소 clicked twice in a row — and a price left at 0 is refused, never taken as market (only the
시장가 box makes a market order). It never holds a key or a token (its state is what is on
screen). No magics.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

__all__ = ["Ticket"]

RED = "#c0392b"
FOLLOW = 600.0  # seconds a ticket follows its order by itself: by 00 events while a stream is open, else by a look
MOST = 10**9  # the most shares (and won) the ticket takes
LOOK = 2.0  # at kt00007 (ust21510) every LOOK seconds, gentle on the rate the notebook's other requests share


class Ticket:
    """``Ticket(api)``: display it (``widget``) in a notebook; ``order`` is the live order once sent."""

    def __init__(self, api: Any, code: str = "", qty: int = 1) -> None:
        import ipywidgets as w

        from ...auth._checks import check_number

        if not isinstance(code, str):
            from ..._errors import KiwoomError

            raise KiwoomError(f"code={code!r}: a code or a name as text, e.g. '005930' or '삼성전자'")
        check_number("qty", qty, minimum=1, integer=True, maximum=MOST)  # never clamped to another quantity
        self.api, self.order = api, None
        self._armed: Any = None  # what 주문 previewed (side, code, qty, market, price): what 확인 sends, or None
        self._arming: Any = ("", 0.0)  # the change clicked once (정정 / 취소), and the 정정가 it showed
        self._clicks = threading.Lock()  # a click from a thread: taking the armed state is one step
        self.code = w.Text(value=code, description="종목", placeholder="005930 or 삼성전자")
        self.side = w.ToggleButtons(options=[("매수 buy", "buy"), ("매도 sell", "sell")], value="buy")
        self.qty = w.BoundedIntText(value=qty, min=1, max=MOST, description="수량")
        self.market = w.Checkbox(value=False, description="시장가 market")
        self.price = w.BoundedFloatText(value=0, min=0, max=MOST, step=0.01, description="가격")  # won, or $ (US)
        self.preview = w.HTML()
        self.send = w.Button(description="주문")
        self.confirm = w.Button(description="확인", layout=w.Layout(display="none"))
        self.status = w.HTML()
        self.modify_price = w.BoundedFloatText(value=0, min=0, max=MOST, step=0.01, description="정정가")
        self.modify = w.Button(description="정정 modify")
        self.cancel = w.Button(description="취소 cancel")
        self.changes = w.HBox([self.modify_price, self.modify, self.cancel], layout=w.Layout(display="none"))
        self.widget = w.VBox([self.code, self.side, self.qty, self.market, self.price, self.preview,
                              w.HBox([self.send, self.confirm]), self.status, self.changes])
        for field in (self.code, self.side, self.qty, self.market, self.price):
            field.observe(self._typed, names="value")
        self.send.on_click(lambda _: self._first())
        self.confirm.on_click(lambda _: self._second())
        self.modify_price.observe(lambda _: self._disarm(), names="value")
        self.modify.on_click(lambda _: self._change("modify"))
        self.cancel.on_click(lambda _: self._change("cancel"))
        self._typed()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- before sending -------------------------------------------------------------------------

    def _typed_now(self) -> tuple[str, str, int, bool, float]:
        return self.side.value, self.code.value.strip(), int(self.qty.value), self.market.value, self.price.value

    def _price(self, market: bool | None = None, value: float | None = None) -> Any:
        """The typed price: None at market, whole won (or dollars) as an int, dollars with cents as a float."""
        market = self.market.value if market is None else market
        value = self.price.value if value is None else value
        if market:
            return None
        if not value:
            from ..._errors import KiwoomError

            raise KiwoomError("가격을 입력하거나 시장가를 고르세요: type a price, or tick 시장가 market — nothing was sent")
        return _typed_price(value)

    def _request(self) -> tuple[str, dict[str, Any]]:
        """The TR and body the order would go as (a US stock to the US TRs), from the client's book."""
        api_id, fields, _ = self.api._book().request(self.side.value, self.code.value.strip(), int(self.qty.value),
                                                     self._price())
        return api_id, fields

    def _typed(self, *_: Any) -> None:
        """The preview line for what is typed now; the confirm step starts again."""
        self.confirm.layout.display = "none"
        self._armed = None
        self.send.disabled = self.order is not None
        if not self.code.value.strip():
            self.preview.value = "<i>종목을 입력하세요 (type a code)</i>"
            return
        if not self.market.value and not self.price.value:  # not typed yet: never taken as market
            what = f"{self.side.value.upper()} {int(self.qty.value)} × {self.code.value.strip()}"
            self.preview.value = html.escape(f"{what}: 가격을 입력하거나 시장가를 고르세요 (type a price, or tick market)")
            return
        try:
            api_id, fields = self._request()
            line = self.api.preview(api_id, **fields)
        except Exception as exc:  # noqa: BLE001 - one line on the ticket, whatever the input
            line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.preview.value = html.escape(line.replace("not sent: ", "", 1).split(" — ")[0])  # what, and where

    def _destination(self) -> str:
        from ...auth._client import is_mock_destination

        base = self.api._route(self.api.mock)[0]
        return "mock" if self.api.mock and is_mock_destination(base) else "production"

    def _first(self) -> None:
        if self.order is not None:  # a click queued before the button was disabled
            return
        self._armed = self._typed_now()  # 확인 sends this, what the preview shows, whatever a thread types after
        where = self._destination()
        colour = RED if where == "production" else "inherit"
        self.confirm.description = f"확인 → {where}"
        self.confirm.style.button_color = RED if where == "production" else None
        self.confirm.layout.display = ""
        self.status.value = f'<span style="color:{colour}">{html.escape(where)}: 확인을 누르면 보냅니다</span>'

    # -- sending, then the live order ------------------------------------------------------------

    def _second(self) -> None:
        self.confirm.layout.display = "none"
        with self._clicks:
            armed, self._armed = self._armed, None
            if armed is None or self.order is not None:  # a double-click's second click, or no 주문 since typing
                return
        side, code, qty, market, price = armed
        placing = self.api.buy if side == "buy" else self.api.sell
        try:
            order = placing(code, qty, self._price(market, price), confirm=True)
        except Exception as exc:  # noqa: BLE001 - the refusal, in one line, on the ticket
            self.status.value = html.escape(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        self.order = order
        self.send.disabled = True
        for field in (self.code, self.side, self.qty, self.market, self.price):
            field.disabled = True
        self.changes.layout.display = ""
        order.on(lambda _: self._show())
        self._show()
        self._follow()

    def _follow(self) -> None:
        """The order followed in a thread (one at a time) until final or FOLLOW seconds, so that the ticket shows its
        fills with no stream open too; a failure shows in one line (a failed look is tried again LOOK s later)."""
        from ..._errors import KiwoomTimeout, NetworkError, ServerError

        if self.__dict__.get("_follower") is not None and self._follower.is_alive():
            return
        order, book = self.order, self.api._book()

        def look() -> None:
            """One look at today's orders (a failed one said in one line, and looked again), unless another ticket's
            look came within LOOK seconds: one kt00007 answers for every order of the client."""
            if time.monotonic() - book.looked.get(order.us, -LOOK) < LOOK:
                return
            try:
                order.wait(timeout=0)
            except (KiwoomTimeout, NetworkError, ServerError) as exc:  # a 5xx, a page that is not JSON, no answer
                self.status.value = html.escape(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

        def run() -> None:
            end = time.monotonic() + FOLLOW
            try:
                while not order.done and order.order_no and time.monotonic() < end:  # no number: nothing to look up
                    if order.us or book.stream() is None:  # while a stream is open, the 00 events move it
                        look()
                    with order._changed:
                        order._changed.wait_for(lambda: order.done, timeout=LOOK)
                if order.order_no:
                    order.wait(timeout=0)  # once at the end, so nothing depends on an event that never came
            except Exception as exc:  # noqa: BLE001 - one line on the ticket, from a thread: a closed client
                self.status.value = html.escape(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

        self._follower = threading.Thread(target=run, name="kiwoom-ticket", daemon=True)
        self._follower.start()

    def _show(self) -> None:
        o = self.order
        fills = o.fills
        shown = "${:,.2f}" if o.us else "{:,.0f}"
        rows = "".join(f"<tr><td>{r.time or ''}</td><td>{r.qty:,}</td><td>{shown.format(r.price)}</td></tr>"
                       for r in fills.itertuples())
        self.status.value = (f"<b>{html.escape(o.order_no or '-')}</b> {html.escape(o.status)} — filled "
                             f"{o.filled:,} of {o.qty:,}" + (f" @ {shown.format(o.avg_price)}" if o.filled else "") +
                             (f"<table><tr><th>시간</th><th>수량</th><th>가격</th></tr>{rows}</table>" if rows else ""))
        if o.done:
            self.modify.disabled = self.cancel.disabled = True

    def _disarm(self) -> None:
        self._arming = ("", 0.0)
        self.modify.description, self.cancel.description = "정정 modify", "취소 cancel"

    def _change(self, what: str) -> None:
        """The first click asks (the destination, red for production); the second click of the same button sends."""
        with self._clicks:
            (asked, price), typed = self._arming, self.modify_price.value
            asked = asked == what
            self._disarm()
            if not asked:
                self._arming = what, typed  # the second click sends this price, whatever a thread types after
        if not asked:
            where = self._destination()
            button = self.modify if what == "modify" else self.cancel
            button.description = f"{button.description.split()[0]} 확인 → {where}"
            colour = RED if where == "production" else "inherit"
            to = f" → {typed:,.2f}".rstrip("0").rstrip(".") if what == "modify" else ""
            self.status.value = (f'<span style="color:{colour}">{html.escape(where)}: {what}{to} — 한 번 더 누르면 '
                                 "보냅니다 (click again to send)</span>")
            return
        try:
            if what == "cancel":
                self.order.cancel(confirm=True)
            else:
                self.order.modify(price=_typed_price(price), confirm=True)
        except Exception as exc:  # noqa: BLE001 - one line on the ticket
            self.status.value = html.escape(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        self._show()
        self._follow()  # a modified order is followed again (the follower may have stopped)


def _typed_price(value: float) -> Any:
    """A price widget's float as the order takes it: 150000.0 -> 150000 (won), 185.2 -> 185.2 (dollars)."""
    return int(value) if float(value).is_integer() else round(float(value), 4)
