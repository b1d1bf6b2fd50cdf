"""Shared fixtures: the fake Kiwoom on loopback with canary keys, and real kernels through jupyter_client."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kiwoom_nb.testing import FakeKiwoom
from support import CANARY, Kernel

pytest_plugins = ["pytester"]


@pytest.fixture
def fake():
    """The fake Kiwoom on 127.0.0.1 with canary keys."""
    with FakeKiwoom(keys=dict(CANARY)) as server:
        yield server


@pytest.fixture
def kernel_env(fake, tmp_path):
    """Environment for a kernel: keys and base URLs of the fake, and private IPython / cache dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env.update(fake.environ("production"))
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
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
