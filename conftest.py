"""Every test, and every kernel a test starts, uses a temporary cache dir: the holders registry and
anything else kiwoom_nb writes never land in the user's own ~/.cache/kiwoom_nb. The run fails if they do.
Nor do they see the user's OS keyring or config dirs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


def _real_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kiwoom_nb"


def _snapshot(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*")) if folder.exists() else []


_state: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    real = _real_cache()
    private = tempfile.TemporaryDirectory(prefix="kiwoom-nb-test-cache-")
    _state.update(real=real, before=_snapshot(real), private=private)
    os.environ["XDG_CACHE_HOME"] = private.name  # inherited by nbval's kernels and every subprocess
    # ...and no test reads or writes the user's own OS keyring or kiwoomcli's settings: keyring's fail
    # backend unless a test picks a temp one (tests/keyring_backends.py), config and data dirs in tmp
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ["XDG_CONFIG_HOME"] = str(Path(private.name) / "config")
    os.environ["XDG_DATA_HOME"] = str(Path(private.name) / "data")
    os.environ.pop("KIWOOM_PROFILE", None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    real = _state["real"]
    if _snapshot(real) != _state["before"]:  # type: ignore[arg-type]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nkiwoom_nb tests wrote into the user's own cache {real}: every test and kernel must use a temp dir")
