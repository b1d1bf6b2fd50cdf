"""notebooks/trade.ipynb served by Voilà against the fake (issue 35): log in to mock through the panel, open the
ticket, type, see the preview move, 주문 → 확인 (mock; 확인 double-clicked sends one order, 주문 alone none), and the
ticket becomes the order, filled; the order feed shows
the fill. The screenshot goes to test-results/ (docs/ only with KIWOOM_NB_SCREENSHOTS=1)."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from kiwoom_nb.testing.market._stocks import held as holdings_of

from conftest import DOCS, PAGE_LOAD, REPO, WRITE_DOCS, Panel
from test_voila import serve_voila


@pytest.fixture(scope="module")
def voila_trade(fake, tmp_path_factory):
    base = tmp_path_factory.mktemp("voila-trade")
    root = base / "root"
    root.mkdir()
    notebook = root / "trade.ipynb"
    shutil.copy(REPO / "notebooks" / "trade.ipynb", notebook)
    with serve_voila(notebook, fake, base) as server:
        yield server


def test_voila_ticket_types_previews_confirms_and_fills(voila_trade, page, fake):
    page.goto(voila_trade.url + "/", timeout=PAGE_LOAD)
    panel = Panel(page)
    expect(panel.root).to_be_visible(timeout=PAGE_LOAD)
    page.get_by_role("button", name=re.compile("open the ticket")).click()  # before logging in: one line, no ticket
    expect(page.get_by_text(re.compile(r"no Kiwoom login in kiwoom_token; run %kiwoom_login"))).to_be_visible(
        timeout=30_000)
    assert "Traceback" not in page.inner_text("body") and page.get_by_label("수량").count() == 0
    panel.log_in(*fake.keys["mock"])
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")

    page.get_by_role("button", name=re.compile("open the ticket")).click()
    quantity = page.get_by_label("수량")
    expect(quantity).to_be_visible(timeout=30_000)
    quantity.fill("3")
    quantity.press("Enter")
    page.get_by_text("시장가 market").click()
    expect(page.get_by_text(re.compile(r"BUY 3 × 005930 .*at market"))).to_be_visible(timeout=10_000)
    held_before = holdings_of(fake.market, "mock").get("005930", ("", 0))[1]  # what the mock account holds of it now
    before = len(fake.orders)  # the fake lives for the whole e2e session: other tests' orders are in it
    page.get_by_role("button", name="주문", exact=True).click()
    confirm = page.get_by_role("button", name=re.compile("확인 → mock"))
    expect(confirm).to_be_visible()
    expect(page.get_by_text("mock: 확인을 누르면 보냅니다")).to_be_visible()  # the kernel has handled 주문 in full
    assert fake.orders[before:] == []  # 주문 alone sends nothing
    confirm.dblclick()  # a double-click, as impatient users do: its second click must not send a second order
    expect(page.get_by_text(re.compile(r"filled — filled 3 of 3"))).to_be_visible(timeout=30_000)
    assert [o.body["ord_qty"] for o in fake.orders[before:]] == ["3"]  # 확인 sent exactly one order
    feed, held = page.locator(".kiwoom-board").first, page.locator(".kiwoom-board").nth(1)
    expect(held).to_contain_text("잔고 — positions")  # the positions board: the names the boards use, not the wire's
    for header in ("종목명", "코드", "보유", "매입가", "현재가", "평가손익"):
        expect(held.locator("th", has_text=header)).to_have_count(1)
    assert "rmnd_qty" not in held.inner_text() and "stk_cd" not in held.inner_text()
    bought = held.locator("tr.kiwoom-held").filter(has_text="005930")
    expect(bought.locator("td").nth(2)).to_have_text(f"{held_before + 3:,}", timeout=30_000)  # moved by the fill
    expect(feed.locator("tr.kiwoom-00").filter(has_text="체결")).to_have_count(1, timeout=30_000)  # the fill's row
    expect(feed.locator("tr.kiwoom-04")).to_have_count(1)  # and the balance it left

    folder = DOCS if WRITE_DOCS else REPO / "test-results"
    folder.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    # Voilà's page scrolls inside a container, which full_page does not unroll: a window as tall as the content
    tallest = page.evaluate("Math.max(...Array.from(document.querySelectorAll('*'), e => e.scrollHeight))")
    page.set_viewport_size({"width": 1280, "height": int(tallest) + 40})
    page.screenshot(path=str(folder / "voila-trade.png"), full_page=True)

    # a fresh ticket for the next order; the boards stay (made again, the old ones would run on unseen). The kernel
    # handles the page's messages in order: once the new ticket shows, 확인's second click was handled too
    page.get_by_role("button", name=re.compile("open the ticket")).click()
    expect(page.get_by_text(re.compile("filled — filled 3 of 3"))).to_have_count(0, timeout=30_000)
    expect(page.get_by_role("button", name="주문", exact=True)).to_be_enabled()
    expect(page.locator(".kiwoom-board")).to_have_count(2)
    expect(feed.locator("tr.kiwoom-00").filter(has_text="체결")).to_have_count(1)  # the same feed, its fill kept
    assert [o.body["ord_qty"] for o in fake.orders[before:]] == ["3"]  # still one: the double-click sent one order
