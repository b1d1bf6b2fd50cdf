"""Shared fixtures: the fake Kiwoom on loopback with canary keys, and real kernels through jupyter_client."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from kiwoom_nb.testing import FakeKiwoom
from support import CANARY, Kernel

pytest_plugins = ["pytester"]

#: CI (.ci/run sets HYPOTHESIS_PROFILE=ci) runs the same generated examples every time, so a landing never depends on
#: the draw; a developer's runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TESTS = Path(__file__).resolve().parent
#: The tests live in one folder per room (auth, rest, live, notebook); a few borrow another's helpers or fixtures
#: (``from test_leaks import drain``), so every folder is importable, as tests/ itself is (support.py).
sys.path[1:1] = [str(TESTS / room) for room in ("auth", "rest", "live", "notebook") if str(TESTS / room) not in sys.path]

#: The keyring every test and kernel gets unless it asks for another: keyring's fail backend, so
#: nothing ever reads or writes the developer's own keyring (keyrings.alt, installed for the tests,
#: would otherwise be picked: a plaintext file under ~/.local/share).
NO_KEYRING = "keyring.backends.fail.Keyring"


@pytest.fixture(autouse=True)
def isolated_keyring(monkeypatch, tmp_path):
    """This process and the kernels it starts see no keyring of the developer's, nor kiwoomcli's settings, nor
    the developer's cache directory."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", NO_KEYRING)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the day's stock lists (kiwoom_nb.codes())
    monkeypatch.delenv("KIWOOM_PROFILE", raising=False)
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # detected again, from the variables above


def _forget_process_state() -> None:
    pace, codes, client = (sys.modules.get(f"kiwoom_nb.{name}") for name in ("rest._pace", "rest._codes", "auth._client"))
    if pace is not None:
        pace._pacers.clear()
    shared = sys.modules.get("kiwoom_nb.pace")  # the budgets shared through files or Redis: their connections
    if shared is not None:
        for budget in list(shared._budgets.values()):
            budget.close()
        shared._budgets.clear()
        shared._url = None  # %config KiwoomMagics.pace_url set in this process
        shared.longest_wait = 0.0
    if codes is not None:
        codes._memory.clear()
    if client is not None and hasattr(client, "_mock_hosts"):
        client._mock_hosts.clear()
    if client is not None and hasattr(client, "_seen"):  # URLs a production login succeeded at: a later test's fake
        client._seen[False].clear()  # may get the same loopback port (CI's test-min on 3.10 saw it refused as mock)


@pytest.fixture(autouse=True)
def fresh_process_state():
    """What kiwoom_nb keeps per process, and tests sharing the canary keys would otherwise pass on to each other:
    the limits a pacer learned (per app key) and its shared budget's connection, the day's stock lists in memory,
    hosts named as mock. Every test starts without them and leaves none behind, so no result depends on which tests
    ran before."""
    _forget_process_state()
    yield
    _forget_process_state()


#: seconds a test's stream hub stays after its last client (the default, 3 s, would slow every stream test's end)
HUB_GRACE = "0.5"


def hub_pids(runtime: str) -> list[int]:
    """The stream hubs started under ``runtime`` (their argv names their log file there)."""
    pids = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"kiwoom_nb.live.hub" in argv and any(a.startswith(runtime.encode()) for a in argv):
            pids.append(int(entry.name))
    return pids


@pytest.fixture(autouse=True)
def hub_runtime(monkeypatch, request):
    """The stream hub is the default (issue 34): every test gets a runtime dir of its own (a short path: AF_UNIX
    allows ~100 characters) so its hubs are its own, a short grace period, and the setting as a new process has it.
    After the test, its hubs must have exited (the last client left, the grace passed): one still running is
    killed and the test errors. ``@pytest.mark.in_process``: this process and its kernels keep their own socket
    (tests of the in-process socket as such: sharing inside one process, reconnect internals, the reading loop)."""
    import shutil
    import signal
    import tempfile

    from support import wait_for

    runtime = tempfile.mkdtemp(prefix="kh", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    monkeypatch.setenv("KIWOOM_HUB_GRACE", HUB_GRACE)
    if request.node.get_closest_marker("in_process"):
        monkeypatch.setenv("KIWOOM_STREAM_HUB", "0")
    else:
        monkeypatch.delenv("KIWOOM_STREAM_HUB", raising=False)
    hub = sys.modules.get("kiwoom_nb.live.hub._client")
    if hub is not None:
        monkeypatch.setattr(hub, "_setting", None)
        monkeypatch.setattr(hub, "_fallback_said", False)
    yield runtime
    try:
        wait_for(lambda: not hub_pids(runtime), 30, "this test's stream hubs to exit")
    except AssertionError:
        left = hub_pids(runtime)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if left:
            raise
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def fake():
    """The fake Kiwoom on 127.0.0.1 with canary keys."""
    with FakeKiwoom(keys=dict(CANARY)) as server:
        yield server


@pytest.fixture(params=["in_process", "hub"])
def open_stream(request, fake, monkeypatch):
    """The test runs twice: its streams on the process's own socket, then through the hub (the default). Returns a
    maker of streams on the fake (``open_stream()``; ``open_stream("mock", timeout=2)``), which sends no ticks of its own; the
    test closes them."""
    from kiwoom_nb.live._stream import Stream

    if request.param == "in_process":
        monkeypatch.setenv("KIWOOM_STREAM_HUB", "0")
    fake.ws.rate = 0
    urls = {"production": (fake.url, fake.ws_url), "mock": (fake.mock_url, fake.mock_ws_url)}
    return lambda environment="production", **options: Stream(*CANARY[environment], base_url=urls[environment][0],
                                                              ws_url=urls[environment][1], **options)


@pytest.fixture
def kernel_env(fake, tmp_path):
    """Environment for a kernel: keys and base URLs of the fake, and private IPython / cache dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env.update(fake.environ("production"))
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["KIWOOM_HUB_GRACE"] = HUB_GRACE  # XDG_RUNTIME_DIR: hub_runtime's, from os.environ
    if "KIWOOM_STREAM_HUB" in os.environ:  # @pytest.mark.in_process
        env["KIWOOM_STREAM_HUB"] = os.environ["KIWOOM_STREAM_HUB"]
    return env


@pytest.fixture
def keyring_env(kernel_env, tmp_path):
    """``kernel_env`` with a real keyring backend that stores in ``tmp_path/keyring.json``
    (tests/keyring_backends.py); set PYTHON_KEYRING_BACKEND to pick another of its classes."""
    env = dict(kernel_env)
    env["PYTHON_KEYRING_BACKEND"] = "keyring_backends.FileKeyring"
    env["KIWOOM_TEST_KEYRING"] = str(tmp_path / "keyring.json")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
    return env


@pytest.fixture
def start_kernel(kernel_env):
    """Start real kernels (``start_kernel(env=..., extra_arguments=..., kernel_dir=..., cwd=...)``); all are
    killed after the test."""
    kernels: list[Kernel] = []

    def start(env: dict[str, str] | None = None, extra_arguments: list[str] | None = None,
              log_path: Path | None = None, **options: Any) -> Kernel:
        kernel = Kernel(env if env is not None else kernel_env, extra_arguments, log_path, **options)
        kernels.append(kernel)
        return kernel

    yield start
    for kernel in kernels:
        kernel.close()


def _kiwoom_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(("KIWOOM_", "XDG_", "PYTHON_KEYRING"))}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    item.stash[_VARIABLES] = _kiwoom_variables()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A test that leaves a KIWOOM_* (or XDG_*) variable set or changed after every fixture has gone (monkeypatch's
    undo included) would change what later tests in the same worker see: it is put back, and the test fails."""
    result = yield
    before, after = item.stash.get(_VARIABLES, None), _kiwoom_variables()
    if before is not None and before != after:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        for name in changed:
            if name in before:
                os.environ[name] = before[name]
            else:
                del os.environ[name]
        pytest.fail(f"the test left {', '.join(changed)} changed in os.environ (use monkeypatch.setenv)")
    return result


_VARIABLES = pytest.StashKey[dict]()
