"""Which processes on this machine hold a token, so only the last one to leave revokes it.

Kiwoom may hand the same token to two kernels logged in with the same keys. Each holder writes an
empty file ``<cache>/holders/<sha256(token)>/<pid>``; entries of dead processes and empty folders are
pruned whenever the registry is used. Stdlib only (the revoker uses it too). Never raises: a registry
that cannot be used counts as "no other holder".
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["Holders"]


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, owned by someone else
        return True
    try:  # a killed kernel stays a zombie until its parent reaps it: it holds nothing any more
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


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
        for _ in range(3):  # another process's prune may remove the folder between mkdir and touch
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                (folder / str(self.pid)).touch(mode=0o600)
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
                if entry.name.isdigit() and int(entry.name) != self.pid and not _pid_alive(int(entry.name)):
                    try:
                        entry.unlink()
                    except OSError:
                        pass
            try:
                folder.rmdir()  # only succeeds when empty
            except OSError:
                pass
