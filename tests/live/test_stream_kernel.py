"""kiwoom_nb.stream() in real kernels: async for in a cell, %kiwoom_logout and every way a kernel ends close the
stream before the token is revoked (the fake saw both), and a headless run ends cleanly with a stream open."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from support import logged_in, the_token, wait_for

pytestmark = pytest.mark.kernel
pytest.importorskip("pandas")

OPEN = "live = kiwoom_nb.stream(); live.watch(['005930'], '0B'); print(str(live.status).split()[0])"


def opened(start_kernel):
    kernel = logged_in(start_kernel)
    kernel.ok("import kiwoom_nb")
    assert kernel.ok(OPEN).stdout.strip() == "connected"
    return kernel


def closed_then_revoked(fake, token):
    """The stream's socket closed (a close frame, or the connection gone) before the token's revoke arrived."""
    wait_for(lambda: fake.ws.closes and [r for r in fake.revokes if r.body["token"] == token], 10,
             "the socket's close and the revoke")
    [(_, _, closed_at)] = fake.ws.closes
    [revoke] = [r for r in fake.revokes if r.body["token"] == token]
    assert closed_at <= revoke.at
    return fake.ws.closes[0][1]


@pytest.mark.in_process  # the kernel's own socket (test_hub_kernel.py: the same with the hub)
def test_the_stream_logs_in_with_the_notebooks_token_and_async_for_works_in_a_cell(fake, start_kernel):
    kernel = opened(start_kernel)
    token = the_token(fake)

    assert fake.ws.received("LOGIN")[0].data["token"] == token
    got = kernel.ok("items = []\nasync for event in live:\n    items.append(event.item)\n    if len(items) == 3: break\n"
                    "print(items, live.frame('0B')['cur_prc'].gt(0).all())")
    assert got.stdout.strip() == "['005930', '005930', '005930'] True"
    assert got.stderr == ""


@pytest.mark.in_process  # the kernel's own socket (test_hub_kernel.py: the same with the hub)
def test_kiwoom_logout_closes_the_stream_first(fake, start_kernel):
    kernel = opened(start_kernel)
    token = the_token(fake)
    kernel.ok("%kiwoom_logout")

    assert closed_then_revoked(fake, token) == 1000
    assert kernel.ok("print(live.status)").stdout.startswith("stopped")


@pytest.mark.in_process  # the kernel's own socket (test_hub_kernel.py: the same with the hub)
@pytest.mark.parametrize("how", ["shutdown", "sigterm"])
def test_when_the_kernel_ends_the_socket_closes_and_then_the_token_is_revoked(fake, start_kernel, how):
    kernel = opened(start_kernel)
    token = the_token(fake)
    process = kernel.process
    if how == "sigterm":  # how VS Code stops a kernel
        kernel.km.signal_kernel(signal.SIGTERM)
        kernel.wait_exit()
    else:
        kernel.shutdown()
    assert process.poll() is not None
    closed_then_revoked(fake, token)


@pytest.mark.in_process  # the kernel's own socket (test_hub_kernel.py: the same with the hub)
def test_a_silent_server_does_not_hold_the_exit_revoke(fake, start_kernel):
    kernel = opened(start_kernel)
    kernel.ok("live.watch_condition('1')")
    token = the_token(fake)
    fake.ws.hang = True  # CNSRCLR goes unanswered
    started = time.monotonic()
    kernel.km.signal_kernel(signal.SIGTERM)
    kernel.wait_exit()

    [revoke] = [r for r in fake.revokes if r.body["token"] == token]
    assert revoke.at - started < 2.5  # Jupyter's shutdown budget


@pytest.mark.parametrize("runner", [["jupyter", "execute", "--output", "out.ipynb", "in.ipynb"],
                                    ["papermill", "in.ipynb", "out.ipynb"]], ids=["nbclient", "papermill"])
def test_a_headless_run_ends_cleanly_with_a_stream_open(fake, kernel_env, tmp_path, runner):
    cells = ["%load_ext kiwoom_nb", "%kiwoom_login", "import kiwoom_nb", OPEN,
             "print(next(iter(live.events(timeout=5))).type)"]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", *runner],
                          env=kernel_env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    saved = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert saved.cells[-1].outputs[0]["text"].strip() == "0B"
    every = {t.value for t in fake.tokens}
    wait_for(lambda: fake.ws.closes and {r.body["token"] for r in fake.revokes} >= every, 20,
             "the socket closed and every token revoked (the hub's after its grace period)")
    assert time.monotonic() - started < 60


@pytest.mark.in_process  # the kernel's own socket (test_hub_kernel.py: the same with the hub)
def test_a_login_refused_with_8005_reissues_through_the_session_and_the_variable_follows(fake, start_kernel):
    kernel = logged_in(start_kernel)
    old = the_token(fake)
    fake.ws.refuse_next_login()
    kernel.ok("import kiwoom_nb")
    assert kernel.ok(OPEN).stdout.strip() == "connected"

    new = fake.tokens[-1].value
    assert new != old and [f.data["token"] for f in fake.ws.received("LOGIN")] == [old, new]
    assert kernel.ok(f"print(kiwoom_token == {new!r})").stdout.strip() == "True"


def test_a_mock_stream_goes_to_the_mock_socket_and_never_to_the_production_one(fake, start_kernel, kernel_env):
    kernel = logged_in(start_kernel, "%kiwoom_login --mock --var mock_token", env={**kernel_env, **fake.environ("mock")})
    kernel.ok("import kiwoom_nb\nlive = kiwoom_nb.stream(mock=True)\nlive.watch(['005930'], '0B')")

    [login] = fake.ws.received("LOGIN")
    mock_tokens = [t.value for t in fake.tokens if t.environment == "mock"]  # the kernel's, or its hub's
    assert login.environment == "mock" and login.data["token"] in mock_tokens
    kernel.ok(f"%config KiwoomMagics.mock_ws_url = {fake.ws_url!r}")
    refused = kernel.run("kiwoom_nb.stream(mock=True)").error
    assert refused["ename"] == "KiwoomError" and "production WebSocket" in refused["evalue"]


@pytest.mark.in_process  # the kernel's own socket (test_hub_kernel.py: the same with the hub)
def test_a_reissue_on_the_sockets_thread_runs_no_cell_hook_there_and_the_variable_follows_by_the_next_cell(
        fake, start_kernel):
    kernel = opened(start_kernel)
    old = the_token(fake)
    kernel.ok("import threading\npushed = []\n_push = get_ipython().push\n"
              "def _spy(values, interactive=True):\n"
              "    pushed.append(threading.current_thread() is threading.main_thread())\n"
              "    return _push(values, interactive)\n"
              "get_ipython().push = _spy")
    fake.ws.refuse_next_login()
    fake.ws.drop()  # the reconnect's LOGIN is refused: the socket's thread re-issues the token
    wait_for(lambda: len(fake.ws.received("LOGIN")) == 3 and fake.ws.live(), 20, "the re-issue and the new LOGIN")

    new = fake.ws.received("LOGIN")[-1].data["token"]
    assert new != old
    shown = kernel.ok(f"print(pushed, kiwoom_token == {new!r})")
    assert shown.stdout.strip().endswith("] True") and shown.stderr == ""
    assert "True" in shown.stdout.split("]")[0] and "False" not in shown.stdout  # pushed, on the main thread only
