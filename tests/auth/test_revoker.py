"""No token outlives its kernel (issue 10): the revoker process revokes whatever a dead kernel still held.

Real kernels (jupyter_client), a real jupyter_server where Jupyter stops the kernel, nbval in a subprocess,
the fake Kiwoom on loopback. "Within 5 s" is counted from the moment the kernel's death is observed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from support import CANARY, Kernel, gone, logged_in, revoker_pid, wait_for, within

from kiwoom_nb.auth import _revoker
from kiwoom_nb.auth._holders import Holders
from kiwoom_nb.testing import FakeKiwoom

pytestmark = pytest.mark.kernel

KEYS = CANARY["production"]
ALL_KEYS = (*CANARY["production"], *CANARY["mock"])


# -- helpers ------------------------------------------------------------------------------------



def the_token(fake, environment: str = "production") -> str:
    live = [t.value for t in fake.tokens if t.environment == environment and fake.is_live(t.value)]
    assert len(live) == 1, f"expected one live {environment} token, found {len(live)}"
    return live[0]


def revoked(fake) -> list[str]:
    return [request.body["token"] for request in fake.revokes]


def safety_net(kernel: Kernel) -> str:
    [text] = kernel.ok("%kiwoom_status").data("text/plain")
    return next(line for line in text.splitlines() if line.startswith("Safety net:"))


def assert_gone(pid: int, what: str = "the revoker to exit") -> None:
    wait_for(lambda: gone(pid), 5, what)


def died(process) -> float:
    """Wait for the kernel process to die; returns when its death was observed."""
    wait_for(lambda: process.poll() is not None, 20, "the kernel to die")
    return time.monotonic()


def revoked_once_soon(fake, token: str, revoker: int | None = None, environment: str = "production") -> None:
    """One au10002 for ``token`` arrives within 5 s, the revoker exits, and no second one follows."""
    wait_for(lambda: token in revoked(fake), 5, "the revoke after the kernel's death")
    if revoker is not None:
        assert_gone(revoker)
    assert revoked(fake).count(token) == 1
    request = next(r for r in fake.revokes if r.body["token"] == token)
    appkey, secretkey = CANARY[environment]
    assert request.body == {"appkey": appkey, "secretkey": secretkey, "token": token}
    assert request.headers["api-id"] == "au10002"
    assert not fake.is_live(token)


def proc_read(pid: int, name: str) -> bytes:
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read()


# -- the revoker process itself -----------------------------------------------------------------


def test_the_revoker_runs_apart_from_the_kernel_with_no_secret_on_its_command_line_or_environment(fake, start_kernel, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    kernel = logged_in(start_kernel, f"import os; os.chdir({str(notebooks)!r})",  # as if opened from there
                       "%kiwoom_login", "%kiwoom_login --force")  # the first token was replaced
    token = the_token(fake)
    kernel_pid = kernel.process.pid
    pid = revoker_pid(kernel)

    secrets = [s.encode() for s in (*KEYS, token, *(t.value for t in fake.tokens))]
    for name in ("cmdline", "environ"):
        text = proc_read(pid, name)
        assert not [s for s in secrets if s in text], f"a key or token in /proc/<revoker>/{name}"
    assert b"kiwoom_nb.auth._revoker" in proc_read(pid, "cmdline")
    assert not [line for line in proc_read(pid, "environ").split(b"\0") if line.startswith(b"KIWOOM_")]
    status = proc_read(pid, "status").decode()
    assert re.search(r"^Uid:\s+(\d+)", status, re.M).group(1) == str(os.getuid())  # the same user
    assert re.search(r"^PPid:\s+(\d+)", status, re.M).group(1) == str(kernel_pid)
    assert os.getsid(pid) == pid != os.getpgid(kernel_pid)  # its own session: Jupyter's killpg misses it
    assert os.readlink(f"/proc/{kernel_pid}/cwd") == str(notebooks)
    assert not os.readlink(f"/proc/{pid}/cwd").startswith(str(tmp_path))  # it keeps no notebook folder busy
    def open_files() -> dict[int, str]:
        files = {}
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:  # a module file it is still reading can close between the listing and the readlink
                files[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                pass
        return files

    # once it has read its modules: nothing of the kernel's (ZMQ sockets, its output pipes) is held open
    fds = wait_for(lambda: (lambda fds: sorted(fds) == [0, 1, 2] and fds)(open_files()), 5, "the revoker to settle")
    assert fds[0].startswith("pipe:")
    log = Path(fds[2])
    assert fds[1] == fds[2] and log.parent == tmp_path / "cache" / "kiwoom_nb"
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert "active" in safety_net(kernel)

    kernel.shutdown()
    assert revoked(fake).count(token) == 1
    assert_gone(pid)
    assert not log.exists()  # nothing went wrong, so no log is left behind
    assert not list((tmp_path / "cache" / "kiwoom_nb" / "holders").iterdir())


def test_the_revoker_imports_nothing_heavy_until_it_must_revoke(tmp_path):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "kiwoom_nb.auth._revoker"], input=b"",
                          capture_output=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.decode().splitlines()
                if line.startswith("import time:")}
    assert "kiwoom_nb" in imported
    assert not imported & {"IPython", "ipywidgets", "httpx", "traitlets", "platformdirs", "ipykernel"}


def test_the_revoker_retries_a_failing_revoke_then_succeeds(fake, tmp_path):
    fake.fail_next("server_error", path="/oauth2/revoke")
    fake.fail_next("rate_limited", path="/oauth2/revoke")
    token = _issue(fake)
    held = {token: _hold(fake, token, tmp_path)}
    assert _revoker.revoke_held(held, budget=10) == []
    assert revoked(fake) == [token, token, token] and not fake.is_live(token)


def test_the_revoker_gives_up_within_its_budget_with_one_line_in_its_log(fake, tmp_path):
    """How long giving up takes is measured by bench/bench.py; here, how many tries the budget allowed."""
    token = _issue(fake)
    fake.hang_revoke = True
    log = tmp_path / "revoker.log"
    with open(log, "w") as stream:
        held = {token: _hold(fake, token, tmp_path, timeout=0.3)}
        assert within(60, _revoker.revoke_held, held, budget=2, log=stream) == [token]
    # it retried, and stopped: tries are 0.5 s then 1 s apart, and a third pause (2 s) would overrun the budget
    assert 2 <= len(fake.revokes) <= 3
    [line] = log.read_text().splitlines()
    assert "gave up revoking the production token" in line
    assert not [s for s in (*KEYS, token) if s in line]


def test_the_revoker_leaves_a_token_another_live_process_holds(fake, tmp_path):
    token = _issue(fake)
    Holders(tmp_path / "holders", pid=os.getpid()).add(token)  # this test process: alive
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    Holders(tmp_path / "holders", pid=dead.pid).add(token)
    message = _hold(fake, token, tmp_path) | {"pid": dead.pid}
    assert _revoker.revoke_held({token: message}) == []
    assert fake.revokes == [] and fake.is_live(token)
    [entry] = (tmp_path / "holders").rglob("*/*")
    assert entry.name == str(os.getpid())  # the dead kernel's entry is gone, ours stays


# kiwoom_nb.auth._revoker is what kernels spawn; kiwoom_nb._revoker is what a kernel started before the package moved
# into rooms still spawns after an upgrade (issue 31): both command lines revoke.
@pytest.mark.parametrize("module", ["kiwoom_nb.auth._revoker", "kiwoom_nb._revoker"])
def test_the_revoker_as_a_process_revokes_at_end_of_file_what_was_not_released(fake, tmp_path, module):
    kept, released = _issue(fake), _issue(fake)
    process = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, cwd=tmp_path)
    for message in (_hold(fake, kept, tmp_path), _hold(fake, released, tmp_path), {"op": "release", "token": released}):
        process.stdin.write(json.dumps(message).encode() + b"\n")
    process.stdin.flush()
    assert fake.revokes == []
    process.stdin.close()
    assert process.wait(timeout=10) == 0
    assert revoked(fake) == [kept] and fake.is_live(released)


def _issue(fake) -> str:
    from kiwoom_nb import issue_token

    return str(issue_token(*KEYS, transport=fake.transport))


def _hold(fake, token: str, tmp_path: Path, timeout: float = 5.0) -> dict[str, Any]:
    url = fake.url if fake._server is not None else None
    return {"op": "hold", "token": token, "appkey": KEYS[0], "secretkey": KEYS[1], "mock": False, "base_url": url,
            "timeout": timeout, "holders": str(tmp_path / "holders"), "pid": 999_999_999}


# -- deaths without a word: the revoker revokes -------------------------------------------------


def sigkill(kernel: Kernel) -> None:
    os.kill(kernel.process.pid, signal.SIGKILL)


def os_exit_in_a_cell(kernel: Kernel) -> None:
    kernel.kc.execute("import os; os._exit(1)")


def segfault_in_a_cell(kernel: Kernel) -> None:
    kernel.kc.execute("import ctypes; ctypes.string_at(0)")


@pytest.mark.parametrize("kill", [sigkill, os_exit_in_a_cell, segfault_in_a_cell], ids=lambda kill: kill.__name__)
def test_a_kernel_that_dies_without_a_word_has_its_token_revoked_once(fake, start_kernel, kill):
    kernel = logged_in(start_kernel)
    token, pid = the_token(fake), revoker_pid(kernel)
    kill(kernel)
    died(kernel.process)
    assert kernel.process.returncode != 0
    revoked_once_soon(fake, token, pid)


def test_a_token_the_tr_client_re_issued_is_revoked_after_a_sigkill(fake, start_kernel):
    """A re-issue during a fetch (Kiwoom said 8005) tells the revoker of the new token, not only the session."""
    fake.page_size, fake.candles = 10, 30
    kernel = logged_in(start_kernel)
    first, pid = the_token(fake), revoker_pid(kernel)
    fake.revoke_after(1)
    kernel.ok("df = %kiwoom ka10081 stk_cd=005930 base_dt=20261201 upd_stkpc_tp=1 --pages all")
    fresh = the_token(fake)
    assert fresh != first and len(fake.issues) == 2
    sigkill(kernel)
    died(kernel.process)
    revoked_once_soon(fake, fresh, pid)
    assert first not in revoked(fake)  # the rejected token was released, not revoked again


def test_production_and_mock_tokens_are_both_revoked_after_a_sigkill(fake, kernel_env, start_kernel):
    env = {**kernel_env, **fake.environ("mock")}
    kernel = logged_in(start_kernel, "%kiwoom_login", "%kiwoom_login --mock --var mock_token", env=env)
    tokens = {environment: the_token(fake, environment) for environment in ("production", "mock")}
    pid = revoker_pid(kernel)
    sigkill(kernel)
    died(kernel.process)
    revoked_once_soon(fake, tokens["production"], pid)
    revoked_once_soon(fake, tokens["mock"], pid, environment="mock")


def test_a_kernel_that_forked_a_worker_and_was_killed_is_revoked_though_the_worker_lives(fake, start_kernel):
    kernel = logged_in(start_kernel)
    token, pid = the_token(fake), revoker_pid(kernel)
    worker = int(kernel.ok(
        "import multiprocessing, time\n"
        "_worker = multiprocessing.get_context('fork').Process(target=time.sleep, args=(300,))\n"
        "_worker.start()\nprint(_worker.pid)").stdout)
    try:
        assert not gone(worker)
        sigkill(kernel)
        died(kernel.process)
        revoked_once_soon(fake, token, pid)
        assert not gone(worker), "the worker should live on: it is the kernel's write end it must not keep"
    finally:
        os.kill(worker, signal.SIGKILL)


def test_two_kernels_sharing_a_token_the_last_one_killed_revokes_it(fake, start_kernel):
    fake.same_token = True
    first, second = logged_in(start_kernel), logged_in(start_kernel)  # same keys, same cache directory
    token = the_token(fake)
    first_revoker, second_revoker = revoker_pid(first), revoker_pid(second)

    sigkill(first)
    died(first.process)
    assert_gone(first_revoker)
    assert fake.revokes == [] and fake.is_live(token)
    assert second.ok(f"print(kiwoom_token == {token!r})").stdout.strip() == "True"

    sigkill(second)
    died(second.process)
    revoked_once_soon(fake, token, second_revoker)


def test_revoke_at_exit_off_means_the_revoker_lets_the_token_live(fake, start_kernel):
    kernel = logged_in(start_kernel, "%kiwoom_login", "%config KiwoomMagics.revoke_at_exit = False")
    token = the_token(fake)
    assert "revoke_at_exit is off" in safety_net(kernel)
    pid = int(re.search(r"\d+", kernel.ok("print(get_ipython().find_magic('kiwoom_login').__self__"
                                           ".exit.link.process.pid)").stdout).group())
    sigkill(kernel)
    died(kernel.process)
    assert_gone(pid)
    assert fake.revokes == [] and fake.is_live(token)


def test_a_revoker_that_cannot_start_leaves_the_login_working_and_says_so_once(fake, start_kernel):
    kernel = start_kernel()
    kernel.ok("%load_ext kiwoom_nb")
    kernel.ok("import sys; sys.executable = '/nonexistent/python3'")  # Popen fails, as in a sandbox without exec
    result = kernel.ok("%kiwoom_login")
    assert "logged in as kiwoom_token" in result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("kiwoom_nb: the revoker process could not start") and "only when the kernel exits cleanly" in line
    assert kernel.ok("%kiwoom_login --force").stderr == ""  # said once
    assert "not active" in safety_net(kernel)
    token = the_token(fake)
    kernel.shutdown()
    assert revoked(fake)[-1] == token and not fake.is_live(token)


# -- the memory limit ---------------------------------------------------------------------------


#: Set (CI sets it: .ci/run) to fail, not skip, the memory-limit test where no memory cgroup can be made.
REQUIRE_CGROUP = os.environ.get("KIWOOM_NB_REQUIRE_CGROUP") == "1"


@contextmanager
def memory_cgroup(limit: int) -> Iterator[tuple[str, Path]]:
    """A fresh memory cgroup limited to ``limit`` bytes: ("cgroup v2" | "cgroup v1", its directory).

    Where none can be made (not root, no memory controller), the test is skipped, saying why; with
    KIWOOM_NB_REQUIRE_CGROUP=1 it fails instead.
    """
    name = f"kiwoom-nb-test-{os.getpid()}-{time.monotonic_ns()}"
    candidates, why = [], []
    for mount in Path("/proc/self/mounts").read_text().splitlines():
        _, point, kind, *_ = mount.split()
        if kind == "cgroup2":
            if "memory" in _read(Path(point) / "cgroup.subtree_control").split():
                candidates.append(("cgroup v2", Path(point), "memory.max", "cgroup.procs"))
            else:
                why.append(f"cgroup v2 at {point} has no memory controller for its children")
        elif kind == "cgroup" and Path(point, "memory.limit_in_bytes").exists():
            candidates.append(("cgroup v1", Path(point), "memory.limit_in_bytes", "cgroup.procs"))
    for kind, root, limit_file, procs in candidates:
        group = root / name
        try:
            group.mkdir()
            (group / limit_file).write_text(str(limit))
        except OSError as exc:
            why.append(f"{kind} at {root}: {exc.strerror or exc}")
            try:
                group.rmdir()
            except OSError:
                pass
            continue
        try:
            yield kind, group
        finally:
            for pid in _read(group / procs).split():  # anything left goes back to the root group
                try:
                    (root / procs).write_text(pid)
                except OSError:
                    pass
            try:
                group.rmdir()
            except OSError:
                pass
        return
    no_cgroup("no memory cgroup could be made: " + ("; ".join(why) or "no cgroup file system mounted"))


def no_cgroup(reason: str) -> None:
    """Skip the test, saying why; fail it where a cgroup is required (KIWOOM_NB_REQUIRE_CGROUP=1)."""
    if REQUIRE_CGROUP:
        pytest.fail(f"{reason} (KIWOOM_NB_REQUIRE_CGROUP=1)")
    pytest.skip(reason)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_a_kernel_killed_for_exceeding_its_memory_limit_has_its_token_revoked(fake, start_kernel):
    """The kernel is moved into a new memory cgroup (v2 where the machine has the memory controller there,
    else v1 — the development and CI machines: v1, as root) limited to 400 MB before it logs in, so the
    revoker it starts lives in that cgroup too, as in a container with a memory limit. A cell then
    allocates until the kernel's OOM killer kills the kernel. Skipped, saying why, where no memory cgroup
    can be made (a SIGKILL by hand would only repeat the SIGKILL test); CI makes that a failure.
    """
    with memory_cgroup(400 * 2**20) as (kind, group):
        kernel = start_kernel()
        try:
            (group / "cgroup.procs").write_text(str(kernel.process.pid))
        except OSError as exc:
            no_cgroup(f"the kernel could not join the {kind} memory cgroup: {exc.strerror or exc}")
        kernel.ok("%load_ext kiwoom_nb")
        kernel.ok("%kiwoom_login")
        token, pid = the_token(fake), revoker_pid(kernel)
        assert str(pid) in _read(group / "cgroup.procs").split()  # the revoker shares the limit
        kernel.kc.execute("_hog = []\nwhile True:\n    _hog.append(b'x' * (16 << 20))")
        died(kernel.process)
        assert kernel.process.returncode == -signal.SIGKILL
        events = _read(group / ("memory.events" if kind == "cgroup v2" else "memory.oom_control"))
        killed = re.search(r"oom_kill (\d+)", events)
        assert killed and int(killed.group(1)) >= 1, events  # the OOM killer, not anyone else
        revoked_once_soon(fake, token, pid)


# -- Jupyter stops a busy kernel: a real jupyter_server ---------------------------------------------


class JupyterServer:
    """``python -m jupyter_server`` on 127.0.0.1, driven over its REST API as JupyterLab drives it."""

    def __init__(self, env: dict[str, str], root: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.token = "test-" + os.urandom(8).hex()
        self.runtime = root / "runtime"
        env = {**env, "JUPYTER_RUNTIME_DIR": str(self.runtime), "JUPYTER_CONFIG_DIR": str(root / "config"),
               "JUPYTER_DATA_DIR": str(root / "data")}
        self.log = open(root / "jupyter-server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0", "--allow-root"],
            env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30,
                                 headers={"Authorization": f"token {self.token}"})
        wait_for(self._ready, 60, "jupyter_server to answer")

    def _ready(self) -> bool:
        assert self.process.poll() is None, "jupyter_server exited; see jupyter-server.log"
        try:
            return self.http.get("/api/status").status_code == 200
        except httpx.TransportError:
            return False

    def start_kernel(self) -> tuple[str, Any]:
        """A new kernel, as JupyterLab's "new notebook" makes one; returns its id and a client on it."""
        response = self.http.post("/api/kernels", json={"name": "python3"})
        assert response.status_code == 201, response.text
        kernel_id = response.json()["id"]
        return kernel_id, self.client(kernel_id)

    def client(self, kernel_id: str) -> Any:
        """A client on the kernel's channels, as ``jupyter console --existing`` connects."""
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(self.runtime / f"kernel-{kernel_id}.json"))
        client.load_connection_file()
        client.start_channels(hb=False)  # a heartbeat late under load would read as "the kernel died"
        client.wait_for_ready(timeout=60)
        return client

    def close(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def run(client, code: str) -> str:
    """Run a cell through a kernel client; returns its stdout, fails on an error."""
    out: list[str] = []
    reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: out.append(
        msg["content"].get("text", "") if msg["msg_type"] == "stream" else
        msg["content"].get("data", {}).get("text/plain", "") if msg["msg_type"] == "display_data" else ""))
    assert reply["content"]["status"] == "ok", (code, reply["content"])
    return "".join(out)


def logged_in_over_jupyter(server: JupyterServer) -> tuple[str, Any, int, int]:
    """A kernel logged in: (its id, a client, the kernel's pid, the revoker's pid)."""
    kernel_id, client = server.start_kernel()
    run(client, "%load_ext kiwoom_nb")
    run(client, "%kiwoom_login")
    kernel_pid = int(run(client, "import os; print(os.getpid())"))
    revoker = int(re.search(r"revoker process (\d+)", run(client, "%kiwoom_status")).group(1))
    return kernel_id, client, kernel_pid, revoker


@pytest.fixture(scope="module")
def server_fake():
    with FakeKiwoom(keys=dict(CANARY)) as fake:
        yield fake


@pytest.fixture(scope="module")
def jupyter(server_fake, tmp_path_factory):
    root = tmp_path_factory.mktemp("jupyter")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env.update(server_fake.environ("production"), XDG_CACHE_HOME=str(root / "cache"), IPYTHONDIR=str(root / "ipython"),
               JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
    server = JupyterServer(env, root)
    yield server, env, root
    server.close()


def main_thread_cpu(pid: int) -> float:
    """CPU seconds the process's main thread has used (0.3 s more after a cell starts: it is in the long call)."""
    fields = proc_read(pid, f"task/{pid}/stat").rpartition(b")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def live_token_of(fake, before: set[str]) -> str:
    [token] = [t.value for t in fake.tokens if t.value not in before and fake.is_live(t.value)]
    return token


@pytest.mark.parametrize("action", ["restart", "shutdown"])
def test_jupyter_restarting_or_shutting_down_a_busy_kernel_revokes_its_token(server_fake, jupyter, action):
    server, _, _ = jupyter
    before = {t.value for t in server_fake.tokens}
    kernel_id, client, kernel_pid, revoker = logged_in_over_jupyter(server)
    token = live_token_of(server_fake, before)
    # one long C call: no Python signal handler (SIGINT, SIGTERM) runs until it ends, so Jupyter SIGKILLs at 5 s
    cpu = main_thread_cpu(kernel_pid)
    client.execute("sum(range(10**11))")
    wait_for(lambda: main_thread_cpu(kernel_pid) > cpu + 0.3, 30, "the cell to be inside sum()")
    try:
        if action == "restart":
            assert server.http.post(f"/api/kernels/{kernel_id}/restart").status_code == 200
        else:
            assert server.http.delete(f"/api/kernels/{kernel_id}").status_code == 204
        wait_for(lambda: gone(kernel_pid), 10, "the old kernel to die")  # Jupyter's SIGKILL, 5 s in
        revoked_once_soon(server_fake, token, revoker)
        if action == "restart":  # the new kernel works and logs in afresh
            client.stop_channels()
            client = server.client(kernel_id)
            run(client, "%load_ext kiwoom_nb")
            assert "logged in as kiwoom_token" in run(client, "%kiwoom_login")
            assert live_token_of(server_fake, before | {token})
    finally:
        client.stop_channels()
        if action == "restart":
            server.http.delete(f"/api/kernels/{kernel_id}")


def test_a_jupyter_server_killed_with_sigkill_leaves_no_token_live(server_fake, jupyter, tmp_path):
    """What happens to the kernels: ipykernel's parent poller sees its parent (the server) gone within about
    a second and ends the kernel with ``os._exit(1)`` — no atexit runs; the revoker then revokes."""
    _, env, _ = jupyter
    server = JupyterServer(env, tmp_path)
    try:
        before = {t.value for t in server_fake.tokens}
        _, first, first_pid, first_revoker = logged_in_over_jupyter(server)
        token = live_token_of(server_fake, before)
        _, second, second_pid, second_revoker = logged_in_over_jupyter(server)
        second_token = live_token_of(server_fake, before | {token})
        first.stop_channels()
        second.stop_channels()

        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        wait_for(lambda: gone(first_pid) and gone(second_pid), 10, "the kernels to end after the server died")
        revoked_once_soon(server_fake, token, first_revoker)
        revoked_once_soon(server_fake, second_token, second_revoker)
    finally:
        server.close()


# -- nbval ------------------------------------------------------------------------------------------


def test_an_nbval_run_leaves_no_token_live(fake, kernel_env, tmp_path):
    """nbval stops its kernel with shutdown_kernel(now=True): SIGKILL, so only the revoker can revoke."""
    import nbformat

    cells = ["%load_ext kiwoom_nb", "%kiwoom_login", "%kiwoom_login --mock --var mock_token", "%kiwoom_status"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "logs_in.ipynb"
    nbformat.write(notebook, path)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**kernel_env, **fake.environ("mock")}
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {t.environment for t in fake.tokens} == {"production", "mock"} and len(fake.tokens) == 2
    wait_for(lambda: not fake.live_tokens(), 5, "both tokens revoked after the nbval run")
    assert sorted(revoked(fake)) == sorted(t.value for t in fake.tokens)


# -- clean paths: still exactly one revoke, and the revoker leaves too -----------------------------


def shutdown(kernel: Kernel) -> None:
    kernel.shutdown()


def restart(kernel: Kernel) -> None:
    kernel.shutdown(restart=True)


def exit_in_a_cell(kernel: Kernel) -> None:
    kernel.kc.execute("exit()")
    kernel.wait_exit()


def bare_sigterm(kernel: Kernel) -> None:
    kernel.km.signal_kernel(signal.SIGTERM)
    kernel.wait_exit()


def sighup(kernel: Kernel) -> None:
    kernel.km.signal_kernel(signal.SIGHUP)
    kernel.wait_exit()


def logout_then_shutdown(kernel: Kernel) -> None:
    kernel.ok("%kiwoom_logout")
    kernel.shutdown()


def unload(kernel: Kernel) -> None:
    kernel.ok("%unload_ext kiwoom_nb")


@pytest.mark.parametrize("stop", [shutdown, restart, exit_in_a_cell, bare_sigterm, sighup, logout_then_shutdown, unload],
                         ids=lambda stop: stop.__name__)
def test_clean_paths_revoke_once_and_the_revoker_exits(fake, start_kernel, stop):
    kernel = logged_in(start_kernel)
    token, pid = the_token(fake), revoker_pid(kernel)
    stop(kernel)
    wait_for(lambda: fake.revokes, 5, "the revoke")
    assert_gone(pid)
    assert revoked(fake) == [token]


def test_a_previous_sighup_handler_still_runs_after_the_revoke(fake, start_kernel, tmp_path):
    marker = tmp_path / "previous-handler-ran"
    kernel = start_kernel()
    kernel.ok(f"import os, signal\nsignal.signal(signal.SIGHUP, lambda *a: (open({str(marker)!r}, 'w').close(), "
              "os._exit(0)))")
    kernel.ok("%load_ext kiwoom_nb")
    kernel.ok("%config KiwoomMagics.revoker = False")  # so the revoke can only be the handler's
    kernel.ok("%kiwoom_login")
    token = the_token(fake)
    assert "off" in safety_net(kernel)
    kernel.km.signal_kernel(signal.SIGHUP)
    assert kernel.wait_exit() == 0  # the previous handler's os._exit(0)
    assert revoked(fake) == [token] and marker.exists()


def test_an_nbclient_run_revokes_once_and_its_revoker_exits(fake, kernel_env, monkeypatch, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    for name in [n for n in os.environ if n.startswith("KIWOOM_")]:
        monkeypatch.delenv(name)
    for name, value in kernel_env.items():
        monkeypatch.setenv(name, value)
    cells = [nbformat.v4.new_code_cell(source) for source in ("%load_ext kiwoom_nb", "%kiwoom_login", "%kiwoom_status")]
    notebook = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(notebook, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    status = notebook.cells[2].outputs[0]["data"]["text/plain"]
    pid = int(re.search(r"revoker process (\d+)", status).group(1))
    [issued] = fake.tokens
    assert revoked(fake) == [issued.value]
    assert_gone(pid)
    assert revoked(fake) == [issued.value]
