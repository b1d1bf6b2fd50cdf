"""Run All on the quickstart (a copy of notebooks/quickstart.ipynb) with no keys, in JupyterLab 4 and Notebook 7.

The login cell shows the panel and does not block; the first later cell that uses ``kiwoom_token`` fails with
one line and no traceback, and Jupyter stops there. After a login through the panel, the rest runs.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import CELL, Notebook, Panel, copy_quickstart, keep_evidence, quickstart_cells, wait_until


def shown_text(output) -> str:
    """What an output shows on screen (innerText), scrolled into view first: JupyterLab 4 skips rendering cells far
    from the viewport ("contentVisibility" windowing), and an unrendered cell's innerText is empty."""
    output.scroll_into_view_if_needed()
    expect(output).not_to_have_text(re.compile(r"^\s*$"), use_inner_text=True)
    return output.inner_text()


def execution_count(notebook: Notebook, index: int) -> int | None:
    found = re.search(r"\[(\d+)\]", notebook.prompt(index))
    return int(found.group(1)) if found else None


@pytest.fixture
def open_quickstart(page, request):
    """open_quickstart(server) -> (Notebook, where): a fresh copy of the quickstart, opened, kernel idle."""
    servers = []

    def open_(server):
        name = re.sub(r"[^\w.-]", "_", request.node.name) + ".ipynb"
        copy_quickstart(server.root, name)
        servers.append(server)
        return Notebook(page, server, name).open(), quickstart_cells()

    yield open_
    keep_evidence(page, request)
    page.close()
    for server in servers:
        server.shutdown_kernels()


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_run_all_stops_at_the_first_token_cell_then_login_and_run_the_rest(app, request, open_quickstart, fake):
    server = request.getfixturevalue("lab_server" if app == "lab" else "notebook_server")
    stocks_before = len(fake.received("/api/dostk/stkinfo"))
    notebook, where = open_quickstart(server)
    notebook.menu("Run", "Run All Cells")
    panel = Panel(notebook.cell(where["login"]))
    expect(panel.root).to_be_visible()
    expect(panel.login_button).to_be_enabled()

    token_output = notebook.cell(where["token"]).locator(".jp-OutputArea")
    expect(token_output).to_contain_text("kiwoom_token is not set yet", timeout=CELL)
    notebook.wait_ui_idle()
    login_count = execution_count(notebook, where["login"])
    assert login_count is not None
    # Run All leaves the page scrolled to the last cell, and JupyterLab does not render the cells far out of view
    # (windowing): their innerText is "". Read the line as a user does, scrolled to it.
    text = shown_text(token_output)
    lines = [line for line in text.splitlines() if line.strip()]
    message = f"kiwoom_token is not set yet: log in with the panel in cell [{login_count}], then run the cells below"
    assert len(lines) == 1 and lines[0].endswith(message), text  # one line (the error's name may lead it)
    assert "Traceback" not in text and "---->" not in text and "is not defined" not in text
    # Jupyter stopped Run All at that cell: nothing after it ran
    for later in ("stock", "logout"):
        assert execution_count(notebook, where[later]) is None, notebook.prompt(where[later])
    assert len(fake.received("/api/dostk/stkinfo")) == stocks_before

    before = len(fake.tokens)
    panel.log_in(*fake.keys["production"])
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")
    token = wait_until(lambda: fake.tokens[before:], 10, "the fake to issue a token")[0].value

    notebook.select(where["token"])
    notebook.menu("Run", "Run Selected Cell and All Below")
    logout_cell = notebook.cell(where["logout"])
    expect(logout_cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=CELL)
    expect(logout_cell.locator(".jp-OutputArea")).to_contain_text("logged out kiwoom_token; token revoked")

    # the re-run of the candles cell is answered by the store: its one line says what came from the store and how
    # many pages were fetched (0 after the close; during a session, the page of today's growing bar), and the cell's
    # own line agrees with it
    rerun = shown_text(notebook.cell(where["rerun"]).locator(".jp-OutputArea"))
    store_line = re.search(r"^005930: ([\d,]+) rows from the store, (\d+) pages? fetched \(", rerun, re.M)
    own_line = re.search(r"^(\d+) rows, (\d+) page\(s\) fetched$", rerun, re.M)
    assert store_line and own_line and store_line.group(2) == own_line.group(2), rerun
    notebook.screenshot(where["rerun"], f"run-all-store-{app}.png")

    shown = notebook.output_text(where["token"])
    assert "AccessToken" in shown and token[-4:] in shown and token not in shown, shown
    expect(notebook.cell(where["stock"]).locator(".jp-OutputArea")).to_contain_text("정상적으로 처리되었습니다 | 삼성전자")
    stocks = fake.received("/api/dostk/stkinfo")[stocks_before:]
    assert stocks and {r.headers["authorization"] for r in stocks} == {f"Bearer {token}"}  # %kiwoom and api.call
    for index in where.values():
        output = notebook.output_text(index)
        assert "Traceback" not in output and "Error" not in output, (index, output)
    assert not fake.is_live(token)
