"""notebooks/trade.ipynb served by Voilà against the fake (issue 35): log in to mock through the panel, open the
ticket, type, see the preview move, 주문 → 확인 (mock), and the ticket becomes the order, filled; the order feed shows
the fill. The screenshot goes to test-results/ (docs/ only with KIWOOM_NB_SCREENSHOTS=1)."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

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
    panel.log_in(*fake.keys["mock"])
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")

    page.get_by_role("button", name=re.compile("open the ticket")).click()
    quantity = page.get_by_label("수량")
    expect(quantity).to_be_visible(timeout=30_000)
    quantity.fill("3")
    quantity.press("Enter")
    page.get_by_text("시장가 market").click()
    expect(page.get_by_text(re.compile(r"BUY 3 × 005930 .*at market"))).to_be_visible(timeout=10_000)
    page.get_by_role("button", name="주문", exact=True).click()
    confirm = page.get_by_role("button", name=re.compile("확인 → mock"))
    expect(confirm).to_be_visible()
    assert fake.orders == []
    confirm.click()
    expect(page.get_by_text(re.compile(r"filled — filled 3 of 3"))).to_be_visible(timeout=30_000)
    assert len(fake.orders) == 1 and fake.orders[0].body["ord_qty"] == "3"
    feed = page.locator(".kiwoom-board").first
    expect(feed.locator("tr.kiwoom-00").filter(has_text="체결")).to_have_count(1, timeout=30_000)  # the fill's row
    expect(feed.locator("tr.kiwoom-04")).to_have_count(1)  # and the balance it left

    folder = DOCS if WRITE_DOCS else REPO / "test-results"
    folder.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=str(folder / "voila-trade.png"), full_page=True)
