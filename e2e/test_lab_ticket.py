"""%kiwoom_order in JupyterLab 4 against the fake (issue 35): the ticket a user types into — a price left at 0 is not
taken as market, the preview follows what is typed, 주문 alone sends nothing, 확인 (mock) sends one order, and the
ticket becomes the live order, filled at the fill price, with the order feed below showing the fill. The screenshot
goes to test-results/ (docs/ only with KIWOOM_NB_SCREENSHOTS=1)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import wait_until
from test_panel import log_in, open_notebook, show_panel  # noqa: F401 - the fixture

CELLS = ["%load_ext kiwoom_nb", "%kiwoom_login --mock", "%kiwoom_order 005930 2", "%kiwoom_watch --orders"]
TICKET, FEED = 2, 3


@pytest.mark.timeout(300)
def test_lab_ticket_types_previews_confirms_and_fills(lab_server, open_notebook, fake):  # noqa: F811
    notebook = open_notebook(lab_server, CELLS)
    log_in(show_panel(notebook), fake, "mock")
    ticket = notebook.run(TICKET)
    expect(ticket.get_by_text("가격을 입력하거나 시장가를 고르세요")).to_be_visible(timeout=30_000)  # 0 is no price
    feed = notebook.run(FEED).locator(".kiwoom-board")
    expect(feed).to_contain_text("connected", timeout=30_000)

    price = ticket.get_by_label("가격", exact=True)
    price.fill("170000")  # above the market: a limit buy that fills at once, at the market's price
    price.press("Enter")
    expect(ticket.get_by_text(re.compile(r"BUY 2 × 005930 .*170,000.*mock"))).to_be_visible(timeout=10_000)
    quantity = ticket.get_by_label("수량")
    quantity.fill("4")
    quantity.press("Enter")
    expect(ticket.get_by_text(re.compile(r"BUY 4 × 005930 .*170,000.*mock"))).to_be_visible(timeout=10_000)

    before = len(fake.orders)  # the fake lives for the whole e2e session: other tests' orders are in it
    ticket.get_by_role("button", name="주문", exact=True).click()
    confirm = ticket.get_by_role("button", name=re.compile("확인 → mock"))
    expect(confirm).to_be_visible()
    expect(ticket.get_by_text("mock: 확인을 누르면 보냅니다")).to_be_visible()  # the kernel has handled 주문 in full
    assert fake.orders[before:] == []  # 주문 alone sends nothing
    confirm.click()
    expect(ticket.get_by_text(re.compile(r"filled — filled 4 of 4 @ "))).to_be_visible(timeout=30_000)
    [order] = wait_until(lambda: fake.orders[before:], 10, "the fake to accept the order")
    assert order.body["ord_qty"] == "4" and order.body["ord_uv"] == "170000"
    number = ticket.locator("b").filter(has_text=re.compile(r"^\d+$")).first.inner_text()  # the order number, bold
    filled_at = next(o.fill_price for o in fake.market.orders.orders if o.number == number)
    assert 0 < filled_at <= 170_000
    expect(ticket).to_contain_text(f"filled 4 of 4 @ {filled_at:,}")  # the ticket: the fill price, not the limit
    expect(feed.locator("tr.kiwoom-00").filter(has_text="체결")).to_contain_text(f"4주 @ {filled_at:,}",
                                                                               timeout=30_000)
    expect(ticket.get_by_role("button", name="주문", exact=True)).to_be_disabled()  # the ticket is the order now

    notebook.select(TICKET)
    notebook.screenshot(TICKET, "lab-ticket.png")
    notebook.screenshot(FEED, "lab-ticket-feed.png")

