"""Issue 23 in JupyterLab 4 against the fake: the live board's price changes, its colours are red up and blue down
(computed style), 등락률 carries its sign and the rows keep the order typed (issue 30), the order book shows 10 + 10
levels under 매도잔량 · 호가 · 매수잔량 with the ask side blue and the bid side red (issue 30), Stop makes the fake see the REMOVE and the board stays
still, and a kernel restart makes it inert. Screenshots go to docs/ only with KIWOOM_NB_SCREENSHOTS=1."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import wait_until
from kiwoom_nb.auth._lines import KERNEL_RESTARTED
from test_panel import log_in, open_notebook, show_panel  # noqa: F401 - the fixture

TYPED = ["005930", "035720", "000660", "035420"]  # not sorted: the rows keep this order (issue 30)
CELLS = ["%load_ext kiwoom_nb", "%kiwoom_login", f"%kiwoom_watch {' '.join(TYPED)}",
         "%kiwoom_watch 005930 --type 0D"]
BOARD, BOOK = 2, 3
RED, BLUE = "rgb(214, 0, 0)", "rgb(0, 81, 199)"  # kiwoom_nb.notebook._board.UP / DOWN


@pytest.mark.timeout(300)
def test_lab_board_order_book_stop_and_restart(lab_server, open_notebook, fake):  # noqa: F811
    notebook = open_notebook(lab_server, CELLS)
    log_in(show_panel(notebook), fake)

    board = notebook.run(BOARD).locator(".kiwoom-board")
    price = board.locator(".kiwoom-price span").first
    expect(price).to_have_text(re.compile(r"\d"), timeout=30_000)
    before = price.inner_text()
    expect(price).not_to_have_text(before, timeout=30_000)  # the price text changes (a quiet tick path can hold it for seconds)
    up, down = board.locator(".kiwoom-price .kiwoom-up").first, board.locator(".kiwoom-price .kiwoom-down").first
    expect(up).to_be_visible(timeout=60_000)
    expect(down).to_be_visible(timeout=60_000)
    # the board redraws its rows: a one-shot read can meet a row being replaced (no computed colour); expect retries
    expect(up).to_have_css("color", RED)
    expect(down).to_have_css("color", BLUE)
    expect(board).to_contain_text("삼성전자")
    # issue 30: 등락률 carries its sign as well as its colour; rows in the order typed
    for way, sign, shade in (("up", "+", RED), ("down", "−", BLUE)):
        rate = board.locator(f".kiwoom-rate .kiwoom-{way}").first
        expect(rate).to_have_text(re.compile(rf"^{re.escape(sign)}\d+\.\d+ %$"), timeout=60_000)
        expect(rate).to_have_css("color", shade)
    assert board.locator("tr[data-item]").evaluate_all("rows => rows.map(r => r.dataset.item)") == TYPED
    notebook.select(BOOK)
    notebook.screenshot(BOARD, "board.png", docs=True)

    book = notebook.run(BOOK).locator(".kiwoom-board")
    expect(book.locator("tr.kiwoom-ask")).to_have_count(10, timeout=30_000)
    expect(book.locator("tr.kiwoom-bid")).to_have_count(10)
    expect(book.locator(".kiwoom-bid span").first).to_have_text(re.compile(r"\d"))
    # issue 30: headers, and 영웅문's colours: the ask side (매도) blue, the bid side (매수) red
    assert book.locator("tr.kiwoom-head th").all_inner_texts() == ["매도잔량", "호가", "매수잔량"]
    ask_qty = book.locator("tr.kiwoom-ask td").first
    bid_qty = book.locator("tr.kiwoom-bid td").last
    expect(ask_qty).to_have_text(re.compile(r"\d"))
    # the book redraws its rows: a one-shot read can meet a row being replaced (CI read '' once); expect retries
    expect(ask_qty).to_have_css("color", BLUE)
    expect(bid_qty).to_have_css("color", RED)
    expect(book.locator("tr.kiwoom-ask td div").first).to_have_css("background-color", BLUE)
    expect(book.locator("tr.kiwoom-bid td div").first).to_have_css("background-color", RED)
    notebook.select(BOARD)
    notebook.screenshot(BOOK, "orderbook.png", docs=True)

    removes = len(fake.ws.received("REMOVE"))
    board.get_by_role("button", name=re.compile("Stop")).click()
    expect(board).to_contain_text("Stop pressed")
    assert len(fake.ws.received("REMOVE")) > removes  # the book's stream keeps the socket: the board's items go
    still = board.locator("table").inner_text()
    ladder = book.locator("table").inner_text()
    expect(book.locator("table")).not_to_have_text(ladder, timeout=10_000)  # time passes: the book moved on
    assert board.locator("table").inner_text() == still

    notebook.menu("Kernel", "Restart Kernel…")
    accept = notebook.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    expect(accept).to_have_text("Restart")
    accept.click()
    expect(book).to_contain_text(KERNEL_RESTARTED, use_inner_text=True)
    notebook.wait_ui_idle()


ORDER_CELLS = ["%load_ext kiwoom_nb", "%kiwoom_login --mock", "%kiwoom_watch --orders",
               "%kiwoom kt10000 dmst_stex_tp=KRX stk_cd=005930 ord_qty=3 ord_uv=70000 trde_tp=0"]


@pytest.mark.timeout(300)
def test_lab_a_mock_order_appears_in_the_orders_feed(lab_server, open_notebook, fake):  # noqa: F811
    notebook = open_notebook(lab_server, ORDER_CELLS)
    log_in(show_panel(notebook), fake, "mock")
    feed = notebook.run(2).locator(".kiwoom-board")
    expect(feed).to_contain_text("connected")
    orders = len(fake.orders)
    notebook.run(3)
    wait_until(lambda: len(fake.orders) > orders, 30, "the fake to accept the order")
    row = feed.locator("tr.kiwoom-00").first
    expect(row).to_contain_text("005930", timeout=30_000)
    expect(row).to_contain_text("3주")
    notebook.select(0)
    notebook.screenshot(2, "orders.png", docs=True)
