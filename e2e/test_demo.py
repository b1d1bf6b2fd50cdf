"""`make demo` (scripts/demo.py): it serves the quickstart and the universe notebook against its fake Kiwoom, and
Ctrl-C stops both cleanly."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from playwright.sync_api import expect

from kiwoom_nb.auth._keys import NO_OS_KEYRING

from conftest import REPO, JupyterServer, Notebook, Panel, free_port, keep_evidence, quickstart_cells, wait_until

NEWS_TOAST = "official Jupyter news"  # JupyterLab's "Would you like to get notified about official Jupyter news?"


def cell_with(path: Path, text: str) -> int:
    """The index (among all cells, as the page counts them) of the first code cell whose source holds ``text``."""
    cells = json.loads(path.read_text())["cells"]
    return next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and text in "".join(c["source"]))


def test_demo_serves_quickstart_and_stops_on_ctrl_c(page, request, tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, cwd=tmp_path,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    output = lambda: "".join(lines)  # noqa: E731
    try:
        wait_until(lambda: "Ctrl-C stops" in output() or process.poll() is not None, 120, "the demo's banner")
        banner = output()
        assert process.poll() is None, banner
        url = re.search(r"Open:\s+(http://127\.0\.0\.1:\d+)/lab/tree/quickstart\.ipynb\?token=(\S+)", banner)
        appkey, secretkey = re.search(r"실전투자 \(production\)\s+app key (\S+)\s+secret key (\S+)", banner).groups()
        notebook_path = Path(re.search(r"Notebook:\s+(\S+quickstart\.ipynb)", banner).group(1))
        assert url, banner
        assert notebook_path.parent != REPO / "notebooks"  # a copy: the repository's notebook stays clean
        # matplotlib's font list is built before the URL is shown, in the demo's private cache: the first chart does
        # not print "Matplotlib is building the font cache" under itself on a slow machine
        assert list((notebook_path.parent.parent / "jupyter" / "cache" / "matplotlib").glob("fontlist-*.json"))
        server = JupyterServer("lab", url.group(1), url.group(2), notebook_path.parent, process, Path("/dev/null"))

        where = quickstart_cells()
        notebook = Notebook(page, server, "quickstart.ipynb").open()
        notebook.run(where["load"])
        notebook.run(where["login"])
        panel = Panel(notebook.cell(where["login"]))
        # the demo's null keyring is on purpose: the checkbox's note says what that means, not which backend it is
        expect(panel.root).to_contain_text(NO_OS_KEYRING)
        assert "keyring.backends" not in panel.visible_text() and "not available" not in panel.visible_text()
        notebook.select(where["status"])
        panel.screenshot("panel-demo.png", docs=False)
        panel.log_in(appkey, secretkey)
        expect(panel.ok).to_contain_text("logged in as kiwoom_token")
        notebook.run(where["quote"])  # ka10001's 45 fields down the page: field, 한글명, value
        quote = notebook.cell(where["quote"]).locator(".jp-OutputArea")
        expect(quote.locator("tr", has=page.locator("th", has_text=re.compile(r"^cur_prc$")))).to_contain_text(
            re.compile(r"현재가\s*\d{1,3}(,\d{3})+"))  # the market's price at the fake's clock, thousands separators
        expect(quote).not_to_contain_text("…")
        notebook.screenshot(where["quote"], "quote-vertical.png", docs=True)
        notebook.run(where["stock"])
        notebook.run(where["candles"])  # api.candles, then mplfinance draws them with volume
        notebook.run(where["candlestick"])
        plot = notebook.cell(where["candlestick"]).locator(".jp-OutputArea img")
        expect(plot).to_be_visible()
        assert plot.evaluate("img => img.naturalWidth") > 500
        assert "Error" not in notebook.output_text(where["candlestick"])
        stderr = notebook.cell(where["candlestick"]).locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        expect(stderr).to_have_count(0)  # no font warnings under the chart
        notebook.screenshot(where["candlestick"], "candles.png", docs=True)
        expect(notebook.cell(where["stock"]).locator(".jp-OutputArea")).to_contain_text("정상적으로 처리되었습니다 | 삼성전자")
        # the news question never popped up over the outputs, nor waits in the notification centre
        expect(page.get_by_text(NEWS_TOAST)).to_have_count(0)
        page.locator(".jp-Notification-Status").click()  # the bell in the status bar opens the centre
        expect(page.locator(".jp-Notification-Header")).to_be_visible()
        expect(page.get_by_text(NEWS_TOAST)).to_have_count(0)
        keep_evidence(page, request)

        # universe.ipynb is served too, named in the banner: in its own kernel it logs in, fetches five stocks'
        # candles in one call and plots their closes
        assert re.search(rf"Also:\s+{re.escape(url.group(1))}/lab/tree/universe\.ipynb\?token=", banner), banner
        where = {text: cell_with(REPO / "notebooks" / "universe.ipynb", text)
                 for text in ("%load_ext kiwoom_nb", "%kiwoom_login", "api.candles(", ".plot(")}
        login, fetch, plot = where["%kiwoom_login"], where["api.candles("], where[".plot("]
        universe = Notebook(page, server, "universe.ipynb").open()
        universe.run(where["%load_ext kiwoom_nb"])
        universe.run(login)
        panel = Panel(universe.cell(login))
        panel.log_in(appkey, secretkey)
        expect(panel.ok).to_contain_text("logged in as kiwoom_token")
        universe.run(fetch)
        for code in ("005930", "000660", "035420", "005380", "051910"):  # one column per stock in the table
            expect(universe.cell(fetch).locator(".jp-OutputArea th", has_text=code).first).to_be_visible()
        universe.run(plot)
        chart = universe.cell(plot).locator(".jp-OutputArea img")
        expect(chart).to_be_visible()
        assert chart.evaluate("img => img.naturalWidth") > 500
        assert "Error" not in universe.output_text(fetch) + universe.output_text(plot)
        universe.screenshot(plot, "demo-universe.png")
        page.close()

        process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal delivers
        assert process.wait(60) == 0, output()
        reader.join(10)
        assert "issued 2 token(s) and revoked 2" in output(), output()  # the quickstart's kernel and the universe's
        assert not notebook_path.exists(), "the demo's temp dir was left behind"
        try:
            server.api("GET", "/api/status")
        except OSError:
            pass
        else:
            raise AssertionError("JupyterLab still answers after Ctrl-C")
    finally:
        if process.poll() is None:  # the demo stops its JupyterLab on SIGINT; kill only as a last resort
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
