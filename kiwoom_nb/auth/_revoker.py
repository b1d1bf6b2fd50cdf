"""The revoker: a small process that revokes a kernel's tokens once the kernel is gone, however it went.

Run as ``python -m kiwoom_nb.auth._revoker [LOG]`` by kiwoom_nb.auth._exit, its stdin a pipe from the kernel carrying
JSON lines: ``{"op": "hold", "token", "appkey", "secretkey", "mock", "base_url", "timeout", "holders",
"pid"}`` and ``{"op": "release", "token"}``. At end-of-file (the kernel exited or died) it revokes what is
still held, deciding with the holders registry as a normal exit does, and exits. Imports neither IPython
nor ipywidgets, httpx only when it must revoke; writes no key or token anywhere (its log gets one line
per token it gave up on). Owns the revoker logs in the cache: each revoker bounds them when it starts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import IO, Any, Iterable

#: All tries for all tokens together end this many seconds after the kernel is gone.
BUDGET = 30.0
FIRST_DELAY = 0.5
MAX_DELAY = 8.0
#: Revoker logs that say what was given up: the newest KEEP_LOGS are kept, none older than LOG_DAYS.
KEEP_LOGS = 10
LOG_DAYS = 30.0


def read_holds(lines: Iterable[bytes]) -> dict[str, dict[str, Any]]:
    """Follow the kernel's messages until end-of-file; returns what is still held, by token."""
    held: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        token = message.get("token") if isinstance(message, dict) else None
        if not isinstance(token, str) or not token:
            continue
        if message.get("op") == "hold":
            held[token] = message
        elif message.get("op") == "release":
            held.pop(token, None)
    return held


class _Pending:
    def __init__(self, token: str, message: dict[str, Any]) -> None:
        from ._holders import Holders

        self.token = token
        self.message = message
        self.holders = Holders(message.get("holders") or None, pid=int(message.get("pid") or 0))
        self.tries = 0
        self.error: str = ""

    @property
    def environment(self) -> str:
        return "mock" if self.message.get("mock") else "production"

    def kept_by_others(self) -> bool:
        """Another live process holds the token: leave it to that one (and drop the dead kernel's entry)."""
        if self.holders.others(self.token):
            self.holders.remove(self.token)
            return True
        return False

    def revoke(self, timeout: float) -> bool | None:
        """True: revoked (or already invalid); False: worth another try; None: no try can succeed."""
        from ._client import revoke_token
        from .._errors import AccessDeniedError, CredentialsError, EnvironmentMismatchError, KiwoomError, TokenError

        self.tries += 1
        m = self.message
        try:
            revoke_token(m.get("appkey", ""), m.get("secretkey", ""), self.token, mock=bool(m.get("mock")),
                         base_url=m.get("base_url") or None, timeout=timeout)
        except TokenError:  # already invalid: the kernel's own revoke got there, or it expired
            return True
        except (CredentialsError, EnvironmentMismatchError, AccessDeniedError) as exc:
            self.error = str(exc)  # KiwoomError messages never carry a key or a token
            return None
        except KiwoomError as exc:
            self.error = str(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave the others unrevoked
            self.error = type(exc).__name__
            return False
        return True


def revoke_held(held: dict[str, dict[str, Any]], *, budget: float = BUDGET, log: IO[str] | None = None) -> list[str]:
    """Revoke every held token nobody else holds, retrying with back-off within ``budget`` seconds.

    Returns the tokens given up on, after logging one line for each to ``log``.
    """
    deadline = time.monotonic() + budget
    pending = [_Pending(token, message) for token, message in held.items()]
    gave_up: list[_Pending] = []
    delay = FIRST_DELAY
    while pending:
        for item in list(pending):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if item.kept_by_others():  # checked before every try: a new kernel may have the same token by now
                pending.remove(item)
                continue
            outcome = item.revoke(min(float(item.message.get("timeout") or 10.0), left))
            if outcome is not False:
                pending.remove(item)
                item.holders.remove(item.token)
                if outcome is None:
                    gave_up.append(item)
        if not pending or deadline - time.monotonic() < delay:
            break
        time.sleep(delay)  # back-off between tries, not synchronisation
        delay = min(delay * 2, MAX_DELAY)
    for item in pending:
        item.holders.remove(item.token)  # the kernel is gone: its entry must not keep the token "held"
    gave_up += pending
    for item in gave_up:
        if log is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"{stamp} kiwoom_nb revoker: gave up revoking the {item.environment} token of kernel "
                      f"{item.message.get('pid')} after {item.tries} tries: {item.error or 'no time left'}\n")
            log.flush()
    return [item.token for item in gave_up]


def prune_logs(ours: str) -> None:
    """Delete the other revoker logs beside ``ours`` that are past keeping, so they do not pile up. Never raises.

    A revoker writes its log only at its end, just before it exits: a log with lines in it is finished,
    and kept if among the newest KEEP_LOGS and younger than LOG_DAYS. An empty log may belong to a revoker
    still waiting for its kernel: it goes only when older than LOG_DAYS and its kernel is gone (its
    revoker was killed before it could remove it).
    """
    from pathlib import Path

    from ._holders import _pid_alive

    here = Path(ours)
    cutoff = time.time() - LOG_DAYS * 86400
    written: list[tuple[float, Path]] = []
    try:
        logs = [path for path in here.parent.glob("revoker-*.log") if path.name != here.name]
    except OSError:
        return
    for path in logs:
        try:
            status = path.stat()
            if status.st_size:
                written.append((status.st_mtime, path))
                continue
            kernel = path.name[len("revoker-"):-len(".log")].split("-")[0]  # revoker-<pid>[-<n>].log
            if status.st_mtime < cutoff and not (kernel.isdigit() and _pid_alive(int(kernel))):
                path.unlink()
        except OSError:
            continue
    written.sort(reverse=True)
    for index, (mtime, path) in enumerate(written):
        if index >= KEEP_LOGS or mtime < cutoff:
            try:
                path.unlink()
            except OSError:
                pass


def main(argv: list[str]) -> int:
    if argv:
        prune_logs(argv[0])
    held = read_holds(sys.stdin.buffer)
    gave_up = revoke_held(held, log=sys.stderr) if held else []
    if argv:  # our log (stderr), when nothing was written to it, is not worth keeping
        try:
            ours, named = os.fstat(2), os.stat(argv[0])
            if ours.st_size == 0 and (ours.st_dev, ours.st_ino) == (named.st_dev, named.st_ino):
                os.unlink(argv[0])
        except OSError:
            pass
    return 1 if gave_up else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
