"""Leaving: close the streams, then revoke a Session's tokens when the process stops (atexit, SIGTERM, SIGHUP), and keep the
revoker process (kiwoom_nb._revoker) informed so it revokes them when the process dies without a word.

The kernel side of "leaving"; no IPython. The exit paths log and never raise (a signal that arrived during
the exit revoke is acted on once it ends, as it would have been); keys and tokens travel only through the
pipe, never on a command line, in an environment or on disk. What a platform lacks (os.set_blocking on
Windows before Python 3.12, SIGHUP and fork on Windows) is checked for, never assumed.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from ._session import Login, Session

__all__ = ["ExitGuard", "RevokerLink", "own_session"]

log = logging.getLogger("kiwoom_nb")

_SIGNALS = ("SIGTERM", "SIGHUP")
_links: set["RevokerLink"] = set()  # open links: a forked child must not keep their pipes open
_fork_hook_registered = False


def _close_links_in_child() -> None:
    for link in list(_links):
        link._forget_in_child()
    _links.clear()


def _new_log(cache: Path) -> tuple[Path, int]:
    """Create a log of its own for a new revoker: ``revoker-<pid>.log``, else ``revoker-<pid>-<n>.log``.

    Never one that exists: a revoker removes its log when it is empty at its end, so a second revoker of
    this kernel (after a SIGHUP that did not end it) must not write into the first one's.
    """
    for n in range(1, 100):
        path = cache / (f"revoker-{os.getpid()}.log" if n == 1 else f"revoker-{os.getpid()}-{n}.log")
        try:
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
    raise FileExistsError("no free revoker log name")


class RevokerLink:
    """The kernel's end of the pipe to ``python -m kiwoom_nb._revoker``, which starts without being waited for."""

    def __init__(self) -> None:
        self.process: Any = None  # subprocess.Popen
        self.problem: str | None = None  # why it is not running, once it was meant to
        self._fd: int | None = None
        self._lock = threading.RLock()  # an RLock: a signal handler may send while the main thread sends

    @property
    def active(self) -> bool:
        return self._fd is not None and self.process is not None and self.process.poll() is None

    def start(self, cache: Path, secrets: tuple[str, ...]) -> bool:
        """Start the revoker (its log in ``cache``); False, with ``problem`` set, when it could not start.

        Whatever went wrong, nothing is left behind: no pipe end, no log file.
        """
        global _fork_hook_registered
        if not hasattr(os, "set_blocking"):  # Windows before Python 3.12 cannot make a pipe non-blocking
            self.problem = ("the revoker process could not start (it needs os.set_blocking, which Python on "
                            "Windows has only from 3.12)")
            self.process = None
            return False
        import subprocess  # here, not at the top: %load_ext stays cheap

        read = write = log_fd = log_path = None
        started = False
        try:
            cache.mkdir(mode=0o700, parents=True, exist_ok=True)
            log_path, log_fd = _new_log(cache)
            read, write = os.pipe()  # both ends non-inheritable: no other child process gets them
            os.set_blocking(write, False)  # a stuck revoker must never block the kernel
            # Every KIWOOM_* variable goes (the revoker gets its keys through the pipe), and anything else
            # that carries a key or a token.
            env = {k: v for k, v in os.environ.items()
                   if not k.upper().startswith("KIWOOM_") and not any(s and s in v for s in secrets)}
            package_root = str(Path(__file__).resolve().parent.parent)  # the kiwoom_nb this kernel imported
            options: dict[str, Any] = {"start_new_session": True}  # Jupyter signals the kernel's whole group
            if os.name == "nt":  # untested: Windows has no sessions; keep it out of the console's Ctrl-C
                options = {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kiwoom_nb._revoker", str(log_path)],
                stdin=read, stdout=log_fd, stderr=log_fd, close_fds=True, cwd=package_root, env=env, **options,
            )
            started = True
        except Exception as exc:  # noqa: BLE001 - OSError, a sandbox's refusal, a call this platform lacks
            self.problem = f"the revoker process could not start ({type(exc).__name__})"
            self.process = None
            return False
        finally:
            for fd in (read, log_fd) if started else (read, write, log_fd):  # the revoker has its own copies
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            if not started and log_path is not None:
                try:
                    os.unlink(log_path)
                except OSError:
                    pass
        self._fd, self.problem = write, None
        _links.add(self)
        if not _fork_hook_registered and hasattr(os, "register_at_fork"):  # Windows has no fork
            os.register_at_fork(after_in_child=_close_links_in_child)  # multiprocessing's fork workers
            _fork_hook_registered = True
        return True

    def send(self, message: dict[str, Any]) -> bool:
        data = (json.dumps(message) + "\n").encode()  # a few hundred bytes: one atomic pipe write
        with self._lock:
            if self._fd is None:
                return False
            try:
                os.write(self._fd, data)
                return True
            except OSError as exc:  # EPIPE: the revoker is gone; EAGAIN: it stopped reading
                self._close_fd()
                self.problem = f"the revoker process stopped listening ({type(exc).__name__})"
                return False

    def close(self, wait: float = 0.0) -> None:
        """Close the pipe: the revoker revokes what it still holds and exits. ``wait`` reaps it if it is quick."""
        with self._lock:
            self._close_fd()
        if wait and self.process is not None:
            import subprocess

            try:
                self.process.wait(wait)
            except (subprocess.TimeoutExpired, OSError):
                pass

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        _links.discard(self)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def _forget_in_child(self) -> None:
        """In a forked child: drop the inherited end, so the revoker still sees the kernel's death."""
        fd, self._fd = self._fd, None
        self._lock = threading.RLock()  # the parent's may have been held by another thread at the fork
        self.process = None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


class ExitGuard:
    """Revokes ``session``'s tokens when the process leaves, by itself or through the revoker.

    ``enabled`` (revoke at exit), ``budget`` (seconds for all exit revokes) and ``use_revoker`` are set by
    the owner; ``warn`` shows the one line about a revoker that could not start.
    """

    def __init__(self, session: Session, warn: Callable[[str], None] | None = None) -> None:
        self.session = session
        self.enabled = True
        self.budget = 1.0
        self.use_revoker = True
        self.link = RevokerLink()
        self._warn = warn or (lambda message: print(f"kiwoom_nb: {message}", file=sys.stderr, flush=True))
        self._previous: dict[int, Any] = {}
        self._hooked = False
        self._leaving = False  # True while revoke_everything runs
        self._deferred: list[int] = []  # signals that arrived meanwhile, acted on once it ends
        session.observer = self._on_session

    # -- the revoker ---------------------------------------------------------------------------------

    @property
    def _wanted(self) -> bool:
        return self.enabled and self.use_revoker

    def _tracked(self) -> list[Login]:
        # a token reached through an in-process transport (tests, proxies in code) is out of the revoker's reach
        return [login for login in (*self.session.logins.values(), *self.session.orphans) if login.transport is None]

    def _hold_message(self, login: Login) -> dict[str, Any]:
        return {"op": "hold", "token": str(login.token), "appkey": login.appkey, "secretkey": login.secretkey,
                "mock": login.mock, "base_url": login.base_url, "timeout": self.session.timeout,
                "holders": str(self.session.holders.directory), "pid": os.getpid()}

    def _on_session(self, event: str, login: Login) -> None:
        if event == "release":
            self.link.send({"op": "release", "token": str(login.token)})
        elif event == "hold" and self._wanted and login.transport is None:
            if self.link.active:
                self.link.send(self._hold_message(login))
            else:
                self._start()

    def _start(self) -> None:
        """Start a revoker (first login, or after the last one died) and tell it every tracked token."""
        if self.link.process is None and self.link.problem is not None:
            return  # could not start before: said so once, only clean exits revoke
        tracked = self._tracked()
        secrets = tuple(s for login in tracked for s in (login.appkey, login.secretkey, str(login.token)))
        if not self.link.start(self.session.holders.directory.parent, secrets):
            self._warn(f"{self.link.problem}; tokens are revoked only when the kernel exits cleanly")
            return
        for login in tracked:
            self.link.send(self._hold_message(login))

    def configure(self, *, enabled: bool | None = None, budget: float | None = None,
                  use_revoker: bool | None = None) -> None:
        """Apply new settings; the revoker lets go of every token when revoking at exit is turned off."""
        before = self._wanted
        if enabled is not None:
            self.enabled = enabled
        if budget is not None:
            self.budget = budget
        if use_revoker is not None:
            self.use_revoker = use_revoker
        if before and not self._wanted:
            for login in self._tracked():
                self.link.send({"op": "release", "token": str(login.token)})
            self.link.close()
        elif self._wanted and not before and self._tracked():
            self._start()

    def safety_net(self) -> str:
        """One line for %kiwoom_status: whether the revoker covers a kernel that dies."""
        if not self.use_revoker:
            return "off (KiwoomMagics.revoker is False): only clean exits revoke"
        if not self.enabled:
            return "off (revoke_at_exit is off)"
        if self.link.active:
            return (f"active: revoker process {self.link.process.pid} revokes these tokens if the kernel "
                    "dies (SIGKILL, crash, out of memory)")
        if self.link.problem:
            return f"not active: {self.link.problem}; only clean exits revoke"
        return "starts at the next login"

    # -- leaving -------------------------------------------------------------------------------------

    def revoke_everything(self) -> None:
        """Exit path: revoke every live token within ``budget``, then let the revoker finish.

        Never raises, except through a signal that arrived meanwhile: that one is acted on afterwards.
        """
        self._revoke()
        self._act_on_deferred()

    def _revoke(self) -> None:
        self._leaving = True  # first: a signal from here on waits for the revoke instead of aborting it
        try:
            stream = sys.modules.get("kiwoom_nb._stream")  # imported only if a stream was ever opened
            if stream is not None:  # close the sockets first: their LOGINs use the tokens about to be revoked
                stream.close_all(min(0.3, self.budget / 3))
            if not self.enabled:  # the revoker was told to let go when this was turned off
                self.session.logins.clear()
                return
            self.session.revoke_all(self.budget)
        except BaseException as exc:  # noqa: BLE001 - an exit hook must not raise
            log.warning("kiwoom_nb: revoke at exit failed: %s", type(exc).__name__)
        finally:
            # end-of-file: the revoker revokes whatever the budget left, then exits. If the process lives
            # on (a SIGHUP handler that returns), the next login starts a new revoker (_on_session).
            try:
                self.link.close()
            finally:  # even if a KeyboardInterrupt lands here: later signals must not wait forever
                self._leaving = False

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._leaving:
            # a signal during the exit revoke (a slow graceful shutdown, a second SIGTERM): dying now would
            # abort it, and it ends within the budget anyway; act on the signal once it has ended
            if signum not in self._deferred:
                self._deferred.append(signum)
            return
        self._revoke()
        self._chain(signum, frame)
        self._act_on_deferred()  # the previous handler returned: the process lives on, unless these end it

    def _act_on_deferred(self) -> None:
        while self._deferred:
            self._chain(self._deferred.pop(0), None)

    def _chain(self, signum: int, frame: Any) -> None:
        """Do what the process would have done without us: the previous handler, or the default action."""
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL or previous is None:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    def hook(self) -> None:
        """atexit, and SIGTERM / SIGHUP (main thread only) chained to the handlers that were there."""
        if self._hooked:
            return
        self._hooked = True
        atexit.register(self.revoke_everything)
        if threading.current_thread() is not threading.main_thread():
            return
        for name in _SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:  # Windows has no SIGHUP
                continue
            try:
                previous = signal.getsignal(signum)
                if previous == signal.SIG_IGN:  # nohup and friends: the process is meant to live on
                    continue
                signal.signal(signum, self._on_signal)
                self._previous[signum] = previous
            except (ValueError, OSError):
                pass

    def unhook(self, wait: float = 0.5) -> None:
        if not self._hooked:
            return
        self._hooked = False
        atexit.unregister(self.revoke_everything)
        self.link.close(wait=wait)
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, previous in list(self._previous.items()):
            try:
                if signal.getsignal(signum) == self._on_signal:
                    signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
            except (ValueError, OSError):
                pass
        self._previous.clear()


# -- the own tokens of kiwoom_nb.Client(appkey, secretkey) and kiwoom_nb.Stream(appkey, secretkey) -------------

_own: ExitGuard | None = None
_own_lock = threading.Lock()


def own_session() -> Session:
    """The session holding the tokens Clients and Streams issue from their own keys, in a kernel or a script.

    Made at the first such token, with an ExitGuard hooked as the kernel's logins are (atexit, SIGTERM, SIGHUP,
    and the revoker process for deaths without a word), so every token the process issued is revoked at exit.
    """
    global _own
    with _own_lock:
        if _own is None:
            guard = ExitGuard(Session())
            guard.hook()
            _own = guard
        return _own.session
