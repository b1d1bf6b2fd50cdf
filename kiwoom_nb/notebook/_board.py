"""Live boards of a Stream as ipywidgets: a ticker board (0B), an order-book ladder (0D), an order feed (00 / 04) and
a condition's hits (02). What each shows is its rows' (kiwoom_nb.live._boards, no widgets); here the widget: the
stream's callback thread only records events, a timer thread renders at most ``rate`` times a second into one HTML
value, sent only when it changed, and Stop. Never touches the socket's reading path.
"""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any, Callable

import ipywidgets as widgets

from ..auth._lines import kernel_restarted
from ..live._boards import (  # DOWN, KICKED, UP, direction: the boards' look, named here too
    DOWN, KICKED, UP, ConditionRows, LadderRows, OrderRows, PositionRows, Rows, TickerRows, direction,
)

if TYPE_CHECKING:  # annotations only
    from ..live._stream import Event, Stream

__all__ = ["Board", "Conditions", "DOWN", "KICKED", "Ladder", "Orders", "Positions", "UP", "board_for", "direction"]

STYLE = ("<style>.kiwoom-board table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
         ".kiwoom-board td,.kiwoom-board th{padding:2px 8px;text-align:right}"
         ".kiwoom-board .kiwoom-stale{opacity:.45}.kiwoom-board .kiwoom-in{background:#ffe3e3}"
         ".kiwoom-board .kiwoom-out{background:#e3ecff;text-decoration:line-through}"
         ".kiwoom-board.jupyter-widgets-disconnected:not(:has(.kiwoom-ended)) .kiwoom-gone{display:block;color:#b00020}"
         ".kiwoom-board .kiwoom-gone{display:none}"
         ".kiwoom-board.jupyter-widgets-disconnected:not(:has(.kiwoom-ended)) .kiwoom-status{display:none}</style>")


class _Live(Rows, widgets.VBox):
    """What every board's widget shares: events in, a throttled render out, Stop, and going inert; what it shows is
    its rows' (kiwoom_nb.live._boards)."""

    def __init__(self, stream: Stream, *, rate: float = 4.0, own: bool = False,
                 name_of: Callable[[str], str] | None = None) -> None:
        from ..auth._checks import MAX_RATE, check_number

        check_number("rate", rate, maximum=MAX_RATE)  # updates a second; under 0.1 is taken as 0.1
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

    def status_line(self) -> str:
        return self._ended or super().status_line()

    def _end(self, line: str) -> None:
        with self._lock:
            self._ended = line
            body = self.body()
        self._publish(body, line)

    # the login panel's registry calls these (kiwoom_nb.notebook.panel._panel_registry)
    def show_logged_in(self, line: str) -> None:
        pass

    def show_logged_out(self, line: str) -> None:
        self.stop(line)

    def show_closed(self, line: str) -> None:
        self.stop(line)


class Board(TickerRows, _Live):
    """One row per item: 종목명, price (red up, blue down), change, change %, cumulative volume, last trade time."""

    kinds = ("0B",)
    title = "실시간 시세 — live board (0B)"


class Ladder(LadderRows, _Live):
    """An order book: 10 ask levels over 10 bid levels, quantities as bars."""

    kinds = ("0D",)
    title = "호가 — order book (0D)"


class Orders(OrderRows, _Live):
    """Order fills (00) and balance changes (04) of the account, newest on top, the last ``keep``."""

    kinds = ("00", "04")
    title = "주문체결·잔고 — orders (00) and balance (04)"
    keep = 50


class Positions(PositionRows, _Live):
    """The holdings (kt00018, read once) kept current by the 04 (잔고) events: quantity, buy price, price, P&L."""

    kinds = ("04",)
    title = "잔고 — positions (kt00018 + 04)"

    def __init__(self, stream: Stream, held_rows: list[dict[str, Any]], **kwargs: Any) -> None:
        self.held_rows = list(held_rows)
        super().__init__(stream, **kwargs)


class Conditions(ConditionRows, _Live):
    """A condition's current hits; entries (I) and exits (D) highlighted as they happen."""

    kinds = ("02",)

    def __init__(self, stream: Stream, seq: str, hits: list[str], **kwargs: Any) -> None:
        self.seq, self.title = str(seq), f"조건검색 {seq} — condition hits (02)"
        self._hits = {code: "" for code in hits}
        super().__init__(stream, **kwargs)


def board_for(stream: Stream, **kwargs: Any) -> _Live:
    """The board for what ``stream`` watches: 0B, else 0D, else orders."""
    watched = set(stream._watched)
    if "0B" in watched or not watched:
        return Board(stream, **kwargs)
    if "0D" in watched:
        return Ladder(stream, **kwargs)
    return Orders(stream, **kwargs)
