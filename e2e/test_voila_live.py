"""notebooks/live.ipynb served by Voilà 0.5 against the fake: log in through the panel, open the boards, and the
board's price changes and the order book shows 10 + 10 levels. A kernel streaming with the same app key meanwhile
shares the stream hub with the dashboard: both move, nobody is kicked. The dashboard's screenshot goes to docs/ only with
KIWOOM_NB_SCREENSHOTS=1."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from conftest import DOCS, PAGE_LOAD, REPO, WRITE_DOCS, Panel, jupyter_environment, wait_until
from test_voila import serve_voila


@pytest.fixture(scope="module")
def voila_live(fake, tmp_path_factory):
    base = tmp_path_factory.mktemp("voila-live")
    root = base / "root"
    root.mkdir()
    notebook = root / "live.ipynb"
    shutil.copy(REPO / "notebooks" / "live.ipynb", notebook)
    with serve_voila(notebook, fake, base) as server:
        yield server


def test_voila_live_dashboard(voila_live, page, fake):
    page.goto(voila_live.url + "/", timeout=PAGE_LOAD)
    panel = Panel(page)
    expect(panel.root).to_be_visible(timeout=PAGE_LOAD)
    panel.log_in(*fake.keys["production"])
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")

    page.get_by_role("button", name=re.compile("open the boards")).click()
    board, book = page.locator(".kiwoom-board").nth(0), page.locator(".kiwoom-board").nth(1)
    price = board.locator(".kiwoom-price span").first
    expect(price).to_have_text(re.compile(r"\d"), timeout=30_000)
    expect(price).not_to_have_text(price.inner_text(), timeout=30_000)  # a quiet tick path can hold a price for seconds
    expect(book.locator("tr.kiwoom-ask")).to_have_count(10, timeout=30_000)
    expect(book.locator("tr.kiwoom-bid")).to_have_count(10)
    expect(board).to_contain_text("삼성전자")

    folder = DOCS if WRITE_DOCS else REPO / "test-results"
    folder.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=str(folder / "voila-live.png"), full_page=True)


def test_a_kernel_streaming_with_the_same_key_and_the_voila_board_both_move(voila_live, page, fake, tmp_path):
    from jupyter_client.manager import start_new_kernel

    page.goto(voila_live.url + "/", timeout=PAGE_LOAD)
    panel = Panel(page)
    expect(panel.root).to_be_visible(timeout=PAGE_LOAD)
    panel.log_in(*fake.keys["production"])
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")
    page.get_by_role("button", name=re.compile("open the boards")).click()
    board = page.locator(".kiwoom-board").nth(0)
    price = board.locator(".kiwoom-price span").first
    expect(price).to_have_text(re.compile(r"\d"), timeout=30_000)
    logins = len(fake.ws.received("LOGIN"))

    env = jupyter_environment(tmp_path / "home", fake)
    env.update(fake.environ("production"))  # the same app key, from the environment
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        def run(code):
            out = []
            reply = kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(
                m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
            assert reply["content"]["status"] == "ok", reply["content"]
            return "".join(out)

        run("%load_ext kiwoom_nb\n%kiwoom_login\nimport kiwoom_nb\nlive = kiwoom_nb.stream()\n"
            "live.watch(['000660'], '0B')")
        wait_until(lambda: "000660" in run("print(sorted(set(live.frame('0B')['item'])) if live.status.received "
                                           "else [])"), 30, "the kernel's own events")
        assert "connected (shared with" in run("print(live.status)")  # the dashboard (and an earlier page's kernel)
        expect(price).not_to_have_text(price.inner_text(), timeout=30_000)  # the board still moves
        expect(board).not_to_contain_text("another program")
        assert len(fake.ws.received("LOGIN")) == logins  # the kernel joined the dashboard's socket, through the hub
        assert not [f for f in fake.ws.received("SYSTEM")]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
