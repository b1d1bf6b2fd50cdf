"""Test support shared by the test modules: canary keys, waiting with a deadline, a real-kernel driver."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, Callable

from IPython.core import completer

from kiwoom_nb.testing import wait_until as wait_for

#: Whether completions carry the Korean names: IPython >= 8.6 (Matcher API v2). 8.0 - 8.5 (make test-min) complete
#: magic arguments with plain texts, which have no type to carry one.
COMPLETION_NAMES = hasattr(completer, "context_matcher")

#: Canary keys: distinctive, so a leak scan can look for them anywhere.
CANARY = {
    "production": ("CANARY-APPKEY-PROD-7f3a9c", "CANARY-SECRET-PROD-51be02"),
    "mock": ("CANARY-APPKEY-MOCK-2d8e41", "CANARY-SECRET-MOCK-9a0c77"),
}


@dataclass
class Result:
    """What one execute request produced, as a frontend would see it."""

    reply: dict[str, Any]
    outputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return "".join(o["content"]["text"] for o in self.outputs if o["msg_type"] == "stream" and o["content"]["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(o["content"]["text"] for o in self.outputs if o["msg_type"] == "stream" and o["content"]["name"] == "stderr")

    @property
    def error(self) -> dict[str, Any] | None:
        return next((o["content"] for o in self.outputs if o["msg_type"] == "error"), None)

    def data(self, mime: str = "text/plain") -> list[str]:
        return [o["content"]["data"][mime] for o in self.outputs
                if o["msg_type"] in ("execute_result", "display_data") and mime in o["content"]["data"]]


class Kernel:
    """A real ipykernel started by jupyter_client, with helpers to run cells and stop it."""

    def __init__(self, env: dict[str, str], extra_arguments: list[str] | None = None, log_path: Path | None = None,
                 *, kernel_dir: Path | None = None, cwd: Path | None = None) -> None:
        """``kernel_dir``: a kernelspec directory (kernel.json) to start instead of this Python's own kernel."""
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        # IPC sockets in a private folder: TCP ports picked free and bound by the kernel a moment later were taken
        # meanwhile by another test's server under xdist ("Address already in use"; the kernel never answered)
        self._ipc = tempfile.mkdtemp(prefix="kk-", dir="/tmp")
        where = {"transport": "ipc", "ip": os.path.join(self._ipc, "k")}
        if kernel_dir is None:
            self.km = KernelManager(kernel_name="python3", **where)
        else:
            specs = KernelSpecManager(kernel_dirs=[str(kernel_dir.parent)], ensure_native_kernel=False)
            self.km = KernelManager(kernel_name=kernel_dir.name, kernel_spec_manager=specs, **where)
        self.km.kernel_cmd = None
        # the kernel's own stdout/stderr (its log) goes to log_path when given, for leak scans
        self._log = open(log_path, "wb") if log_path else None
        streams = {"stdout": self._log, "stderr": self._log} if self._log else {}
        if cwd is not None:
            streams["cwd"] = str(cwd)
        try:
            self.km.start_kernel(env=env, extra_arguments=extra_arguments or [], **streams)
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=60)
        except BaseException:  # the fixture never gets this object to close: the kernel and its folder go here
            self.close()
            raise
        self.iopub: list[dict[str, Any]] = []

    @property
    def process(self):
        return self.km.provisioner.process

    def run(self, code: str, *, allow_stdin: bool = False, timeout: float = 30, stdin: Callable[[dict], str] | None = None) -> Result:
        # one cell at a time, as a person runs them: a failing cell must not abort the next one. With
        # stop_on_error, ipykernel 6.29.0 (make test-min) ends its abort with call_later(0), after the
        # reply and idle went out, so a request sent at once could still come back 'aborted'.
        msg_id = self.kc.execute(code, allow_stdin=allow_stdin or stdin is not None, stop_on_error=False)
        result = Result(reply={})
        deadline = time.monotonic() + timeout
        idle = False
        while not (idle and result.reply):
            if time.monotonic() > deadline:
                raise AssertionError(f"cell did not finish in {timeout} s: {code!r}")
            if stdin is not None:
                try:
                    request = self.kc.get_stdin_msg(timeout=0.01)
                    self.kc.input(stdin(request))
                except Empty:
                    pass
            if not result.reply:
                try:
                    reply = self.kc.get_shell_msg(timeout=0.01)
                    if reply["parent_header"].get("msg_id") == msg_id:
                        result.reply = reply["content"]
                except Empty:
                    pass
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except Empty:
                continue
            self.iopub.append(msg)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
            elif msg["msg_type"] in ("stream", "execute_result", "display_data", "error"):
                result.outputs.append(msg)
        return result

    def complete(self, code: str, cursor_pos: int | None = None, timeout: float = 30) -> dict[str, Any]:
        """What the kernel offers for Tab at ``cursor_pos`` (default: the end), as a frontend receives it: the
        complete_reply's content (matches, cursor_start / cursor_end, metadata)."""
        msg_id = self.kc.complete(code, len(code) if cursor_pos is None else cursor_pos)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                reply = self.kc.get_shell_msg(timeout=0.05)
            except Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]
        raise AssertionError(f"no complete_reply in {timeout} s: {code!r}")

    def ok(self, code: str, **kwargs: Any) -> Result:
        """Run a cell that must succeed."""
        result = self.run(code, **kwargs)
        assert result.reply.get("status") == "ok", (code, result.error, result.stderr)
        return result

    def shutdown(self, *, restart: bool = False) -> None:
        self.kc.stop_channels()
        if restart:
            self.km.restart_kernel()
        else:
            self.km.shutdown_kernel()

    def wait_exit(self, timeout: float = 10) -> int:
        return wait_for(lambda: self.process.poll() is not None and [self.process.returncode], timeout, "kernel exit")[0]

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001 - no client yet, or its channels already gone
            pass
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
        finally:
            if self._log:
                self._log.close()
            shutil.rmtree(self._ipc, ignore_errors=True)


def logged_in(start_kernel, *lines: str, env: dict[str, str] | None = None) -> Kernel:
    """A kernel with the extension loaded and ``lines`` (default: a plain ``%kiwoom_login``) run."""
    kernel = start_kernel(env=env)
    kernel.ok("%load_ext kiwoom_nb")
    for line in lines or ("%kiwoom_login",):
        kernel.ok(line)
    return kernel


def the_token(fake, environment: str = "production") -> str:
    """The one token of ``environment`` the fake still considers live, leaving out a stream hub's (the token that
    logged in on the WebSocket while another is live: the notebook's own logs in only without the hub)."""
    live = [t.value for t in fake.tokens if t.environment == environment and fake.is_live(t.value)]
    if len(live) > 1:
        live = [token for token in live if token not in hub_tokens(fake)]
    assert len(live) == 1, f"expected one live {environment} token, found {len(live)}"
    return live[0]


def hub_tokens(fake) -> list[str]:
    """The tokens that logged in on the fake's WebSocket (with the hub on: the hubs')."""
    return list(dict.fromkeys(f.data.get("token") for f in fake.ws.received("LOGIN")))


def holds(kernel: Kernel, var: str, token: str) -> bool:
    """Whether the kernel's ``var`` equals ``token`` (compared in the kernel; the token is never printed)."""
    return kernel.ok(f"print({var} == {token!r})").stdout.strip() == "True"


def revoker_pid(kernel: Kernel) -> int:
    """The pid of the kernel's revoker process, as ``%kiwoom_status`` shows it ("revoker process N")."""
    [text] = kernel.ok("%kiwoom_status").data("text/plain")
    found = re.search(r"revoker process (\d+)", text)
    assert found, text
    return int(found.group(1))


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its parent or init to reap it has exited too)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] in (b"Z", b"X")
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return True
    try:  # no /proc (macOS): a signal 0 finds any process, zombies included
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_gone(pid: int, timeout: float = 10, what: str = "the revoker process to exit") -> None:
    wait_for(lambda: gone(pid), timeout, what)


def revoked_when_done(fake, *pids: int, timeout: float = 10) -> list[str]:
    """The token of every au10002 the fake received, in order, read only once the processes ``pids`` (the
    revokers of kernels that ended) have exited: a late or duplicate revoke of theirs is counted too."""
    for pid in pids:
        wait_gone(pid, timeout)
    return [request.body["token"] for request in fake.revokes]


def within(seconds: float, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)`` run in a daemon thread: its result, or its exception raised here; an
    AssertionError if it has not returned after ``seconds`` (a deadline, generous by intent)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="within", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise AssertionError(f"{getattr(call, '__name__', call)} did not return within {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def before_and_after(code: str, cwd: Path) -> list[str]:
    """Run ``code`` in a fresh interpreter and return the lines it printed that start with "before" / "after".

    Older IPython writes a terminal-title escape to stdout when a shell starts: only our lines are looked at."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return [found.group(0) for found in re.finditer(r"(?:before|after) [^\n\x1b\x07]*", done.stdout)]


def in_threads(work: Callable[..., Any], arguments: list[tuple], *, timeout: float = 30) -> tuple[list, list]:
    """Run ``work(*args)`` in one thread per entry of ``arguments``, released together by a barrier; returns
    (each result in order, the exceptions raised) once every thread has finished."""
    barrier = threading.Barrier(len(arguments))
    results: list = [None] * len(arguments)
    errors: list[BaseException] = []

    def run(index: int, args: tuple) -> None:
        barrier.wait()
        try:
            results[index] = work(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, args)) for i, args in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), f"a thread was still running after {timeout} s"
    return results, errors


def reachable_texts(exc: BaseException) -> list[str]:
    """Everything a traceback printer, a logger or an error tracker can read from ``exc``: its text and repr,
    ``traceback.format_exception``, and for every exception in its ``__cause__`` / ``__context__`` chain the
    args, the attributes, and any request or response object on it (headers and body)."""
    import traceback

    texts = ["".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), *map(repr, current.args)]
        for name, value in vars(current).items():
            texts.append(f"{name}={value!r}")
            for part in ("content", "headers", "url", "text"):
                try:
                    texts.append(repr(getattr(value, part)))
                except Exception:  # noqa: BLE001 - not a request or response, or one without a body
                    pass
        todo += [link for link in (current.__cause__, current.__context__) if link is not None]
    return texts


def assert_chain_clean(exc: BaseException, *secrets: str) -> None:
    """No secret, nor any 8-character piece of one, is reachable from ``exc`` (see reachable_texts)."""
    for text in reachable_texts(exc):
        for secret in secrets:
            pieces = {secret[i : i + 8] for i in range(max(len(secret) - 7, 1))}
            leaked = [p for p in pieces if p in text]
            assert not leaked, f"{text[:200]!r} leaks part of a secret: {leaked}"
