"""Which processes on this machine hold a token, so only the last one to leave revokes it.

Kiwoom may hand the same token to two kernels logged in with the same keys. Each holder writes a file
``<cache>/holders/<sha256(token)>/<pid>`` holding the process's start time (empty where this platform
cannot tell it, and in entries written by older versions), so that a pid reused by another process does
not keep the token "held". Entries of dead processes and empty folders are pruned whenever the registry is
used. Stdlib only (the revoker uses it too). Never raises: a registry that cannot be used counts as "no
other holder".
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["Holders"]


def _windows_process(pid: int) -> tuple[bool, str | None]:
    """_process on Windows, where os.kill(pid, 0) would send CTRL_C_EVENT. Untested, as all of Windows."""
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5, None  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not (kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) and code.value == 259):  # STILL_ACTIVE
            return False, None
        times = [ctypes.c_ulonglong() for _ in range(4)]  # creation, exit, kernel, user (FILETIMEs)
        ok = kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times))
        return True, (str(times[0].value) if ok else None)
    finally:
        kernel32.CloseHandle(handle)


def _process(pid: int) -> tuple[bool, str | None]:
    """(whether ``pid`` is a live process, its start time as an opaque string or None where unknown)."""
    if os.name == "nt":
        try:
            return _windows_process(pid)
        except Exception:  # noqa: BLE001 - never raise; a process we cannot check counts as alive
            return True, None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, None
    except OSError:  # EPERM: alive, owned by someone else
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()  # the name in (...) may hold spaces
    except FileNotFoundError:
        # With /proc (Linux) the process exited since the kill. Without it (macOS, BSD) only the kill can
        # tell: a zombie then counts as alive until its parent reaps it, and the start time is unknown.
        return not _have_proc(), None
    except OSError:
        return True, None
    if len(fields) < 20:
        return True, None
    # a killed kernel stays a zombie until its parent reaps it: it holds nothing any more
    return fields[0] not in (b"Z", b"X"), fields[19].decode("ascii", "replace")  # field 22: start time


_proc: bool | None = None


def _have_proc() -> bool:
    global _proc
    if _proc is None:
        _proc = os.path.exists("/proc/self/stat")
    return _proc


def _pid_alive(pid: int) -> bool:
    return _process(pid)[0]


def _holds(pid: int, entry: Path) -> bool:
    """Whether the entry's process is still the one that wrote it: alive, and started when it said."""
    alive, started = _process(pid)
    if not alive:
        return False
    try:
        with open(entry, "rb") as f:
            recorded = f.read(64).strip().decode("ascii")
    except (OSError, UnicodeDecodeError):
        recorded = ""
    # an old entry (empty) or a platform that cannot tell the start time: the pid alone decides
    return not recorded or started is None or started == recorded


def default_directory() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kiwoom_nb", appauthor=False)) / "holders"


class Holders:
    """A tiny file registry of token holders; ``directory=None`` uses the user's cache directory."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, pid: int | None = None) -> None:
        self._directory = Path(directory) if directory is not None else None
        self.pid = pid if pid is not None else os.getpid()

    @property
    def directory(self) -> Path:
        if self._directory is None:
            self._directory = default_directory()
        return self._directory

    def _dir(self, token: str) -> Path:
        import hashlib  # here, not at the top: %load_ext stays cheap (OpenSSL takes ~2 ms to load)

        digest = hashlib.sha256(b"kiwoom_nb\0" + str(token).encode()).hexdigest()[:40]
        return self.directory / digest

    def add(self, token: str) -> None:
        self.prune()
        folder = self._dir(token)
        started = _process(self.pid)[1] or ""  # what tells this process from a later one with its pid
        for _ in range(3):  # another process's prune may remove the folder between mkdir and open
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(folder / str(self.pid), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, started.encode())
                finally:
                    os.close(fd)
                return
            except FileNotFoundError:
                continue
            except OSError:
                return

    def remove(self, token: str) -> None:
        """Stop holding ``token``; the folder goes when it is empty."""
        try:
            folder = self._dir(token)
            (folder / str(self.pid)).unlink(missing_ok=True)
            folder.rmdir()
        except OSError:
            pass
        self.prune()

    def others(self, token: str) -> list[int]:
        """Live processes other than this one that hold ``token``; stale entries are removed."""
        self.prune()
        try:
            entries = list(self._dir(token).iterdir())
        except OSError:
            return []
        return sorted(int(e.name) for e in entries if e.name.isdigit() and int(e.name) != self.pid)

    def prune(self) -> None:
        """Remove the entries of processes that are gone, and folders left empty, for every token."""
        try:
            folders = list(self.directory.iterdir())
        except OSError:
            return
        for folder in folders:
            try:
                entries = list(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.name.isdigit() and int(entry.name) != self.pid and not _holds(int(entry.name), entry):
                    try:
                        entry.unlink()
                    except OSError:
                        pass
            try:
                folder.rmdir()  # only succeeds when empty
            except OSError:
                pass
