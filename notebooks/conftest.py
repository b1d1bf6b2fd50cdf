"""nbval runs these notebooks headless against one fake Kiwoom for the session, keys in the environment."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from kiwoom_nb.testing import FakeKiwoom, wait_until

_state: dict[str, object] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # nbval starts the kernel when a notebook's first cell is set up; the kernel inherits this env. It is set for the
    # notebooks' cells only: a test file run after a notebook in the same process (a pytest-xdist worker takes files in
    # any order) must not see the fake's URLs and keys.
    if not str(item.path).endswith(".ipynb"):
        return
    if "server" not in _state:
        server = FakeKiwoom().start()
        # the stream hub (the default) of these kernels lives in a runtime dir of the session's, with a short grace
        env = {**server.environ("production"), **server.environ("mock"), "KIWOOM_HUB_GRACE": "0.5",
               "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="kh", dir="/tmp")}
        _state.update(server=server, env=env, runtime=env["XDG_RUNTIME_DIR"])
    env = _state["env"]
    _state["saved"] = {k: os.environ.get(k) for k in env}
    os.environ.update(env)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    saved = _state.pop("saved", None) if str(item.path).endswith(".ipynb") else None
    for name, value in (saved or {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pytest_sessionfinish(session: pytest.Session) -> None:
    server = _state.pop("server", None)
    if server is not None:
        # nbval kills its kernels (shutdown_kernel(now=True)); their revokers revoke just after
        try:
            wait_until(lambda: not server.live_tokens(), 20, "the nbval kernels' tokens (and their hubs') to be revoked")
        finally:
            server.stop()
        shutil.rmtree(_state.pop("runtime"), ignore_errors=True)
