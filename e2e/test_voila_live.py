"""notebooks/live.ipynb served by Voilà 0.5 against the fake: log in through the panel, open the boards, and the
board's price changes and the order book shows 10 + 10 levels. The dashboard's screenshot goes to docs/ only with
KIWOOM_NB_SCREENSHOTS=1."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from conftest import DOCS, PAGE_LOAD, REPO, WRITE_DOCS, Panel, free_port, jupyter_environment, wait_until
from test_voila import VoilaServer


@pytest.fixture(scope="module")
def voila_live(fake, tmp_path_factory):
    base = tmp_path_factory.mktemp("voila-live")
    root = base / "root"
    root.mkdir()
    notebook = root / "live.ipynb"
    shutil.copy(REPO / "notebooks" / "live.ipynb", notebook)
    env = jupyter_environment(base / "home", fake)
    log = base / "voila.log"
    port = free_port()
    args = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0"]
    with open(log, "ab") as out:
        process = subprocess.Popen(args, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = VoilaServer(f"http://127.0.0.1:{port}", process, log)

    def ready() -> bool:
        import urllib.error
        import urllib.request

        if process.poll() is not None:
            return True
        try:
            urllib.request.urlopen(f"{server.url}/voila/static/", timeout=5).close()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    wait_until(ready, 120, f"Voilà to answer on port {port}")
    if process.poll() is not None:
        pytest.fail(f"Voilà did not start:\n{server.log_text()[-3000:]}")
    yield server
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


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
    expect(price).not_to_have_text(price.inner_text(), timeout=5_000)
    expect(book.locator("tr.kiwoom-ask")).to_have_count(10, timeout=30_000)
    expect(book.locator("tr.kiwoom-bid")).to_have_count(10)
    expect(board).to_contain_text("삼성전자")

    folder = DOCS if WRITE_DOCS else REPO / "test-results"
    folder.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=str(folder / "voila-live.png"), full_page=True)
