"""Live boards of a Stream as ipywidgets: a ticker board (0B), an order-book ladder (0D), an order feed (00 / 04) and
a condition's hits (02). The stream's callback thread only records events; a timer thread renders at most ``rate``
times a second into one HTML value, sent only when it changed. Never touches the socket's reading path.
"""

from __future__ import annotations

import html
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

import ipywidgets as widgets

from ._lines import kernel_restarted

if TYPE_CHECKING:  # annotations only: _stream imports this module to display a stream
    from ._stream import Event, Stream

__all__ = ["Board", "Conditions", "Ladder", "Orders", "board_for"]

UP, DOWN = "#d60000", "#0051c7"  # the Korean way: red up, blue down
ASK_TINT, BID_TINT = "#eef4ff", "#fff0f0"  # the order book's sides as in 영웅문: asks (매도) blue, bids (매수) red
KICKED = "다른 프로그램이 스트림을 가져갔습니다 — another program took the stream (R10001)"
STYLE = ("<style>.kiwoom-board table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
         ".kiwoom-board td,.kiwoom-board th{padding:2px 8px;text-align:right}"
         ".kiwoom-board .kiwoom-stale{opacity:.45}.kiwoom-board .kiwoom-in{background:#ffe3e3}"
         ".kiwoom-board .kiwoom-out{background:#e3ecff;text-decoration:line-through}"
         ".kiwoom-board.jupyter-widgets-disconnected:not(:has(.kiwoom-ended)) .kiwoom-gone{display:block;color:#b00020}"
         ".kiwoom-board .kiwoom-gone{display:none}"
         ".kiwoom-board.jupyter-widgets-disconnected:not(:has(.kiwoom-ended)) .kiwoom-status{display:none}</style>")


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
    if number[:1] in "+-":  # +-0.34: the direction, then the value's own sign (kiwoom_nb._frame): -0.34 %
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


class _Live(widgets.VBox):
    """What every board shares: events in, a throttled render out, the status line, Stop, and going inert."""

    kinds: tuple[str, ...] = ()
    title = ""

    def __init__(self, stream: Stream, *, rate: float = 4.0, own: bool = False,
                 name_of: Callable[[str], str] | None = None) -> None:
        self.stream, self.rate, self._own, self._name_of = stream, max(float(rate), 0.1), own, name_of
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._ended = ""  # why the board stopped (Stop, logout, the kernel), shown instead of the stream's state
        self._quit = threading.Event()
        self._view = widgets.HTML("")
        self._stop = widgets.Button(description="정지 Stop", icon="stop", layout={"width": "max-content"})
        self._stop.on_click(self._on_stop_click)
        super().__init__(children=[self._view, self._stop])
        self.add_class("kiwoom-board")
        self.start()
        for kind in self.kinds:
            stream.on(kind, self._on_event)
        self._refresh()
        threading.Thread(target=self._run, name="kiwoom-board", daemon=True).start()

    def start(self) -> None:
        """Take what the stream already holds."""

    def take(self, event: Event) -> None:
        raise NotImplementedError

    def body(self) -> str:
        raise NotImplementedError

    def codes(self) -> list[str]:
        """The codes shown, to name."""
        return []

    # -- the stream's callback thread: record only ------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if self._quit.is_set():
            return
        with self._lock:
            self.take(event)

    # -- the timer thread: at most ``rate`` sends a second, only when the content changed ----------

    def _run(self) -> None:
        while not self._quit.wait(1.0 / self.rate):
            self._refresh()
            if self.stream.closed or self.stream._socket.stopped:  # nothing more will come: the last state stays
                return

    def status_line(self) -> str:
        if self._ended:
            return self._ended
        status = self.stream.status
        why = status.why or ""
        if status.state == "stopped" and "R10001" in why:
            head = KICKED
        elif status.state == "stopped":
            head = f"stopped ({why or 'closed'})"
        else:
            head = status.state
        return f"{head} — {status.received:,} event{'' if status.received == 1 else 's'} received"

    def _refresh(self) -> None:
        with self._lock:
            codes = [c for c in self.codes() if c not in self._names]
        for code in codes[:1]:  # one a refresh, outside the lock: ka10001 calls hold up neither events nor rows
            self._names[code] = self._look_up(code)
        with self._lock:
            if self._quit.is_set() and not self._ended:
                return
            body = self.body()
        self._publish(body, self.status_line())

    def _publish(self, body: str, line: str) -> None:
        # the browser drops the comms before a restart it asked for (Kernel menu): then CSS shows the hidden line
        ended = " kiwoom-ended" if self._ended else ""
        value = (f'{STYLE}<div class="kiwoom-title"><b>{html.escape(self.title)}</b></div>'
                 f'<div class="kiwoom-gone">{html.escape(kernel_restarted())}</div>'
                 f'<div class="kiwoom-status{ended}">{html.escape(line)}</div>{body}')
        if value != self._view.value:  # an equal value sends nothing anyway; this says so
            self._view.value = value

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = f"{self.title}: {self.status_line()}"  # what a frontend without widgets shows
        return bundle

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
        return {event.item: (event, -1) for event in latest}

    def fresh(self, event: "Event") -> tuple["Event", int]:
        """``event`` with the connection it came on (rows from before a reconnect are stale)."""
        return event, self.stream._socket.reconnects

    def ordered(self, items: Any, kind: str) -> list[str]:
        """``items`` (rows of ``kind``) in the order the user watched them."""
        return _in_order(items, dict(getattr(self.stream, "_typed", {}).get(kind, {})))

    def stale(self, reconnects: int) -> bool:
        socket = self.stream._socket
        return socket.state != "connected" or reconnects < socket.reconnects

    # -- stopping ------------------------------------------------------------------------------------

    def _on_stop_click(self, _button: Any = None) -> None:
        self.stop("stopped (Stop pressed)")
        try:
            self.stream.close() if self._own else self._unwatch()
        except Exception as exc:  # noqa: BLE001 - the line says it; a handler must not raise
            self._end(f"stopped (Stop pressed; closing the stream: {type(exc).__name__})")

    def _unwatch(self) -> None:
        for kind in self.kinds:
            items = sorted(self.stream._watched.get(kind, ()))
            if items:  # what it watched as registered ("" for a whole market too): not re-checked as user input
                self.stream._unwatch(items, kind)

    def stop(self, line: str) -> None:
        """No more updates; the board shows its last rows and ``line``, and the stream no longer calls it."""
        self._quit.set()
        for kind in self.kinds:
            self.stream.off(kind, self._on_event)
        self._stop.disabled = True
        self._end(line)

    def close(self) -> None:
        """The widget is closed (by the frontend, or a new run of its %kiwoom_watch cell): its timer stops, the stream
        no longer calls it, and a stream it opened itself is closed."""
        self._quit.set()
        for kind in self.kinds:
            self.stream.off(kind, self._on_event)
        if self._own and not self.stream.closed:
            try:
                self.stream.close()
            except Exception:  # noqa: BLE001 - closing a widget must not raise
                pass
        super().close()

    def _end(self, line: str) -> None:
        with self._lock:
            self._ended = line
            body = self.body()
        self._publish(body, line)

    # the login panel's registry calls these (kiwoom_nb._panel_registry)
    def show_logged_in(self, line: str) -> None:
        pass

    def show_logged_out(self, line: str) -> None:
        self.stop(line)

    def show_closed(self, line: str) -> None:
        self.stop(line)


class Board(_Live):
    """One row per item: 종목명, price (red up, blue down), change, change %, cumulative volume, last trade time."""

    kinds = ("0B",)
    title = "실시간 시세 — live board (0B)"

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


class Ladder(_Live):
    """An order book: 10 ask levels over 10 bid levels, quantities as bars."""

    kinds = ("0D",)
    title = "호가 — order book (0D)"

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


def _int(text: Any) -> int:
    try:
        return abs(int(str(text or "0").strip()))
    except ValueError:
        return 0


class Orders(_Live):
    """Order fills (00) and balance changes (04) of the account, newest on top, the last ``keep``."""

    kinds = ("00", "04")
    title = "주문체결·잔고 — orders (00) and balance (04)"
    keep = 50

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
            what = (f"{v.get('913', '')} {v.get('905', '')} {_number(v.get('900'))}주 @ {_number(v.get('901'))}"
                    if e.type == "00" else f"보유 {_number(v.get('930'))}주 매입가 {_number(v.get('931'))}")
            rows.append(f'<tr class="kiwoom-{e.type}"><td>{_clock(v.get("908", ""))}</td><td>{e.type}</td>'
                        f'<td style="text-align:left">{html.escape(v.get("302", "") or self.name(e.item))} '
                        f"{html.escape(e.item)}</td><td style='text-align:left'>{html.escape(what)}</td></tr>")
        return "<table><tr><th>시간</th><th>type</th><th>종목</th><th>내용</th></tr>" + "".join(rows) + "</table>"


class Conditions(_Live):
    """A condition's current hits; entries (I) and exits (D) highlighted as they happen."""

    kinds = ("02",)

    def __init__(self, stream: Stream, seq: str, hits: list[str], **kwargs: Any) -> None:
        self.seq, self.title = str(seq), f"조건검색 {seq} — condition hits (02)"
        self._hits = {code: "" for code in hits}
        super().__init__(stream, **kwargs)

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


def board_for(stream: Stream, **kwargs: Any) -> _Live:
    """The board for what ``stream`` watches: 0B, else 0D, else orders."""
    watched = set(stream._watched)
    if "0B" in watched or not watched:
        return Board(stream, **kwargs)
    if "0D" in watched:
        return Ladder(stream, **kwargs)
    return Orders(stream, **kwargs)
