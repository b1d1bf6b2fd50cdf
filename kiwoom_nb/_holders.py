"""Which processes on this machine hold a token, so only the last one to leave revokes it.

Kiwoom may hand the same token to two kernels logged in with the same keys. Each holder writes an
empty file ``<cache>/holders/<sha256(token)>/<pid>``; files of dead processes are pruned. Never
raises: a registry that cannot be used counts as "no other holder".
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
    return True


def default_directory() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kiwoom_nb", appauthor=False)) / "holders"


class Holders:
    """A tiny file registry of token holders; ``directory=None`` uses the user's cache directory."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, pid: int | None = None) -> None:
        self._directory = Path(directory) if directory is not None else None
        self.pid = pid if pid is not None else os.getpid()

    def _dir(self, token: str) -> Path:
        if self._directory is None:
            self._directory = default_directory()
        import hashlib  # here, not at the top: %load_ext stays cheap (OpenSSL takes ~2 ms to load)

        digest = hashlib.sha256(b"kiwoom_nb\0" + str(token).encode()).hexdigest()[:40]
        return self._directory / digest

    def add(self, token: str) -> None:
        try:
            folder = self._dir(token)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            (folder / str(self.pid)).touch(mode=0o600)
        except OSError:
            pass

    def remove(self, token: str) -> None:
        """Stop holding ``token``; the folder goes when it is empty."""
        try:
            folder = self._dir(token)
            (folder / str(self.pid)).unlink(missing_ok=True)
            folder.rmdir()
        except OSError:
            pass

    def others(self, token: str) -> list[int]:
        """Live processes other than this one that hold ``token``; stale entries are removed."""
        alive = []
        try:
            entries = list(self._dir(token).iterdir())
        except OSError:
            return []
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) == self.pid:
                continue
            if _pid_alive(int(entry.name)):
                alive.append(int(entry.name))
            else:
                try:
                    entry.unlink()
                except OSError:
                    pass
        return sorted(alive)
