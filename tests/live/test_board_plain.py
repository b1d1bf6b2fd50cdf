"""Live boards (kiwoom_nb.notebook._board) on a Stream against the fake, in plain Python: what the rendered HTML shows and
what the server received. No sleeps: every wait is for a condition, with a deadline."""

from __future__ import annotations

import re

import pytest

from kiwoom_nb.notebook._board import DOWN, KICKED, UP, Board, Conditions, Ladder, direction
from kiwoom_nb.live._stream import Stream
from support import CANARY, wait_for

pytest.importorskip("ipywidgets")
STALE = 'class="kiwoom-stale"'


@pytest.fixture
def live(fake):
    stream = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
    yield stream
    stream.close()


def price_cells(board) -> list[tuple[str, str]]:
    """(colour, text) of each row's price."""
    return re.findall(r'class="kiwoom-price"><span class="kiwoom-\w+" style="color:([^"]+)">([^<]*)<',
                      board._view.value)


def test_the_price_colour_follows_the_direction_not_the_numbers_sign():
    assert direction({"10": "+70000", "25": "5"}) == -1  # 25 says down: blue, whatever the sign
    assert direction({"10": "-70000", "25": "2"}) == 1
    assert direction({"10": "+70000"}) == 1 and direction({"10": "-70000"}) == -1 and direction({"10": "70000"}) == 0


def test_a_row_per_item_coloured_by_direction_and_stop_sends_remove(fake, live):
    fake.clock.set("2026-12-01 15:20")  # still open: 005930 below its previous close, 000660 above
    fake.ws.rate = 200
    live.watch(["005930", "000660"], "0B")
    board = Board(live, rate=20, name_of={"005930": "삼성전자"}.get)
    try:
        wait_for(lambda: len(price_cells(board)) == 2, 10, "two rows")
        wait_for(lambda: "삼성전자" in board._view.value, 5, "the name (one looked up a refresh)")
        assert "000660" in board._view.value
        assert "connected" in board._view.value and "events received" in board._view.value
        wait_for(lambda: {c for c, _ in price_cells(board)} >= {UP, DOWN}, 30, "one price up and one down")
        assert board._repr_mimebundle_()["text/plain"].startswith("실시간 시세 — live board (0B): connected — ")
        board._on_stop_click()
        assert fake.ws.received("REMOVE")
        still = board._view.value
        assert "Stop pressed" in still
        board._refresh()
        assert board._view.value == still
    finally:
        board.stop("test over")


def test_an_owned_board_closes_its_stream_on_stop(fake, live):
    live.watch(["005930"], "0B")
    board = Board(live, rate=20, own=True)
    board._on_stop_click()
    wait_for(lambda: fake.ws.closes, 5, "the close")
    assert live.closed


def test_rows_go_stale_after_a_reconnect_until_a_fresh_tick(fake, live):
    fake.ws.rate = 0.001  # no ticks of its own: only burst() sends
    live.watch(["005930"], "0B")
    board = Board(live, rate=20)
    try:
        wait_for(lambda: fake.ws.live() and fake.ws.live()[-1].regs.get("0B"), 5, "the REG")
        fake.ws.burst(1, ["005930"])
        # a tick the fake sent at its old rate before the board opened shows stale (held before it) until this one
        wait_for(lambda: price_cells(board) and STALE not in board._view.value, 5, "a fresh row")
        fake.ws.drop()
        wait_for(lambda: live._socket.reconnects == 1 and live._socket.state == "connected", 15, "the reconnect")
        board._refresh()
        assert STALE in board._view.value
        wait_for(lambda: [c for c in fake.ws.live() if c.regs.get("0B")], 5, "the REG again")
        fake.ws.burst(1, ["005930"])
        wait_for(lambda: STALE not in board._view.value, 5, "the fresh tick")
    finally:
        board.stop("test over")


def test_after_r10001_the_board_says_another_program_took_the_stream(fake, live):
    from kiwoom_nb.live import _socket
    from kiwoom_nb.live.hub import _client

    live.watch(["005930"], "0B")
    board = Board(live, rate=20)
    try:
        with _socket._registry_lock:  # a second socket of the same key, as another program would open
            _socket._sockets.clear()
        _client.enabled(False)  # that program keeps its own socket (no hub: an old version, or the hub turned off)
        try:
            other = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
        finally:
            _client.enabled(None)
        try:
            wait_for(lambda: KICKED in board._view.value, 10, "the R10001 line")
        finally:
            other.close()
    finally:
        board.stop("test over")


def test_the_order_book_has_ten_ask_and_ten_bid_levels_with_bars(fake, live):
    live.watch(["005930"], "0D")
    board = Ladder(live, rate=20)
    try:
        wait_for(lambda: "width:100%" in board._view.value, 10, "a full book")
        assert board._view.value.count('class="kiwoom-ask"') == 10
        assert board._view.value.count('class="kiwoom-bid"') == 10
    finally:
        board.stop("test over")


def test_condition_hits_mark_entries_and_exits(fake, live):
    fake.ws.rate = 100
    hits = live.watch_condition("1")
    board = Conditions(live, "1", hits, rate=20)
    try:
        assert all(code in board._view.value for code in hits)
        wait_for(lambda: re.search(r'class="kiwoom-(in|out)"', board._view.value), 15, "an entry or an exit")
    finally:
        board.stop("test over")


def test_outside_a_kernel_display_of_a_stream_shows_its_status_line(live, monkeypatch):
    import IPython
    import IPython.display

    from kiwoom_nb.notebook._watch_magic import show_stream

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # terminal IPython and scripts: no kernel
    monkeypatch.setattr(IPython.display, "display", lambda data, raw=False: shown.append(data))
    show_stream(live)  # what display(live) calls: the notebook room registers it for Stream with IPython's formatter
    assert shown == [{"text/plain": repr(live)}] and repr(live).startswith("<kiwoom_nb.Stream ws://")


# -- issue 30, item 5: boards read as a Korean trader reads them -------------------------------------------------

def tick(item: str, price: str, change: str, rate: str, sign: str):
    from datetime import datetime, timezone

    from kiwoom_nb.live._stream import Event

    return Event("0B", item, {"10": price, "11": change, "12": rate, "25": sign, "13": "1234567", "20": "101500"},
                 datetime.now(timezone.utc))


def test_the_rate_carries_its_sign_and_rows_keep_the_order_typed(fake, live):
    fake.ws.rate = 0.001  # no ticks of the fake's own: the test sends them
    live.watch(["035420", "005930", "000660"], "0B")
    board = Board(live, rate=20)
    try:
        for event in (tick("005930", "+160400", "+3200", "+2.04", "2"), tick("000660", "-75950", "-4270", "-5.32", "5"),
                      tick("035420", "200000", "0", "0.00", "3")):
            board._on_event(event)
        board._refresh()
        page = board._view.value
        rates = re.findall(r'class="kiwoom-rate"><span class="kiwoom-(\w+)" style="color:([^"]+)">([^<]*)<', page)
        assert rates == [("flat", "inherit", "0.00 %"), ("up", UP, "+2.04 %"), ("down", DOWN, "−5.32 %")]
        assert re.findall(r'data-item="(\d+)"', page) == ["035420", "005930", "000660"]  # as typed, not sorted
    finally:
        board.stop("test over")


def test_the_order_book_has_headers_and_the_hts_colours(fake, live):
    live.watch(["005930"], "0D")
    board = Ladder(live, rate=20)
    try:
        wait_for(lambda: "width:100%" in board._view.value, 10, "a full book")
        page = board._view.value
        assert re.search(r"<th[^>]*>매도잔량</th><th[^>]*>호가</th><th[^>]*>매수잔량</th>", page)
        asks = re.findall(r'<tr class="kiwoom-ask"><td style="background:[^;]+;color:([^"]+)">', page)
        bids = re.findall(r'<tr class="kiwoom-bid"><td></td><td></td><td class="kiwoom-level">.*?</td>'
                          r"<td style='width:10em;background:[^']+'><div style=\"background:([^;]+);", page)
        assert asks == [DOWN] * 10, "the ask side (매도) is blue in 영웅문"
        assert bids == [UP] * 10, "the bid side (매수) is red in 영웅문"
    finally:
        board.stop("test over")


def test_the_positions_board_drops_a_sold_out_holding_adds_a_new_one_and_colours_the_gain(live):
    """Issue 35: each 04 (잔고) replaces its holding's quantity, buy price and price; 0 shares leaves the board."""
    from datetime import datetime, timezone

    from kiwoom_nb.live._reading import Event
    from kiwoom_nb.notebook._board import Positions

    held = [{"stk_cd": "A005930", "stk_nm": "삼성전자", "rmnd_qty": "000000000010", "pur_pric": "000000169100",
             "cur_prc": "000000160400"},
            {"stk_cd": "A000660", "stk_nm": "SK하이닉스", "rmnd_qty": "000000000030", "pur_pric": "000000530461",
             "cur_prc": "000000571000"}]
    board = Positions(live, held, rate=50)
    try:
        now = datetime.now(timezone.utc)
        board._on_event(Event("04", "005930", {"9001": "A005930", "930": "0", "931": "0", "10": "-160400"}, now))
        board._on_event(Event("04", "035420", {"9001": "A035420", "302": "NAVER", "930": "2", "931": "251500",
                                               "10": "+250000"}, now))
        board._refresh()
        shown = board._view.value
    finally:
        board.close()
    assert "삼성전자" not in shown and "005930" not in shown
    assert "<td>035420</td><td>2</td><td>251,500</td><td>250,000</td>" in shown and f"color:{DOWN}\">-3,000" in shown
    assert f"color:{UP}\">+1,216,170" in shown  # (571,000 − 530,461) × 30


def test_the_order_feed_shows_a_fill_at_its_fill_price_not_the_market_orders_zero():
    """voila-trade.png showed `체결 +매수 3주 @ 0` beside `filled 3 of 3 @ 162,900`: the feed read the order price."""
    from datetime import datetime, timezone

    from kiwoom_nb.live._boards import OrderRows
    from kiwoom_nb.live._reading import Event

    rows = OrderRows()
    rows.keep, rows._names, rows._name_of = 10, {}, (lambda code: code)
    rows.start()
    now = datetime.now(timezone.utc)
    rows.take(Event("00", "005930", {"913": "접수", "905": "+매수", "900": "3", "901": "0", "908": "140006"}, now))
    rows.take(Event("00", "005930", {"913": "체결", "905": "+매수", "900": "3", "901": "0", "910": "162900",
                                     "911": "3", "914": "162900", "915": "3", "908": "140006"}, now))
    body = rows.body()
    assert "체결 +매수 3주 @ 162,900" in body and "접수 +매수 3주 시장가" in body  # a market order's 접수: no "@ 0"
    assert "@ 0" not in body
