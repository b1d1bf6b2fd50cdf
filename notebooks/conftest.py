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
    # nbval starts the kernel when a notebook's first cell is set up; the kernel inherits this env
    if "server" not in _state and str(item.path).endswith(".ipynb"):
        server = FakeKiwoom().start()
        # the stream hub (the default) of these kernels lives in a runtime dir of the session's, with a short grace
        env = {**server.environ("production"), **server.environ("mock"), "KIWOOM_HUB_GRACE": "0.5",
               "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="kh", dir="/tmp")}
        _state.update(server=server, saved={k: os.environ.get(k) for k in env}, runtime=env["XDG_RUNTIME_DIR"])
        os.environ.update(env)


def pytest_sessionfinish(session: pytest.Session) -> None:
    server = _state.pop("server", None)
    if server is not None:
        # nbval kills its kernels (shutdown_kernel(now=True)); their revokers revoke just after
        try:
            wait_until(lambda: not server.live_tokens(), 20, "the nbval kernels' tokens (and their hubs') to be revoked")
        finally:
            server.stop()
        shutil.rmtree(_state.pop("runtime"), ignore_errors=True)
        for name, value in _state.pop("saved").items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
