"""The data side of live boards: what a ticker board (0B), an order-book ladder (0D), an order feed (00 / 04), the
positions (kt00018 moved by 04) and a condition's hits (02) show, computed from a Stream's events as HTML rows, with the status line and the names.

No widgets, no IPython: the widgets are kiwoom_nb.notebook._board's, which inherit these rows and render them on a
timer. ``take`` runs on the stream's callback thread under the widget's lock and only records.
"""

from __future__ import annotations

import html
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._stream import Event

__all__ = ["ConditionRows", "DOWN", "KICKED", "LadderRows", "OrderRows", "PositionRows", "Rows", "TickerRows", "UP",
           "direction"]

UP, DOWN = "#d60000", "#0051c7"  # the Korean way: red up, blue down
ASK_TINT, BID_TINT = "#eef4ff", "#fff0f0"  # the order book's sides as in 영웅문: asks (매도) blue, bids (매수) red
KICKED = "다른 프로그램이 스트림을 가져갔습니다 — another program took the stream (R10001)"


def direction(values: dict[str, str], fid: str = "10") -> int:
    """+1 up, -1 down, 0 flat against the previous close: 25 (전일대비기호) when sent, else the price's sign
    (Kiwoom's sign is the direction, not arithmetic)."""
    sig = str(values.get("25", "")).strip()
    if sig in ("1", "2"):
        return 1
    if sig in ("4", "5"):
        return -1
    if sig == "3":
        return 0
    text = str(values.get(fid, "")).strip()
    return 1 if text.startswith("+") else -1 if text.startswith("-") else 0


def _number(text: Any) -> str:
    text = str(text or "").strip().lstrip("+-")
    try:
        return f"{int(text):,}"
    except ValueError:
        return html.escape(text)


def _rate(text: Any, way: int) -> str:
    """등락률 with its sign, as a Korean trader reads it: ``+2.04 %``, ``−5.32 %`` (a true minus), ``0.00 %``. The
    sign Kiwoom sent wins; without one, the direction's."""
    text = str(text or "").strip()
    sign = text[:1] if text[:1] in "+-" else "+" if way > 0 else "-" if way < 0 else ""
    number = text[1:] if text[:1] in "+-" else text
    if number[:1] in "+-":  # +-0.34: the direction, then the value's own sign (kiwoom_nb.rest._frame): -0.34 %
        sign, number = number[:1], number[1:]
    if not number or number.strip("0.") == "":
        sign = ""
    return f"{ {'+': '+', '-': '−'}.get(sign, '')}{html.escape(number)} %"


def _in_order(items: Any, typed: dict[str, None]) -> list[str]:
    """``items`` in the order they were watched (the user's order); others after them, as they came."""
    place = {code: n for n, code in enumerate(typed)}
    return sorted(items, key=lambda item: place.get(item, place.get(item[:6], len(place))))


def _clock(text: Any) -> str:
    text = str(text or "").strip()
    return f"{text[:2]}:{text[2:4]}:{text[4:6]}" if len(text) == 6 and text.isdigit() else html.escape(text)


def _coloured(text: str, way: int) -> str:
    colour = UP if way > 0 else DOWN if way < 0 else "inherit"
    name = "up" if way > 0 else "down" if way < 0 else "flat"
    return f'<span class="kiwoom-{name}" style="color:{colour}">{text}</span>'


def _int(text: Any) -> int:
    try:
        return abs(int(str(text or "0").strip()))
    except ValueError:
        return 0


class Rows:
    """What every board computes: the rows of its ``kinds`` from ``stream``, names (``_names``, ``_name_of``), the
    status line. The widget sets ``stream``, ``_names`` and ``_name_of`` before ``start``."""

    kinds: tuple[str, ...] = ()
    title = ""

    def start(self) -> None:
        """Take what the stream already holds."""

    def take(self, event: Event) -> None:
        raise NotImplementedError

    def body(self) -> str:
        raise NotImplementedError

    def codes(self) -> list[str]:
        """The codes shown, to name."""
        return []

    def status_line(self) -> str:
        status = self.stream.status
        why = status.why or ""
        if status.state == "stopped" and "R10001" in why:
            head = KICKED
        elif status.state == "stopped":
            head = f"stopped ({why or 'closed'})"
        else:
            head = status.state
        return f"{head} — {status.received:,} event{'' if status.received == 1 else 's'} received"

    def name(self, code: str) -> str:
        return self._names.get(code[:6], code)

    def _look_up(self, code: str) -> str:
        """종목명 from the codes cache or ka10001 (once per item, on the timer thread), else the code."""
        try:
            return (self._name_of(code[:6]) if self._name_of is not None else "") or code
        except Exception:  # noqa: BLE001 - a name is never worth breaking the board
            return code

    def latest(self, kind: str) -> dict[str, tuple["Event", int]]:
        """What the stream already holds of ``kind``, one event per item, stale until a tick arrives."""
        with self.stream._lock:
            latest = list(self.stream._latest.get(kind, {}).values())
        from ._reading import Event

        return {row[1]: (Event(*row), -1) for row in latest}

    def fresh(self, event: "Event") -> tuple["Event", int]:
        """``event`` with the connection it came on (rows from before a reconnect are stale)."""
        return event, self.stream._socket.reconnects

    def ordered(self, items: Any, kind: str) -> list[str]:
        """``items`` (rows of ``kind``) in the order the user watched them."""
        return _in_order(items, dict(getattr(self.stream, "_typed", {}).get(kind, {})))

    def stale(self, reconnects: int) -> bool:
        socket = self.stream._socket
        return socket.state != "connected" or reconnects < socket.reconnects


class TickerRows(Rows):
    def start(self) -> None:
        self._rows = self.latest("0B")

    def take(self, event: Event) -> None:
        self._rows[event.item] = self.fresh(event)

    def codes(self) -> list[str]:
        return [item[:6] for item in self._rows]

    def body(self) -> str:
        rows = []
        for item in self.ordered(self._rows, "0B"):
            event, epoch = self._rows[item]
            v, way = event.values, direction(event.values)
            stale = ' class="kiwoom-stale" title="stale: no tick since the reconnect"' if self.stale(epoch) else ""
            rows.append(
                f'<tr data-item="{html.escape(item)}"{stale}><td style="text-align:left">'
                f"{html.escape(self.name(item))}</td><td>{html.escape(item)}</td>"
                f'<td class="kiwoom-price">{_coloured(_number(v.get("10")), way)}</td>'
                f'<td>{_coloured(("▲ " if way > 0 else "▼ " if way < 0 else "") + _number(v.get("11")), way)}</td>'
                f'<td class="kiwoom-rate">{_coloured(_rate(v.get("12"), way), way)}</td>'
                f'<td>{_number(v.get("13"))}</td><td>{_clock(v.get("20"))}</td></tr>')
        head = ("<tr><th>종목명</th><th>코드</th><th>현재가</th><th>전일대비</th><th>등락률</th><th>누적거래량</th>"
                "<th>체결시간</th></tr>")
        return f"<table>{head}{''.join(rows)}</table>"


class LadderRows(Rows):
    def start(self) -> None:
        self._books = self.latest("0D")

    def take(self, event: Event) -> None:
        self._books[event.item] = self.fresh(event)

    def codes(self) -> list[str]:
        return [item[:6] for item in self._books]

    def body(self) -> str:
        return "".join(self._book(*self._books[item]) for item in self.ordered(self._books, "0D")) or "<table></table>"

    def _book(self, event: Event, epoch: int) -> str:
        values = event.values
        stale = ' class="kiwoom-stale"' if self.stale(epoch) else ""
        asks = [(str(40 + n), str(60 + n)) for n in range(10, 0, -1)]  # level 10 on top, level 1 at the spread
        bids = [(str(50 + n), str(70 + n)) for n in range(1, 11)]
        most = max([_int(values.get(q)) for _, q in asks + bids] + [1])
        rows = []
        # 영웅문's colours: the ask side (매도) blue, the bid side (매수) red; the prices keep red up / blue down
        for side, levels, colour, tint in (("ask", asks, DOWN, ASK_TINT), ("bid", bids, UP, BID_TINT)):
            for price, qty in levels:
                width = 100 * _int(values.get(qty)) / most
                grow = ";margin-left:auto" if side == "ask" else ""  # both sides' bars grow out from the price
                bar = f'<div style="background:{colour};opacity:.35;height:1em;width:{width:.0f}%{grow}"></div>'
                number = f'<td style="background:{tint};color:{colour}">{_number(values.get(qty))}</td>'
                bar = f"<td style='width:10em;background:{tint}'>{bar}</td>"
                shown = f'<td class="kiwoom-level">{_coloured(_number(values.get(price)), direction(values, price))}</td>'
                cells = f"{number}{bar}{shown}<td></td><td></td>" if side == "ask" else \
                    f"<td></td><td></td>{shown}{bar}{number}"  # the bid side mirrors the ask side
                rows.append(f'<tr class="kiwoom-{side}">{cells}</tr>')
        caption = f"<caption>{html.escape(self.name(event.item))} {html.escape(event.item)}</caption>"
        head = ('<tr class="kiwoom-head"><th colspan="2" style="text-align:center">매도잔량</th>'
                '<th style="text-align:center">호가</th><th colspan="2" style="text-align:center">매수잔량</th></tr>')
        return f"<table{stale}>{caption}{head}{''.join(rows)}</table>"


class OrderRows(Rows):
    def start(self) -> None:
        self._feed: deque[Event] = deque(maxlen=self.keep)

    def take(self, event: Event) -> None:
        self._feed.appendleft(event)

    def codes(self) -> list[str]:
        return [e.item[:6] for e in self._feed if not e.values.get("302")]

    def body(self) -> str:
        rows = []
        for e in self._feed:
            v = e.values
            # a fill shows what filled (915/911 at 914/910); 900 @ 901 is the order, 시장가 for a market one (901 0)
            filled = str(v.get("915") or v.get("911") or "").strip().lstrip("+-0")
            qty, price = ((v.get("915") or v.get("911"), v.get("914") or v.get("910")) if filled
                          else (v.get("900"), v.get("901")))
            at = f"@ {_number(price)}" if filled or _whole(price) else "시장가"
            what = (f"{v.get('913', '')} {v.get('905', '')} {_number(qty)}주 {at}"
                    if e.type == "00" else f"보유 {_number(v.get('930'))}주 매입가 {_number(v.get('931'))}")
            rows.append(f'<tr class="kiwoom-{e.type}"><td>{_clock(v.get("908", ""))}</td><td>{e.type}</td>'
                        f'<td style="text-align:left">{html.escape(v.get("302", "") or self.name(e.item))} '
                        f"{html.escape(e.item)}</td><td style='text-align:left'>{html.escape(what)}</td></tr>")
        return "<table><tr><th>시간</th><th>type</th><th>종목</th><th>내용</th></tr>" + "".join(rows) + "</table>"


def _whole(text: Any) -> int:
    try:
        return abs(int(float(str(text or "").strip().replace(",", "") or 0)))
    except ValueError:
        return 0


class PositionRows(Rows):
    """The holdings: kt00018's rows (``self.held_rows``, read after 04 was registered) moved by each 04 (잔고) event:
    930 quantity, 931 buy price, 10 price; a holding sold out leaves, a new one joins."""

    def start(self) -> None:
        self._held: dict[str, dict[str, Any]] = {}
        for row in self.held_rows:
            code = str(row.get("stk_cd", "")).strip().lstrip("AQ")
            if code and _whole(row.get("rmnd_qty")):
                self._held[code] = {"name": str(row.get("stk_nm", "")).strip(), "qty": _whole(row.get("rmnd_qty")),
                                    "buy": _whole(row.get("pur_pric")), "price": _whole(row.get("cur_prc"))}

    def take(self, event: Event) -> None:
        if event.type != "04":
            return
        v = event.values
        code = str(v.get("9001", event.item)).strip().lstrip("AQ")
        qty = _whole(v.get("930"))
        if not qty:
            self._held.pop(code, None)
            return
        was = self._held.get(code, {})
        self._held[code] = {"name": str(v.get("302", "")).strip() or was.get("name", ""), "qty": qty,
                            "buy": _whole(v.get("931")) or was.get("buy", 0),
                            "price": _whole(v.get("10")) or was.get("price", 0)}

    def codes(self) -> list[str]:
        return [code for code, h in self._held.items() if not h["name"]]

    def body(self) -> str:
        rows = []
        for code, h in self._held.items():
            gain = (h["price"] - h["buy"]) * h["qty"] if h["price"] and h["buy"] else 0
            colour = UP if gain > 0 else DOWN if gain < 0 else "inherit"
            rows.append(f'<tr class="kiwoom-held"><td style="text-align:left">{html.escape(h["name"] or self.name(code))}'
                        f'</td><td>{html.escape(code)}</td><td>{h["qty"]:,}</td><td>{h["buy"]:,}</td>'
                        f'<td>{h["price"]:,}</td><td style="color:{colour}">{gain:+,}</td></tr>')
        return ("<table><tr><th>종목명</th><th>코드</th><th>보유</th><th>매입가</th><th>현재가</th><th>평가손익</th></tr>"
                + "".join(rows) + "</table>")


class ConditionRows(Rows):
    def take(self, event: Event) -> None:
        if str(event.values.get("841", "")).strip() != self.seq:
            return
        code = event.item.lstrip("AJQ")
        self._hits[code] = "in" if event.values.get("843") == "I" else "out"

    def codes(self) -> list[str]:
        return list(self._hits)

    def body(self) -> str:
        said = {"in": "편입 in", "out": "이탈 out"}
        rows = "".join(f'<tr class="kiwoom-{how or "hit"}"><td style="text-align:left">{html.escape(self.name(code))}'
                       f"</td><td>{html.escape(code)}</td><td>{said.get(how, '')}</td></tr>"
                       for code, how in self._hits.items())
        return f"<table><tr><th>종목명</th><th>코드</th><th></th></tr>{rows}</table>"
