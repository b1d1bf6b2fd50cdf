"""Every test, and every kernel a test starts, uses a temporary cache dir: the holders registry and
anything else kiwoom_nb writes never land in the user's own ~/.cache/kiwoom_nb. The run fails if they do, and
only then: the user's own sessions, logged in while the tests run, write there too.
Nor do they see the user's OS keyring or config dirs."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest


def _real_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kiwoom_nb"


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} \
        if folder.exists() else {}


#: Carried by every process of this run (kernels, nbval, subprocesses, revokers inherit it; the revoker drops
#: KIWOOM_* variables, so not one of those): how the guard below tells what the run wrote from what the user's
#: own sessions, logged in meanwhile, wrote.
MARKER = "PYTEST_KIWOOM_NB_RUN"

_state: dict[str, object] = {}


def _writer(name: str) -> int | None:
    """The pid a kiwoom_nb cache file names: ``holders/<digest>/<pid>`` or ``revoker-<pid>[-<n>].log``."""
    parts = Path(name).parts
    if len(parts) == 3 and parts[0] == "holders" and parts[2].isdigit():
        return int(parts[2])
    if len(parts) == 1 and parts[0].startswith("revoker-") and parts[0].endswith(".log"):
        pid = parts[0][len("revoker-"):-len(".log")].split("-")[0]
        return int(pid) if pid.isdigit() else None
    return None


def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rpartition(b")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _written_by_this_run(folder: Path, name: str) -> bool:
    """Whether the run wrote ``name``. Its writer is the run's if it carries the marker (while alive), or, gone
    by now, if the start time a holder entry records is after the run began. kiwoom_nb writes nothing else
    there, so a file that names no writer is the run's."""
    pid = _writer(name)
    if pid is None or pid == os.getpid():  # pytest itself: /proc/<pid>/environ shows its environment at start
        return True
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return f"{MARKER}={_state['run']}".encode() in environ.read().split(b"\0")
    except OSError:  # gone (or not ours to read)
        pass
    try:
        started = int((folder / name).read_text().strip())
    except (OSError, ValueError):  # a log, or an entry without a start time: nothing tells
        return False
    return started >= (_start_time(os.getpid()) or 0)


def _look() -> None:
    """Note what the run wrote into the real cache since the last look, while its writers may still be alive."""
    real, seen = _state["real"], _state["seen"]
    now = _snapshot(real)  # type: ignore[arg-type]
    # files added or rewritten; a removal is never the run's doing alone (the user's sessions prune)
    for name in sorted(name for name, mtime in now.items() if seen.get(name) != mtime):  # type: ignore[union-attr]
        if _written_by_this_run(real, name):  # type: ignore[arg-type]
            _state["ours"].add(name)  # type: ignore[union-attr]
    _state["seen"] = now


def pytest_configure(config: pytest.Config) -> None:
    real = _real_cache()
    private = tempfile.TemporaryDirectory(prefix="kiwoom-nb-test-cache-")
    _state.update(real=real, seen=_snapshot(real), ours=set(), private=private, run=uuid.uuid4().hex)
    os.environ[MARKER] = str(_state["run"])
    os.environ["XDG_CACHE_HOME"] = private.name  # inherited by nbval's kernels and every subprocess
    # ...and no test reads or writes the user's own OS keyring or kiwoomcli's settings: keyring's fail
    # backend unless a test picks a temp one (tests/keyring_backends.py), config and data dirs in tmp
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ["XDG_CONFIG_HOME"] = str(Path(private.name) / "config")
    os.environ["XDG_DATA_HOME"] = str(Path(private.name) / "data")
    os.environ.pop("KIWOOM_PROFILE", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    yield
    _look()  # before the test's fixtures stop its kernels


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _look()
    if _state["ours"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nkiwoom_nb tests wrote into the user's own cache {_state['real']}: "
              f"{', '.join(sorted(_state['ours']))}; every test and kernel must use a temp dir")  # type: ignore[arg-type]
