"""Canary keys must not reach anything that is saved or broadcast: IOPub, notebooks, history, logs, config."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from queue import Empty

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from kiwoom_nb.store._clock import live_now
from support import CANARY, Kernel, wait_for

pytestmark = pytest.mark.kernel

APPKEY, SECRETKEY = CANARY["production"]
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def secrets_in(text: str, *extra: str) -> list[str]:
    """Which of the canary keys (and any extra secrets, e.g. the full token) occur in ``text``."""
    return [s for s in (APPKEY, SECRETKEY, *CANARY["mock"], *extra) if s and s in text]


def drain(kernel: Kernel, until, timeout: float = 15.0, since: int | None = None) -> dict:
    """Read IOPub into ``kernel.iopub`` until a message satisfies ``until``. ``since``: an index of ``kernel.iopub``
    (its length before a cell ran): what the cell's own run read from there on counts too, since a board's update
    can arrive before the cell's end."""
    if since is not None:
        found = next((m for m in kernel.iopub[since:] if until(m)), None)
        if found is not None:
            return found
    deadline = __import__("time").monotonic() + timeout
    while True:
        try:
            msg = kernel.kc.get_iopub_msg(timeout=0.1)
        except Empty:
            msg = None
        if msg is not None:
            kernel.iopub.append(msg)
            if until(msg):
                return msg
        if __import__("time").monotonic() > deadline:
            raise AssertionError("timed out waiting for an IOPub message")


def widget_models(kernel: Kernel) -> dict[str, str]:
    """model_id by a readable name, from the comm_open messages the panel produced."""
    found = {}
    for msg in kernel.iopub:
        if msg["msg_type"] != "comm_open":
            continue
        state = msg["content"]["data"].get("state", {})
        name = state.get("_model_name", "")
        label = state.get("description", "")
        found[f"{name}:{label}" if label else f"{name}:{msg['content']['comm_id']}"] = msg["content"]["comm_id"]
    return found


def send_to_widget(kernel: Kernel, comm_id: str, data: dict) -> None:
    """Send a comm_msg exactly as a browser's widget manager does."""
    kernel.kc.shell_channel.send(kernel.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def model(models: dict[str, str], prefix: str, label_part: str) -> str:
    return next(cid for key, cid in models.items() if key.startswith(prefix) and label_part in key)


def status_update(text: str):
    return lambda msg: msg["msg_type"] == "comm_msg" and text in json.dumps(msg["content"]["data"], ensure_ascii=False)


def test_panel_login_over_the_widget_protocol_leaks_nothing(start_kernel, kernel_env, fake, tmp_path):
    env = {k: v for k, v in kernel_env.items() if k not in ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY")}
    env["SCAN_FOR"] = f"{APPKEY},{SECRETKEY}"  # lets a scan cell look for the keys without naming them
    log_path = tmp_path / "kernel.log"
    kernel = start_kernel(env=env, log_path=log_path)
    # our logger and the HTTP stack's at DEBUG (the comm layer's own DEBUG log prints every widget
    # message verbatim, keys included: that one is the user's choice to turn on, see the README)
    kernel.ok("import logging, sys\nlogging.basicConfig(stream=sys.__stderr__)\n"
              "for name in ('kiwoom_nb', 'httpx', 'httpcore'): logging.getLogger(name).setLevel(logging.DEBUG)")
    shown = kernel.ok("%load_ext kiwoom_nb\n%kiwoom_login", allow_stdin=True)
    assert shown.data("application/vnd.jupyter.widget-view+json"), shown.outputs
    models = widget_models(kernel)
    appkey_id, secret_id = model(models, "TextModel", "App key"), model(models, "PasswordModel", "Secret key")
    button_id = model(models, "ButtonModel", "Log in")

    # a wrong secret first: the panel shows the error, then the right keys log in
    for secret, expected in (("WRONG-SECRET-123456", "8001"), (SECRETKEY, "logged in as kiwoom_token")):
        send_to_widget(kernel, appkey_id, {"method": "update", "state": {"value": APPKEY}, "buffer_paths": []})
        send_to_widget(kernel, secret_id, {"method": "update", "state": {"value": secret}, "buffer_paths": []})
        send_to_widget(kernel, button_id, {"method": "custom", "content": {"event": "click"}})
        drain(kernel, status_update(expected))

    token = wait_for(fake.live_tokens, 5, "a live token")[0]
    used = kernel.ok("print(isinstance(kiwoom_token, str), kiwoom_token.mock, len(kiwoom_token) > 20)")
    assert used.stdout.split() == ["True", "False", "True"]
    scan = kernel.ok(
        "def _scan():\n"
        "    import os\n"
        "    words = os.environ['SCAN_FOR'].split(',')\n"
        "    ns = get_ipython().user_ns\n"
        "    return sorted(n for n, v in ns.items() if n != '_scan' and any(w in repr(v) or w in str(v) for w in words))\n"
        "print(_scan())"
    )
    assert scan.stdout.strip() == "[]"
    for cell in ("%kiwoom_status", "%config KiwoomMagics", "kiwoom_token", "print(In, _ih)"):
        kernel.ok(cell)

    kernel.shutdown()
    wait_for(lambda: fake.revokes, 5, "the revoke at shutdown")
    assert [r.body["token"] for r in fake.revokes] == [token]

    iopub = json.dumps([{k: m[k] for k in ("header", "parent_header", "metadata", "content")} for m in kernel.iopub],
                       ensure_ascii=False, default=str)
    assert "echo_update" not in iopub  # ipywidgets would echo the keys here
    assert secrets_in(iopub, token) == []
    history = sqlite3.connect(Path(env["IPYTHONDIR"]) / "profile_default" / "history.sqlite")
    sources = " ".join(row[0] for row in history.execute("select source_raw from history"))
    assert "kiwoom_login" in sources
    assert secrets_in(sources, token) == []
    log_text = log_path.read_text("utf-8", "replace")
    assert "/oauth2/token" in log_text and "/oauth2/revoke" in log_text  # the log did record the requests
    assert secrets_in(log_text, token) == []


def execute(nb, tmp_path: Path, name: str) -> str:
    """Run a notebook like CI does (nbclient, widget state stored), save it, return the saved text."""
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / name
    nbformat.write(nb, path)
    return path.read_text("utf-8")


@pytest.fixture
def nb_env(monkeypatch, fake, tmp_path):
    """nbclient's kernels inherit this process's environment: point it at the fake, with canary keys."""
    for key, value in {**fake.environ("production"), **fake.environ("mock")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return fake


def test_nbclient_saved_notebook_with_widget_state_holds_no_secret(nb_env, tmp_path):
    fake = nb_env
    nb = new_notebook(cells=[new_code_cell(src) for src in (
        "%load_ext kiwoom_nb",
        "import os, kiwoom_nb\npanel = kiwoom_nb.LoginPanel()\npanel",
        # what the browser does when the user types and clicks: state updates, then a click
        "panel._appkey.set_state({'value': os.environ['KIWOOM_APPKEY']})\n"
        "panel._secretkey.set_state({'value': os.environ['KIWOOM_SECRETKEY']})\n"
        "panel._login_button.click()\nprint(panel.status)",
        "%kiwoom_login --mock --var mock_token",
        "%kiwoom_status",
        "kiwoom_token",
    )])
    saved = execute(nb, tmp_path, "panel.ipynb")
    assert "logged in as kiwoom_token" in saved and "logged in as mock_token" in saved
    assert "application/vnd.jupyter.widget-state+json" in saved  # widget state was stored
    tokens = [t.value for t in fake.tokens]
    assert len(tokens) == 2
    assert secrets_in(saved, *tokens) == []
    assert len(fake.revokes) == 2  # the end of an nbclient run revokes both


def test_the_scan_catches_a_stock_password_widget(nb_env, tmp_path):
    """The same scan finds the key when a plain ipywidgets.Password is used: the test can fail."""
    nb = new_notebook(cells=[new_code_cell(
        "import os, ipywidgets\nw = ipywidgets.Password()\ndisplay(w)\n"
        "w.set_state({'value': os.environ['KIWOOM_SECRETKEY']})"
    )])
    assert SECRETKEY in execute(nb, tmp_path, "stock.ipynb")


# what a reader of each notebook must see printed (issue 19, finding 7: the quickstart printed "-160400"
# right under the cell that explains that a price's sign is its direction)
PRINTED = {"quickstart.ipynb": ["정상적으로 처리되었습니다 | 삼성전자 160,400원 ▼ -8,700 (-5.14%)"], "headless.ipynb": [], "live.ipynb": [], "trade.ipynb": []}


@pytest.mark.parametrize("name", ["quickstart.ipynb", "headless.ipynb", "live.ipynb", "trade.ipynb"])
def test_project_notebooks_run_headless_and_save_clean(nb_env, tmp_path, name):
    fake = nb_env
    if name == "quickstart.ipynb":  # its printed line is 2026-12-01's close, the fake's hand-picked price
        fake.clock.set("2026-12-01 15:40")
    live = {live_now("D", False)}  # the store judges today's bar by the real clock: growing in a KRX session
    saved = execute(nbformat.read(NOTEBOOKS / name, as_version=4), tmp_path, name)
    live.add(live_now("D", False))
    assert '"output_type": "error"' not in saved
    printed = "".join(output.get("text", "") for cell in nbformat.reads(saved, as_version=4).cells
                      if cell.cell_type == "code" for output in cell.outputs)
    for line in PRINTED[name]:
        assert line in printed.splitlines(), printed
    assert "-160400" not in printed
    if name == "quickstart.ipynb":  # the re-run of the candles cell is answered by the store: no page after the close,
        # one (today's growing bar) in a session; the store's own line stays quiet under nbclient, as the progress bar
        rerun = re.findall(r"^(\d+) rows, (\d+) page\(s\) fetched$", printed, re.M)
        assert len(rerun) == 1 and int(rerun[0][0]) > 50 and int(rerun[0][1]) in {int(x) for x in live}, printed
        assert "from the store" not in printed, printed
    if name == "live.ipynb":  # logged in from the environment: the boards open at once, saved with the widget state
        assert "실시간 시세 — live board (0B)" in saved and "호가 — order book (0D)" in saved
    if name == "trade.ipynb":  # the ticket, the order feed and the positions board under Korean headers; no order
        assert "확인" in saved and "잔고 — positions" in saved and "<th>보유</th>" in saved and fake.orders == []
        assert "rmnd_qty" not in saved and "stk_cd" not in saved  # no wire column names on the page
    assert "logged in as kiwoom_token" in saved
    assert secrets_in(saved, *[t.value for t in fake.tokens]) == []
    # logged out in the notebook or revoked at the end of the run; a stream hub's once its grace period passed
    wait_for(lambda: fake.live_tokens() == [], 20, "every token revoked")


def test_the_quickstart_says_how_to_install_an_extra_from_the_clone():
    """kiwoom-nb is not on PyPI (issue 19, finding 11): `pip install 'kiwoom-nb[demo]'` cannot work."""
    source = "".join("".join(cell.source) for cell in nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4).cells)
    assert "'kiwoom-nb[" not in source and "pip install -e '.[demo]'" in source


@pytest.mark.parametrize("name", ["quickstart.ipynb", "headless.ipynb", "live.ipynb", "trade.ipynb"])
def test_committed_notebooks_have_no_outputs_or_widget_state(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_keys_saved_in_and_read_from_the_keyring_leak_nowhere_else(start_kernel, keyring_env, fake, tmp_path,
                                                                   monkeypatch):
    """--remember in one kernel, login from the keyring in the next and in an nbclient run: the keys
    reach no output, IOPub message, history, %config, log, saved notebook or file but the keyring's."""
    env = {k: v for k, v in keyring_env.items() if k not in ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY")}
    debug = ("import logging, sys\nlogging.basicConfig(stream=sys.__stderr__)\n"
             "for name in ('kiwoom_nb', 'httpx', 'httpcore', 'keyring'): logging.getLogger(name).setLevel(logging.DEBUG)")
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = start_kernel(env=env, log_path=logs[0])
    first.ok(debug)
    first.ok("%load_ext kiwoom_nb")
    first.ok("%kiwoom_login --prompt --remember",
             stdin=lambda request: APPKEY if "app key" in request["content"]["prompt"] else SECRETKEY)
    for cell in ("%kiwoom_status", "%config KiwoomMagics", "print(In, _ih)", "%kiwoom_logout"):
        first.ok(cell)
    first.shutdown()

    second = start_kernel(env=env, log_path=logs[1])
    second.ok(debug)
    second.ok("%load_ext kiwoom_nb")
    assert "keys from OS keyring (kiwoom_nb, production)" in second.ok("%kiwoom_login").stdout
    for cell in ("%kiwoom_status", "%config KiwoomMagics", "kiwoom_token", "print(In, _ih)"):
        second.ok(cell)
    second.shutdown()

    for name, value in env.items():  # nbclient's kernel inherits this process's environment
        monkeypatch.setenv(name, value)
    nb = new_notebook(cells=[new_code_cell(src) for src in (
        "%load_ext kiwoom_nb", "%kiwoom_login", "%kiwoom_status", "%config KiwoomMagics")])
    notebook = execute(nb, tmp_path, "from-keyring.ipynb")
    assert "keys from OS keyring (kiwoom_nb, production)" in notebook

    tokens = [t.value for t in fake.tokens]
    assert len(tokens) == 3 and fake.live_tokens() == []
    iopub = json.dumps([m["content"] for m in first.iopub + second.iopub], ensure_ascii=False, default=str)
    assert secrets_in(iopub, *tokens) == []
    history = sqlite3.connect(Path(env["IPYTHONDIR"]) / "profile_default" / "history.sqlite")
    sources = " ".join(row[0] for row in history.execute("select source_raw from history"))
    assert "--remember" in sources and secrets_in(sources, *tokens) == []
    log_text = "".join(path.read_text("utf-8", "replace") for path in logs)
    assert "/oauth2/token" in log_text and secrets_in(log_text, *tokens) == []
    keyring_file = Path(env["KIWOOM_TEST_KEYRING"])
    assert APPKEY in keyring_file.read_text("utf-8")  # the one place the keys are meant to be
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != keyring_file]
    assert [str(p) for p in written if secrets_in(p.read_text("utf-8", "replace"), *tokens)] == []
