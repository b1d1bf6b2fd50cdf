"""Browser tests: Debian's Chromium, driven by Playwright, against real JupyterLab 4 and Notebook 7 servers
(and a Voilà 0.5 server, in test_voila.py).

Everything runs on loopback and in the test process's temp dirs:
- one fake Kiwoom (``kiwoom_nb.testing.FakeKiwoom``) for the session, in this process, so tests can
  read what it received;
- one JupyterLab and one Notebook 7 server per session, started on a free port with a known token, with
  their own config / data / runtime / IPython dirs, and KIWOOM_BASE_URL / KIWOOM_MOCK_BASE_URL pointing at
  the fake and no KIWOOM_*APPKEY in their environment (so ``%kiwoom_login`` shows the panel);
- "Save Widget State Automatically" switched on, and the news toast off, through the user settings dir
  (scripts/demo.py `write_lab_settings`, shared with `make demo`).

Waits are conditions with deadlines (Playwright's ``expect`` and :func:`wait_until`), never sleeps.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kiwoom_nb.testing import FakeKiwoom, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from demo import jupyter_environment  # noqa: E402 - the same isolated Jupyter setup as `make demo`

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]
REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
#: The panel's screenshots replace the tracked docs/*.png only when asked to: `make screenshots` sets
#: KIWOOM_NB_SCREENSHOTS=1. Otherwise they go to test-results/ (ignored by git), to look at.
WRITE_DOCS = os.environ.get("KIWOOM_NB_SCREENSHOTS") == "1"

#: milliseconds, for Playwright
PAGE_LOAD = 90_000
CELL = 60_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the fake Kiwoom ------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def hub_runtime():
    """The stream hub (the default) of every kernel of the session lives in a runtime dir of the session's (a short
    path: AF_UNIX), with a short grace period; once the servers are gone, its hubs must have exited."""
    import shutil
    import tempfile

    runtime = tempfile.mkdtemp(prefix="kh", dir="/tmp")
    saved = {name: os.environ.get(name) for name in ("XDG_RUNTIME_DIR", "KIWOOM_HUB_GRACE")}
    os.environ.update(XDG_RUNTIME_DIR=runtime, KIWOOM_HUB_GRACE="0.5")  # jupyter_environment passes the first on
    yield runtime
    try:
        wait_until(lambda: not hub_pids(runtime), 30, "the session's stream hubs to exit")
    finally:
        for pid in hub_pids(runtime):
            os.kill(pid, 9)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(runtime, ignore_errors=True)


def hub_pids(runtime: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"kiwoom_nb.live.hub" in argv and any(a.startswith(runtime.encode()) for a in argv):
            pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="session")
def fake():
    """The fake Kiwoom on 127.0.0.1 with the demo keys, for the whole session."""
    # an open session (1.5 h of it) in which the boards' stocks move both ways: red and blue both show
    with FakeKiwoom(clock="2026-12-01 14:00") as server:
        yield server


# -- Jupyter servers --------------------------------------------------------------------------------


@dataclass
class JupyterServer:
    app: str  # "lab" or "notebook"
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path
    keyring: Path | None = None  # the kernels' OS keyring stand-in (tests/keyring_backends.py FileKeyring)

    def notebook_url(self, name: str) -> str:
        if self.app == "lab":  # ?reset: a fresh workspace, so earlier tests' tabs are not reopened
            return f"{self.url}/lab/tree/{name}?reset&token={self.token}"
        return f"{self.url}/notebooks/{name}?token={self.token}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def shutdown_kernels(self) -> None:
        """Shut down every kernel gracefully (as the UI does), so the next test starts from none."""
        for kernel in self.api("GET", "/api/kernels"):
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
            except urllib.error.HTTPError:
                pass
        wait_until(lambda: not self.api("GET", "/api/kernels"), 30, "all kernels to stop")


def start_jupyter(app: str, base: Path, fake: FakeKiwoom) -> JupyterServer:
    root, home = base / "root", base / "home"
    root.mkdir(parents=True)
    env = jupyter_environment(home, fake, save_widget_state=True)
    # A real keyring backend that stores in this server's temp dir, so the panel's "remember" checkbox
    # works as on a desktop; the developer's own keyring and kiwoomcli settings stay untouched.
    keyring = base / "keyring.json"
    env.update(
        PYTHON_KEYRING_BACKEND="keyring_backends.FileKeyring", KIWOOM_TEST_KEYRING=str(keyring),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO / "tests"), env.get("PYTHONPATH", "")) if p),
        XDG_CONFIG_HOME=str(home / "xdg-config"), XDG_DATA_HOME=str(home / "xdg-data"),
    )
    token = secrets.token_hex(16)
    log = base / f"{app}.log"
    module = "jupyterlab" if app == "lab" else "notebook"
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between free_port() and the bind
        port = free_port()
        args = [
            sys.executable, "-m", module, "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.allow_root=True",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ] if app == "lab" else [
            sys.executable, "-m", module, "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.allow_root=True",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        ]
        with open(log, "ab") as out:
            process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                       cwd=root, start_new_session=True)
        server = JupyterServer(app, f"http://127.0.0.1:{port}", token, root, process, log, keyring)

        def ready() -> bool:
            if process.poll() is not None:
                return True
            try:
                server.api("GET", "/api/status")
                return True
            except (OSError, urllib.error.URLError):
                return False

        wait_until(ready, 120, f"Jupyter {app} to answer on port {port}")
        if process.poll() is None:
            return server
        last_error = server.log_tail()
    raise RuntimeError(f"Jupyter {app} did not start:\n{last_error}")


def stop_jupyter(server: JupyterServer) -> None:
    if server.process.poll() is None:
        try:
            server.shutdown_kernels()
        except Exception:  # noqa: BLE001 - the server is going away anyway
            pass
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)


@pytest.fixture(scope="session")
def lab_server(fake, tmp_path_factory):
    server = start_jupyter("lab", tmp_path_factory.mktemp("lab"), fake)
    yield server
    stop_jupyter(server)


@pytest.fixture(scope="session")
def notebook_server(fake, tmp_path_factory):
    server = start_jupyter("notebook", tmp_path_factory.mktemp("nb7"), fake)
    yield server
    stop_jupyter(server)


# -- the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (make e2e does this as root) "
                    "or set E2E_CHROMIUM to a Chromium binary")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(CELL)
    page = context.new_page()
    page.console_messages_seen = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.console_messages_seen.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: page.console_messages_seen.append(f"pageerror: {e}"))
    yield page
    context.close()


def keep_evidence(page, request) -> None:
    """After a failed test: a full-page screenshot and the browser console in test-results/."""
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed or page.is_closed():
        return
    out = REPO / "test-results"
    out.mkdir(exist_ok=True)
    try:
        page.screenshot(path=str(out / f"{request.node.name}.png"), full_page=True)
    except Exception:  # noqa: BLE001
        pass
    (out / f"{request.node.name}.console.txt").write_text("\n".join(getattr(page, "console_messages_seen", [])))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# -- notebooks --------------------------------------------------------------------------------------


def write_notebook(root: Path, name: str, cells: list[str]) -> Path:
    """A notebook of code cells with the python3 kernelspec, so opening it starts a kernel at once."""
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {}, "outputs": [],
                   "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = root / name
    path.write_text(json.dumps(notebook, indent=1))
    return path


QUICKSTART = REPO / "notebooks" / "quickstart.ipynb"


def quickstart_cells() -> dict[str, int]:
    """Where the quickstart's code cells are, counted among all its cells (as the page shows them)."""
    cells = json.loads(QUICKSTART.read_text())["cells"]
    where: dict[str, int] = {}
    for index, cell in enumerate(cells):
        source = "".join(cell["source"]).strip()
        if cell["cell_type"] != "code":
            continue
        if source.startswith("%load_ext kiwoom_nb"):
            where["load"] = index
        elif source.startswith("%kiwoom_login"):
            where["login"] = index
        elif source.startswith("%kiwoom_status"):
            where["status"] = index
        elif "api.candles(" in source:  # the first fetches; the next asks again and is answered by the store
            where["rerun" if "candles" in where else "candles"] = index
        elif "mplfinance" in source:
            where["candlestick"] = index
        elif source.startswith("%kiwoom ka10001"):
            where["quote"] = index  # the magic's one-row answer, shown down the page
        elif "ka10001" in source and ("kiwoom_token" in source or "kiwoom_nb.client()" in source):
            where["stock"] = index  # the cell printing "return_msg | stk_nm cur_prc"
        elif "ka10081" in source:
            where["chart"] = index
        elif source.startswith("kiwoom_token"):
            where["token"] = index
        elif source.startswith("%kiwoom_logout"):
            where["logout"] = index
    assert set(where) == {"load", "login", "status", "token", "quote", "stock", "chart", "candles", "rerun",
                          "candlestick", "logout"}, where
    assert where["load"] < where["login"] < where["status"] < where["token"] < where["stock"] < where["logout"], where
    assert where["candles"] < where["rerun"] < where["logout"], where
    return where


def copy_quickstart(root, name: str) -> None:
    notebook = json.loads(QUICKSTART.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (root / name).write_text(json.dumps(notebook, indent=1))


class Notebook:
    """One open notebook page in JupyterLab or Notebook 7 (both render cells with JupyterLab's classes)."""

    def __init__(self, page, server: JupyterServer, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name

    def open(self) -> "Notebook":
        from playwright.sync_api import expect

        self.page.goto(self.server.notebook_url(self.name), timeout=PAGE_LOAD)
        expect(self.cell(0)).to_be_visible(timeout=PAGE_LOAD)
        self.wait_kernel_idle()
        self.wait_ui_idle()
        return self

    def wait_ui_idle(self, timeout: float = CELL) -> None:
        """The page's own kernel indicator (toolbar, both apps) says idle: the frontend is connected."""
        from playwright.sync_api import expect

        indicator = self.page.locator(".jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator")
        expect(indicator).to_have_attribute("data-status", "idle", timeout=timeout)

    def wait_kernel_idle(self, timeout: float = 90) -> dict[str, Any]:
        """The notebook's kernel exists and is idle (read from the server: the UI's indicator differs per app)."""
        def idle() -> dict[str, Any] | None:
            for session in self.server.api("GET", "/api/sessions"):
                if session["path"].endswith(self.name) and session.get("kernel"):
                    if session["kernel"]["execution_state"] == "idle":
                        return session["kernel"]
            return None

        return wait_until(idle, timeout, f"an idle kernel for {self.name}")

    def cell(self, index: int):
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)

    def prompt(self, index: int) -> str:
        return (self.cell(index).locator(".jp-InputPrompt").text_content() or "").strip()

    def run(self, index: int, timeout: float = CELL):
        """Run cell ``index`` (Ctrl+Enter: run and stay) and wait for its new execution count."""
        from playwright.sync_api import expect

        cell = self.cell(index)
        before = self.prompt(index)
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+Enter")
        prompt = cell.locator(".jp-InputPrompt")
        if re.search(r"\d", before):
            expect(prompt).not_to_have_text(before, timeout=timeout)
        expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)
        return cell

    def select(self, index: int) -> None:
        """Make cell ``index`` the active one in command mode (clicking its prompt), and move the mouse away."""
        self.cell(index).locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Escape")
        self.page.mouse.move(0, 0)

    def screenshot(self, index: int, name: str, *, docs: bool = False) -> Path:
        """Cell ``index`` with its output: for docs/ when ``docs`` and asked to (:data:`WRITE_DOCS`), else for
        test-results/, to look at."""
        folder = DOCS if docs and WRITE_DOCS else REPO / "test-results"
        folder.mkdir(exist_ok=True)
        cell = self.cell(index)
        size = self.page.viewport_size
        height = int(cell.bounding_box()["height"]) + 200
        if size and height > size["height"]:  # a tall output whole, not cut at the window's edge
            self.page.set_viewport_size({"width": size["width"], "height": height})
        try:
            cell.scroll_into_view_if_needed()
            cell.screenshot(path=str(folder / name), animations="disabled")
        finally:
            if size:
                self.page.set_viewport_size(size)
        return folder / name

    def output_text(self, index: int) -> str:
        # textContent, not innerText: JupyterLab 4's default windowing ("contentVisibility") skips rendering
        # the cells out of view, and innerText of skipped content is "" (a tall output two cells below was enough)
        return self.cell(index).locator(".jp-OutputArea").text_content() or ""

    def save(self) -> None:
        """Save with Ctrl+S from command mode and wait until the new file on disk is complete."""
        path = self.server.root / self.name
        before = path.stat().st_mtime_ns

        def saved() -> bool:
            # jupyter_server rewrites the file in place: a changed mtime can still mean half a file
            if path.stat().st_mtime_ns == before:
                return False
            try:
                json.loads(path.read_text())
            except ValueError:
                return False
            return True

        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")
        wait_until(saved, 30, f"{self.name} to be saved")

    def menu(self, *labels: str) -> None:
        """Click through the menu bar: menu("Kernel", "Shut Down Kernel")."""
        top, *items = labels
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
        for item in items:
            self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).last.click()


class Panel:
    """The kiwoom_nb login panel inside a cell's output."""

    def __init__(self, cell) -> None:
        self.root = cell.locator(".kiwoom-login-panel")
        self.appkey = self.root.locator("input[type=text]")
        self.secretkey = self.root.locator("input[type=password]")
        self.login_button = self.root.get_by_role("button", name="로그인 Log in")
        self.logout_button = self.root.get_by_role("button", name="로그아웃 Log out")
        self.remember = self.root.get_by_role("checkbox")
        self.ok = self.root.locator(".kiwoom-ok")
        self.error = self.root.locator(".kiwoom-error")
        self.note = self.root.locator(".kiwoom-note")  # under the login line: whether the keys were saved
        self.status = self.root.locator(".kiwoom-ok, .kiwoom-info, .kiwoom-error")  # the status line, any kind

    def visible_text(self) -> str:
        """What the panel shows (hidden parts left out)."""
        return self.root.inner_text()

    def usable_controls(self) -> int:
        """How many of its buttons and inputs a user could click or type into now."""
        return self.root.evaluate("""root => [...root.querySelectorAll("button, input")].filter(el => {
            const style = getComputedStyle(el);
            return !el.disabled && el.getClientRects().length > 0 && style.visibility !== "hidden"
                && style.pointerEvents !== "none" && !el.closest("[inert]");
        }).length""")

    def expect_form(self) -> None:
        """The panel shows the login form, ready to use, and no Log out button."""
        from playwright.sync_api import expect

        expect(self.appkey).to_be_enabled()
        expect(self.secretkey).to_be_enabled()
        expect(self.login_button).to_be_enabled()
        expect(self.logout_button).to_have_count(0)

    def expect_logged_in(self) -> None:
        """The panel shows a login and its Log out button, and no form."""
        from playwright.sync_api import expect

        expect(self.ok).to_contain_text("logged in as")
        expect(self.logout_button).to_be_enabled()
        expect(self.appkey).to_have_count(0)

    def environment(self, label: str):
        return self.root.get_by_role("button", name=label)

    def log_in(self, appkey: str, secretkey: str) -> None:
        self.appkey.fill(appkey)
        self.secretkey.fill(secretkey)
        self.login_button.click()

    def screenshot(self, name: str, *, docs: bool = True) -> Path:
        """The panel with its cell: for docs/ when ``docs`` and asked to (:data:`WRITE_DOCS`), else for
        test-results/, to look at."""
        folder = DOCS if docs and WRITE_DOCS else REPO / "test-results"
        folder.mkdir(exist_ok=True)
        path = folder / name
        cell = self.root.locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' jp-Cell ')][1]")
        cell.screenshot(path=str(path), animations="disabled")
        return path
