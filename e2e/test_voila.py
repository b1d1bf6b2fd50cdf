"""Voilà 0.5 serving a dashboard notebook with plain ``%kiwoom_login`` and no keys: the panel shows, a login
through it works, and culling (not Voilà's own tab-close shutdown) is what stops the kernel and revokes.

One standalone ``voila notebook.ipynb`` server for the module, in its own Jupyter dirs (scripts/demo.py's
``jupyter_environment``), pointed at the session's fake Kiwoom, with idle culling switched on as the README
tells dashboard users to do.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect

from conftest import PAGE_LOAD, REPO, Panel, free_port, jupyter_environment, wait_until, write_notebook

#: seconds a kernel without a browser connection may stay idle before Voilà's culler shuts it down
CULL_IDLE = 10
CULL_INTERVAL = 2

USE_TOKEN = """\
import os

import httpx
import ipywidgets as widgets
from IPython.display import display

out = widgets.Output()
button = widgets.Button(description="Use the token")

def use_token(_button):
    with out:
        out.clear_output()
        response = httpx.post(
            os.environ["KIWOOM_BASE_URL"] + "/api/dostk/stkinfo",
            headers={"authorization": f"Bearer {kiwoom_token}", "api-id": "ka10001",
                     "Content-Type": "application/json;charset=UTF-8"},
            json={"stk_cd": "005930"},
        )
        info = response.json()
        print("token works:", info["return_msg"], "|", info.get("stk_nm"), info.get("cur_prc"))

button.on_click(use_token)
display(widgets.VBox([button, out]))"""

CELLS = ["%load_ext kiwoom_nb", "%kiwoom_login", USE_TOKEN]


@dataclass
class VoilaServer:
    url: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kernel_exists(self, kernel_id: str) -> bool:
        """Voilà's own kernels API: 200 while the kernel runs, 404 once it is gone."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/kernels/{kernel_id}", timeout=10):
                return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise


@contextmanager
def serve_voila(notebook: Path, fake, base: Path, *options: str) -> Iterator[VoilaServer]:
    """Voilà serving ``notebook`` (in its folder) against the fake, until the block ends: then SIGTERM, which
    shuts its kernels down on the way out."""
    env = jupyter_environment(base / "home", fake)
    log = base / "voila.log"
    port = free_port()
    args = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0", *options]
    with open(log, "ab") as out:
        process = subprocess.Popen(args, env=env, cwd=notebook.parent, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = VoilaServer(f"http://127.0.0.1:{port}", process, log)

    def ready() -> bool:
        if process.poll() is not None:
            return True
        try:  # a static file: asking for "/" would start a kernel
            urllib.request.urlopen(f"{server.url}/voila/static/", timeout=5).close()
        except urllib.error.HTTPError:
            return True  # it answered
        except OSError:
            return False
        return True

    try:
        wait_until(ready, 120, f"Voilà to answer on port {port}")
        if process.poll() is not None:
            pytest.fail(f"Voilà did not start:\n{server.log_text()[-3000:]}")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="module")
def voila(fake, tmp_path_factory):
    base = tmp_path_factory.mktemp("voila")
    root = base / "root"
    root.mkdir()
    notebook = write_notebook(root, "dashboard.ipynb", CELLS)
    with serve_voila(notebook, fake, base, f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE}",
                     f"--MappingKernelManager.cull_interval={CULL_INTERVAL}") as server:
        yield server


def test_voila_panel_login_and_cull(voila, page, fake):
    page.goto(voila.url + "/", timeout=PAGE_LOAD)
    panel = Panel(page)
    expect(panel.root).to_be_visible(timeout=PAGE_LOAD)
    expect(panel.login_button).to_be_enabled()
    kernel_id = json.loads(page.locator("#jupyter-config-data").text_content())["kernelId"]
    assert voila.kernel_exists(kernel_id)

    before = len(fake.tokens)
    panel.log_in(*fake.keys["production"])
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")
    issued = wait_until(lambda: fake.tokens[before:], 10, "the fake to issue a token")
    assert [t.environment for t in issued] == ["production"]
    token = issued[0].value
    assert fake.issues[-1].body["appkey"] == fake.keys["production"][0]

    page.get_by_role("button", name="Use the token").click()
    expect(page.get_by_text("token works:")).to_contain_text(
        re.compile(r"정상적으로 처리되었습니다 \| 삼성전자 [+-]?\d{4,}"))  # the market's price at the fake's clock
    assert fake.received("/api/dostk/stkinfo")[-1].headers["authorization"] == f"Bearer {token}"
    text = page.locator("body").inner_text()
    assert token not in text and fake.keys["production"][1] not in text

    out = REPO / "test-results"
    out.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=str(out / "voila-dashboard.png"), full_page=True)

    # Closing the tab: Voilà's page sends a beacon asking the server to shut its kernel down, and
    # Voilà 0.5.13 refuses it (403, no _xsrf cookie), so the kernel lives on until the culler finds it
    # idle with no browser connected: a graceful shutdown, so the token is revoked.
    page.close(run_before_unload=True)
    wait_until(lambda: not voila.kernel_exists(kernel_id), CULL_IDLE + 60, "the culler to shut the kernel down")
    wait_until(lambda: any(r.body.get("token") == token for r in fake.revokes if isinstance(r.body, dict)), 20,
               "the revoke after culling")
    assert not fake.is_live(token)
    log = voila.log_text().splitlines()
    beacon = [line for line in log if f"POST /voila/api/shutdown/{kernel_id}" in line]
    assert beacon and all(line.startswith("403 ") for line in beacon if line[:3].isdigit()), beacon
    assert any("Culling 'idle' kernel" in line and kernel_id in line for line in log), "\n".join(log[-20:])
