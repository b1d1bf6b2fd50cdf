"""Real kernels through jupyter_client, logged in against the fake Kiwoom on loopback (issue 3).

Every assertion is about what a notebook user sees (outputs, variables, messages on IOPub) or what
Kiwoom receives (au10001 / au10002 requests and which tokens are still live).
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from datetime import timedelta
from typing import Any

import pytest
from support import (CANARY, Kernel, Result, holds, logged_in, revoked_when_done, revoker_pid, the_token, wait_for,
                     wait_gone)

pytestmark = pytest.mark.kernel

KEYS = CANARY["production"]
ALL_KEYS = (*CANARY["production"], *CANARY["mock"])
CONTENT_TYPE = "application/json;charset=UTF-8"
CONFIG_EXTENSION = ["--InteractiveShellApp.extensions=kiwoom_nb"]

#: Prints how many pre_run_cell hooks of ours the shell has, and how many KiwoomMagics objects are
#: alive: an atexit, signal or magic registration left behind would keep an old one alive.
COUNT_HOOKS = """
import gc
from kiwoom_nb.notebook._magics import KiwoomMagics
gc.collect()
hooks = get_ipython().events.callbacks['pre_run_cell']
print(sum(isinstance(getattr(cb, '__self__', None), KiwoomMagics) for cb in hooks),
      sum(isinstance(o, KiwoomMagics) for o in gc.get_objects()))
"""

#: A SIGTERM handler installed before the extension: it leaves a marker and ends the process.
PREVIOUS_SIGTERM_HANDLER = """
import os, signal
def _previous_handler(signum, frame):
    open({marker!r}, "w").close()
    os._exit(0)
signal.signal(signal.SIGTERM, _previous_handler)
"""


# -- helpers ------------------------------------------------------------------------------------



def without_keys(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY")}


def is_undefined(kernel: Kernel, var: str) -> bool:
    return kernel.run(var).reply.get("ename") == "NameError"


def revoked(fake) -> list[str]:
    """The tokens of every au10002 the fake received, in order."""
    return [request.body["token"] for request in fake.revokes]


def assert_revoke(request, token: str, environment: str = "production") -> None:
    """One au10002 exactly as documented: the environment's keys and the token, nothing else."""
    appkey, secretkey = CANARY[environment]
    assert request.environment == environment
    assert request.body == {"appkey": appkey, "secretkey": secretkey, "token": token}
    assert request.headers["api-id"] == "au10002"
    assert request.headers["content-type"] == CONTENT_TYPE


def one_revoke(fake, token: str, revoker: int | None = None, timeout: float = 10) -> None:
    """Exactly one au10002 arrived (waiting up to ``timeout`` for it), and it revoked ``token``.

    ``revoker``: the pid of the revoker process of a kernel that ended; counted only once it has exited,
    so a duplicate revoke of its own, however late, is counted too.
    """
    wait_for(lambda: fake.revokes, timeout, "a revoke")
    if revoker is not None:
        wait_gone(revoker, timeout)
    [request] = fake.revokes
    assert_revoke(request, token)
    assert not fake.is_live(token)


def assert_no_secret(messages: list[dict[str, Any]], *secrets: str) -> None:
    text = json.dumps([m["content"] for m in messages], ensure_ascii=False, default=str)
    leaked = [s[:12] + "…" for s in secrets if s in text]
    assert not leaked, f"secrets on IOPub: {leaked}"


def run_traced(kernel: Kernel, code: str, **kwargs: Any) -> tuple[Result, list[dict[str, Any]]]:
    """Run a cell and return its result with every IOPub message that arrived meanwhile."""
    seen = len(kernel.iopub)
    result = kernel.run(code, **kwargs)
    return result, kernel.iopub[seen:]


def one_line_error(result: Result, ename: str | None = None) -> str:
    """The cell failed with a KiwoomError shown as one line: an IOPub ``error`` message (what nbval,
    papermill and nbclient report) whose traceback is that line, nothing on stderr. Returns the message."""
    assert result.reply["status"] == "error", result.stdout
    message = result.reply["evalue"]
    assert message and "\n" not in message
    if ename is not None:
        assert result.reply["ename"] == ename, result.reply
    assert result.reply["traceback"] == [f"{result.reply['ename']}: {message}"]
    assert result.error is not None and result.error["evalue"] == message
    assert result.error["traceback"] == result.reply["traceback"]
    assert result.stderr == ""
    return message


def failing_login(kernel: Kernel, line: str, *secrets: str) -> str:
    """Run a login cell that must fail with a one-line error that shows no secret."""
    result, messages = run_traced(kernel, line)
    message = one_line_error(result)
    assert message.startswith("Login (au10001) failed"), message
    assert_no_secret(messages, *ALL_KEYS, *secrets)
    return message


def stop_and_wait(kernel: Kernel, code: str | None = None, signum: int | None = None) -> int:
    """Make the kernel end by itself (a cell or a signal) and return its exit code."""
    if code is not None:
        kernel.kc.execute(code)
    if signum is not None:
        kernel.km.signal_kernel(signum)
    return kernel.wait_exit()


# -- 1. logging in from the environment ------------------------------------------------------------


def test_login_from_environment_prints_one_line_and_puts_a_masked_token_in_the_namespace(fake, start_kernel):
    kernel = start_kernel()
    kernel.ok("%load_ext kiwoom_nb")
    kernel.ok("portfolio = 1")
    result, messages = run_traced(kernel, "%kiwoom_login")
    assert result.reply["status"] == "ok"
    token = the_token(fake)

    [line] = result.stdout.splitlines()
    for expected in ("실전투자", "kiwoom_token", "KST", "environment"):
        assert expected in line
    assert re.search(r"\b23h \d\dm left\b", line), line
    assert result.stderr == ""
    assert_no_secret(messages, *KEYS, token, token[:-4])

    [issue] = fake.issues
    assert issue.environment == "production"
    assert issue.body == {"grant_type": "client_credentials", "appkey": KEYS[0], "secretkey": KEYS[1]}
    assert issue.headers["content-type"] == CONTENT_TYPE
    assert issue.headers["api-id"] == "au10001"

    assert holds(kernel, "kiwoom_token", token)
    usable = kernel.ok(f'print(isinstance(kiwoom_token, str), f"Bearer {{kiwoom_token}}" == {"Bearer " + token!r})')
    assert usable.stdout.split() == ["True", "True"]

    [shown] = kernel.ok("kiwoom_token").data("text/plain")
    assert token[-4:] in shown
    assert not [token[i : i + 5] for i in range(len(token) - 4) if token[i : i + 5] in shown], shown

    listed = kernel.ok("%who").stdout
    assert "portfolio" in listed and "kiwoom_token" not in listed


# -- 2. exactly one revoke however the kernel ends ---------------------------------------------


def graceful_shutdown(kernel: Kernel) -> None:
    kernel.shutdown()


def exit_in_a_cell(kernel: Kernel) -> None:
    stop_and_wait(kernel, code="exit()")


def bare_sigterm(kernel: Kernel) -> None:  # how VS Code stops a kernel
    stop_and_wait(kernel, signum=signal.SIGTERM)


@pytest.mark.parametrize("stop", [graceful_shutdown, exit_in_a_cell, bare_sigterm], ids=lambda stop: stop.__name__)
def test_the_token_is_revoked_once_when_the_kernel_ends(fake, start_kernel, stop):
    kernel = logged_in(start_kernel)
    token, revoker = the_token(fake), revoker_pid(kernel)
    process = kernel.process
    stop(kernel)
    assert process.poll() is not None
    one_revoke(fake, token, revoker)


def test_sigterm_revokes_and_then_runs_the_previous_handler(fake, start_kernel, tmp_path):
    marker = tmp_path / "previous-handler-ran"
    kernel = start_kernel()
    kernel.ok(PREVIOUS_SIGTERM_HANDLER.format(marker=str(marker)))
    kernel.ok("%load_ext kiwoom_nb")
    kernel.ok("%kiwoom_login")
    token, revoker = the_token(fake), revoker_pid(kernel)
    assert stop_and_wait(kernel, signum=signal.SIGTERM) == 0  # the previous handler's os._exit(0)
    one_revoke(fake, token, revoker)
    assert marker.exists()


def test_restart_revokes_the_old_token_and_the_new_kernel_logs_in(fake, start_kernel):
    kernel = logged_in(start_kernel)
    old, revoker = the_token(fake), revoker_pid(kernel)
    old_process = kernel.process
    kernel.shutdown(restart=True)
    assert old_process.poll() is not None
    one_revoke(fake, old, revoker)

    kernel.kc = kernel.km.client()
    kernel.kc.start_channels()
    kernel.kc.wait_for_ready(timeout=60)
    kernel.ok("%load_ext kiwoom_nb")
    assert "logged in as kiwoom_token" in kernel.ok("%kiwoom_login").stdout
    new = the_token(fake)
    assert new != old and holds(kernel, "kiwoom_token", new)
    assert revoked(fake) == [old]


def test_an_nbclient_run_revokes_its_token_when_it_ends(fake, kernel_env, monkeypatch, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    for name in [n for n in os.environ if n.startswith("KIWOOM_")]:
        monkeypatch.delenv(name)
    for name, value in kernel_env.items():  # NotebookClient's kernel inherits this process's environment
        monkeypatch.setenv(name, value)
    cells = [nbformat.v4.new_code_cell(source) for source in ("%load_ext kiwoom_nb", "%kiwoom_login", "%kiwoom_status")]
    notebook = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(notebook, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()

    [issued] = fake.tokens
    status = notebook.cells[2].outputs[0]["data"]["text/plain"]
    wait_gone(int(re.search(r"revoker process (\d+)", status).group(1)))
    [request] = fake.revokes
    assert_revoke(request, issued.value)
    assert "logged in as kiwoom_token" in notebook.cells[1].outputs[0]["text"]
    saved = nbformat.writes(notebook)
    assert not [s for s in (*KEYS, issued.value) if s in saved]


# -- 3. an unresponsive revoke server does not hold the kernel ---------------------------------


@pytest.mark.parametrize("how", ["shutdown-request", "manager-shutdown"])
def test_an_unresponsive_revoke_server_does_not_hold_the_shutdown(fake, start_kernel, how):
    """How fast it exits is measured by bench/bench.py (goal: < 2.5 s); here, that it exits by itself."""
    kernel = logged_in(start_kernel, "%config KiwoomMagics.timeout = 1", "%kiwoom_login")
    token = the_token(fake)
    fake.hang_revoke = True
    process = kernel.process
    if how == "shutdown-request":
        kernel.kc.shutdown()
        code = kernel.wait_exit(timeout=30)
    else:
        kernel.km.shutdown_kernel()  # waits its shutdown_wait_time (5 s), then kills: a negative exit code
        code = process.poll()
    assert code == 0, "the kernel was killed instead of exiting by itself"
    assert revoked(fake)[0] == token  # the kernel tried, and Kiwoom never answered
    fake.hang_revoke = False  # Kiwoom answers again: the revoker process finishes the job
    wait_for(lambda: not fake.is_live(token), 15, "the revoker's revoke")


# -- 4. re-running %kiwoom_login ---------------------------------------------------------------


def test_rerunning_login_reuses_the_token(fake, start_kernel):
    kernel = logged_in(start_kernel)
    token = the_token(fake)
    [line] = kernel.ok("%kiwoom_login").stdout.splitlines()
    assert "already logged in" in line
    assert len(fake.issues) == 1
    assert holds(kernel, "kiwoom_token", token)


def test_force_issues_a_new_token_and_revokes_the_old_one(fake, start_kernel):
    kernel = logged_in(start_kernel)
    old = the_token(fake)
    kernel.ok("%kiwoom_login --force")
    new = the_token(fake)
    assert len(fake.issues) == 2 and new != old
    assert holds(kernel, "kiwoom_token", new)
    one_revoke(fake, old)


def test_force_that_gets_the_same_token_back_revokes_nothing(fake, start_kernel):
    fake.same_token = True
    kernel = logged_in(start_kernel, "%kiwoom_login", "%kiwoom_login --force")
    assert len(fake.issues) == 2 and len(fake.tokens) == 1
    token = the_token(fake)
    assert holds(kernel, "kiwoom_token", token)
    assert fake.revokes == []


# -- 5. production and mock side by side -------------------------------------------------------


def test_production_and_mock_side_by_side_are_both_revoked_at_shutdown(fake, kernel_env, start_kernel):
    env = {**kernel_env, **fake.environ("mock")}
    kernel = logged_in(start_kernel, "%kiwoom_login", "%kiwoom_login --mock --var mock_token", env=env)
    assert [request.environment for request in fake.issues] == ["production", "mock"]
    assert fake.issues[1].body["appkey"] == CANARY["mock"][0]
    tokens = {environment: the_token(fake, environment) for environment in ("production", "mock")}
    assert holds(kernel, "kiwoom_token", tokens["production"])
    assert holds(kernel, "mock_token", tokens["mock"])

    revoker = revoker_pid(kernel)
    kernel.shutdown()
    wait_gone(revoker)
    requests = sorted(fake.revokes, key=lambda request: request.environment)
    assert [request.environment for request in requests] == ["mock", "production"]
    for request in requests:
        assert_revoke(request, tokens[request.environment], request.environment)


# -- 6. two kernels sharing a token ------------------------------------------------------------


def test_two_kernels_sharing_a_token_revoke_it_only_when_the_last_one_ends(fake, start_kernel):
    fake.same_token = True
    first, second = logged_in(start_kernel), logged_in(start_kernel)  # same keys, same cache directory
    token = the_token(fake)
    assert holds(first, "kiwoom_token", token) and holds(second, "kiwoom_token", token)
    revokers = revoker_pid(first), revoker_pid(second)

    process = first.process
    first.shutdown()
    assert process.poll() is not None
    wait_gone(revokers[0])
    assert fake.revokes == [] and fake.is_live(token)
    assert holds(second, "kiwoom_token", token)

    second.shutdown()
    one_revoke(fake, token, revokers[1])


# -- 7. no keys in the environment -------------------------------------------------------------


def test_headless_without_keys_fails_at_once_naming_the_variables(fake, kernel_env, start_kernel):
    kernel = logged_in(start_kernel, "pass", env=without_keys(kernel_env))
    started = time.monotonic()
    message = one_line_error(kernel.run("%kiwoom_login", allow_stdin=False), "CredentialsError")
    assert time.monotonic() - started < 5
    assert "KIWOOM_APPKEY" in message and "KIWOOM_SECRETKEY" in message
    assert fake.issues == []
    assert is_undefined(kernel, "kiwoom_token")


def test_prompt_asks_for_both_keys_as_passwords(fake, kernel_env, start_kernel):
    kernel = logged_in(start_kernel, "pass", env=without_keys(kernel_env))
    asked: list[dict[str, Any]] = []

    def answer(request: dict[str, Any]) -> str:
        asked.append(request["content"])
        return KEYS[0] if "app key" in request["content"]["prompt"] else KEYS[1]

    panel = kernel.ok("%kiwoom_login", stdin=answer)  # a notebook that can show widgets gets the panel
    assert asked == [] and fake.issues == []
    assert panel.data("application/vnd.jupyter.widget-view+json")

    result = kernel.ok("%kiwoom_login --prompt", stdin=answer)
    assert [(("app key" in a["prompt"]), ("secret key" in a["prompt"]), a["password"]) for a in asked] == [
        (True, False, True),
        (False, True, True),
    ]
    [line] = result.stdout.splitlines()
    assert "logged in as kiwoom_token" in line and "keys from prompt" in line
    assert fake.issues[0].body["appkey"] == KEYS[0]
    assert holds(kernel, "kiwoom_token", the_token(fake))
    assert_no_secret(kernel.iopub, *KEYS)


# -- 8. each error shape at the magic ----------------------------------------------------------


@pytest.mark.parametrize(
    "failure", ["wrong_keys", "wrong_environment", "rate_limited", "maintenance", "server_error", "not_json", "hang"]
)
def test_a_failed_login_is_one_line_and_keeps_the_previous_token(fake, start_kernel, failure):
    kernel = logged_in(start_kernel, "%config KiwoomMagics.timeout = 1")
    fake.fail_next(failure, path="/oauth2/token")
    failing_login(kernel, "%kiwoom_login")
    assert is_undefined(kernel, "kiwoom_token")

    kernel.ok("%kiwoom_login")
    token = the_token(fake)
    fake.fail_next(failure, path="/oauth2/token")
    failing_login(kernel, "%kiwoom_login --force", token)
    assert holds(kernel, "kiwoom_token", token)
    assert fake.is_live(token) and fake.revokes == []

    revoker = revoker_pid(kernel)
    kernel.shutdown()
    one_revoke(fake, token, revoker)


# -- 9. refreshing before a cell ---------------------------------------------------------------


def refresh_due(fake, start_kernel) -> tuple[Kernel, str]:
    """A kernel logged in with a one-hour token that then asks for tokens to last two more hours."""
    fake.lifetime = timedelta(hours=1)
    kernel = logged_in(start_kernel, "%kiwoom_login", "%config KiwoomMagics.refresh_margin = 7200")
    assert len(fake.issues) == 1  # the margin applies from the next cell on
    return kernel, the_token(fake)


def test_a_token_near_expiry_is_replaced_before_the_next_cell(fake, start_kernel):
    kernel, old = refresh_due(fake, start_kernel)
    kernel.ok("%config KiwoomMagics.refresh_margin = 600")
    assert len(fake.issues) == 2
    new = the_token(fake)
    assert new != old and holds(kernel, "kiwoom_token", new)
    one_revoke(fake, old)


def test_a_refresh_that_returns_the_same_token_is_not_repeated_every_cell(fake, start_kernel):
    fake.same_token = True
    kernel, token = refresh_due(fake, start_kernel)
    for _ in range(4):
        kernel.ok("pass")
    assert len(fake.issues) == 2
    assert holds(kernel, "kiwoom_token", token)
    assert fake.revokes == [] and fake.is_live(token)


def test_a_failed_refresh_warns_in_one_line_and_the_cell_still_runs(fake, start_kernel):
    kernel, token = refresh_due(fake, start_kernel)
    fake.fail_next("server_error", path="/oauth2/token")
    result = kernel.ok('print("ran")')
    assert result.stdout == "ran\n"
    [warning] = result.stderr.splitlines()
    assert warning.startswith("kiwoom_nb:") and "kiwoom_token" in warning
    assert len(fake.issues) == 2
    assert holds(kernel, "kiwoom_token", token)


# -- 10. logging out ---------------------------------------------------------------------------


def test_logout_revokes_now_and_removes_the_variable(fake, start_kernel):
    kernel = logged_in(start_kernel)
    token, revoker = the_token(fake), revoker_pid(kernel)
    [line] = kernel.ok("%kiwoom_logout").stdout.splitlines()
    assert "logged out kiwoom_token" in line
    one_revoke(fake, token)
    assert is_undefined(kernel, "kiwoom_token")
    kernel.shutdown()
    assert revoked_when_done(fake, revoker) == [token]


def test_a_failed_logout_keeps_the_variable_and_is_retried_at_shutdown(fake, start_kernel):
    kernel = logged_in(start_kernel)
    token = the_token(fake)
    fake.fail_next("server_error", path="/oauth2/revoke")
    result, messages = run_traced(kernel, "%kiwoom_logout")
    assert "au10002" in one_line_error(result)
    assert_no_secret(messages, *KEYS, token)
    assert holds(kernel, "kiwoom_token", token) and fake.is_live(token)

    revoker = revoker_pid(kernel)
    kernel.shutdown()
    assert revoked_when_done(fake, revoker) == [token, token]  # the failed one, then the retry at exit
    assert not fake.is_live(token)


# -- 11. status and help -----------------------------------------------------------------------


def test_status_shows_a_masked_table_and_help_names_the_variables(fake, start_kernel):
    kernel = logged_in(start_kernel)
    token = the_token(fake)
    result, messages = run_traced(kernel, "%kiwoom_status")
    [table] = result.data("text/html")
    assert table.startswith("<table") and "실전투자" in table and "kiwoom_token" in table
    assert "…" + token[-4:] in table
    assert_no_secret(messages, *KEYS, token)

    [page] = kernel.ok("%kiwoom_login?").reply["payload"]
    assert "KIWOOM_APPKEY" in page["data"]["text/plain"] and "--mock" in page["data"]["text/plain"]


# -- 12. loading from config, unloading, reloading ---------------------------------------------


def count_hooks(kernel: Kernel) -> tuple[int, int]:
    """(pre_run_cell hooks of ours, KiwoomMagics objects alive) in the kernel."""
    hooks, alive = kernel.ok(COUNT_HOOKS).stdout.split()
    return int(hooks), int(alive)


def test_config_loading_unload_and_reload_keep_one_set_of_hooks(fake, start_kernel):
    kernel = start_kernel(extra_arguments=CONFIG_EXTENSION)
    kernel.ok("%kiwoom_login")
    first, revokers = the_token(fake), [revoker_pid(kernel)]
    assert count_hooks(kernel) == (1, 1)

    kernel.ok("%unload_ext kiwoom_nb")
    assert revoked_when_done(fake, *revokers) == [first]
    assert is_undefined(kernel, "kiwoom_token")
    assert count_hooks(kernel) == (0, 0)
    assert kernel.run("%kiwoom_login").reply["status"] == "error"  # gone, rather than logging in unguarded
    assert len(fake.issues) == 1

    kernel.ok("%reload_ext kiwoom_nb")
    assert count_hooks(kernel) == (1, 1)
    kernel.ok("%kiwoom_login")
    second = the_token(fake)
    revokers.append(revoker_pid(kernel))
    kernel.ok("%reload_ext kiwoom_nb")  # unloads (revoking) and loads again
    assert count_hooks(kernel) == (1, 1)
    kernel.ok("%kiwoom_login")
    third = the_token(fake)
    revokers.append(revoker_pid(kernel))

    kernel.shutdown()
    assert revoked_when_done(fake, *revokers) == [first, second, third]
    assert fake.live_tokens() == []
