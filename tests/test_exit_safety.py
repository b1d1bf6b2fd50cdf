"""The exit path holds where a platform lacks something, and when signals come at awkward times (issue 17).

A Python without ``os.set_blocking`` (Windows before 3.12), signals during the exit revoke, a SIGHUP handler
that lets the process live on, pids reused by other processes, and revoker logs that pile up. Signals are
sent to real subprocesses that use kiwoom_nb's Session and ExitGuard against the fake Kiwoom on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import CANARY, gone

from kiwoom_nb import _holders, _revoker
from kiwoom_nb._exit import ExitGuard
from kiwoom_nb._holders import Holders
from kiwoom_nb._session import Session
from kiwoom_nb.testing import wait_until

KEYS = CANARY["production"]


def open_fds() -> dict[int, str]:
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[int(fd)] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used
            pass
    return fds


def revoked(fake) -> list[str]:
    return [request.body["token"] for request in fake.revokes]


# -- a Python without os.set_blocking (Windows before 3.12) ----------------------------------------------


def _without_set_blocking(monkeypatch) -> None:
    monkeypatch.delattr(os, "set_blocking")


def _set_blocking_raising(monkeypatch) -> None:
    def set_blocking(fd: int, blocking: bool) -> None:
        raise AttributeError("set_blocking")  # anything unexpected from the platform, mid-way through

    monkeypatch.setattr(os, "set_blocking", set_blocking)


@pytest.mark.parametrize("lacking", [_without_set_blocking, _set_blocking_raising], ids=["missing", "raising"])
def test_a_revoker_that_cannot_start_leaks_nothing_and_the_status_says_why(fake, tmp_path, monkeypatch, lacking):
    cache = tmp_path / "cache"
    session = Session(transport=fake.transport, holders=Holders(cache / "holders"))
    warnings: list[str] = []
    guard = ExitGuard(session, warn=warnings.append)
    Session(transport=fake.transport, holders=Holders(tmp_path / "warm-up")).login(*KEYS, var="warm_up")  # httpx loaded
    before = open_fds()

    lacking(monkeypatch)
    session.login(*KEYS, var="kiwoom_token")
    session.login(*KEYS, var="kiwoom_token", force=True)
    session.login(*KEYS, var="other_token")

    # no pipe end, no log file left open. Sockets and selectors are left out: the threads of earlier tests' streams
    # open and close theirs meanwhile, and the result must not depend on which tests ran before.
    def ours(fds: dict[int, str]) -> dict[int, str]:
        return {fd: target for fd, target in fds.items() if not target.startswith(("socket:", "anon_inode:"))}

    assert ours(open_fds()) == ours(before)
    assert sorted(p.name for p in cache.iterdir()) == ["holders"]  # no revoker log left behind
    [line] = warnings  # said once
    assert "could not start" in line and "only when the kernel exits cleanly" in line
    status = guard.safety_net()
    assert status.startswith("not active: the revoker process could not start")
    assert ("os.set_blocking" if lacking is _without_set_blocking else "AttributeError") in status
    assert guard.link.process is None and not guard.link.active
    assert not [s for s in (*KEYS, *(t.value for t in fake.tokens)) if s in line + status]

    guard.revoke_everything()  # a clean exit still revokes
    assert fake.live_tokens() == [fake.tokens[0].value]  # only the warm-up's token is left


def test_without_proc_a_live_pid_alone_decides_and_a_dead_one_is_pruned(tmp_path, monkeypatch):
    """macOS and the BSDs have no /proc: no start time, and no zombie check; os.kill decides."""
    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise FileNotFoundError(path)
        return open(path, *args, **kwargs)

    monkeypatch.setattr(_holders, "open", no_proc, raising=False)
    monkeypatch.setattr(_holders, "_proc", False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as live:
        try:
            for pid in (live.pid, dead.pid):
                Holders(tmp_path, pid=pid).add("TOKEN-VALUE-123")
            [entry] = tmp_path.rglob(f"*/{live.pid}")
            assert entry.read_text() == ""  # no start time to record: pid-only, as entries of older versions
            assert Holders(tmp_path).others("TOKEN-VALUE-123") == [live.pid]
            assert not list(tmp_path.rglob(f"*/{dead.pid}"))
        finally:
            live.stdin.close()


# -- a pid reused by another process ---------------------------------------------------------------------


def test_a_holder_entry_whose_pid_now_belongs_to_another_process_is_pruned(tmp_path):
    token = "TOKEN-VALUE-123"
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as live:
        try:
            Holders(tmp_path, pid=live.pid).add(token)
            [entry] = tmp_path.rglob(f"*/{live.pid}")
            assert entry.read_text()  # the start time is recorded (Linux: field 22 of /proc/PID/stat)
            ours = Holders(tmp_path)
            assert ours.others(token) == [live.pid]

            entry.write_text("12345")  # as if an earlier process with this pid had written it
            assert ours.others(token) == []  # not another holder: pruned
            assert not entry.exists()

            entry.parent.mkdir(parents=True, exist_ok=True)
            entry.write_text("")  # an entry of an older kiwoom_nb (no start time): the pid alone decides
            assert ours.others(token) == [live.pid]
        finally:
            live.stdin.close()


# -- revoker logs ----------------------------------------------------------------------------------------


def test_a_starting_revoker_bounds_the_logs_of_the_revokers_before_it(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    now = time.time()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()

    def log(name: str, age_days: float, text: str = "2026-01-01 00:00:00 kiwoom_nb revoker: gave up ...\n") -> Path:
        path = cache / name
        path.write_text(text)
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
        return path

    gave_up = [log(f"revoker-{1000 + n}.log", age_days=n) for n in range(15)]  # n days old
    ancient = log("revoker-3000-2.log", age_days=40)
    empty_dead_old = log(f"revoker-{dead.pid}.log", age_days=40, text="")
    empty_live_old = log(f"revoker-{os.getpid()}.log", age_days=40, text="")  # its revoker may still wait
    empty_dead_new = log(f"revoker-{dead.pid}-2.log", age_days=1, text="")
    other = log("notes.txt", age_days=40)

    ours = cache / "revoker-4000.log"
    with open(ours, "wb") as stream:
        done = subprocess.run([sys.executable, "-m", "kiwoom_nb._revoker", str(ours)], input=b"", stdout=stream,
                              stderr=stream, timeout=60, cwd=tmp_path)
    assert done.returncode == 0

    left = {p.name for p in cache.iterdir()}
    assert left == {p.name for p in (*gave_up[:_revoker.KEEP_LOGS], empty_live_old, empty_dead_new, other)}
    assert not {p.name for p in (*gave_up[_revoker.KEEP_LOGS:], ancient, empty_dead_old, ours)} & left


# -- signals during the exit revoke, and a SIGHUP handler that does not exit ------------------------------

CHILD = r'''
import os, signal, sys, threading
from pathlib import Path

from kiwoom_nb._exit import ExitGuard
from kiwoom_nb._holders import Holders
from kiwoom_nb._session import Session

here, mode = Path(sys.argv[1]), sys.argv[2].split(",")
session = Session(holders=Holders(here / "cache" / "holders"))
guard = ExitGuard(session)
guard.budget = 60.0  # the fake answers late on purpose: the revoke must be able to finish
guard.use_revoker = "revoker" in mode
hup = threading.Event()
if "returning-sighup" in mode:
    signal.signal(signal.SIGHUP, lambda *args: hup.set())  # an earlier handler that lets the process live on
guard.hook()


def login(var):
    session.login(os.environ["KIWOOM_APPKEY"], os.environ["KIWOOM_SECRETKEY"], var=var,
                  base_url=os.environ["KIWOOM_BASE_URL"])


def ready(step):
    (here / f"ready-{step}").write_text(str(guard.link.process.pid if guard.link.active else 0))


login("first")
if "exit-at-once" in mode:
    sys.exit(0)  # the revoke runs in atexit
ready(1)
if "login-again" in mode:
    while not hup.wait(0.05):  # until the SIGHUP has been handled
        pass
    login("second")
    ready(2)
    if "exit" in mode:
        sys.exit(0)
threading.Event().wait()  # until a signal ends the process
'''


class Child:
    """The CHILD script in a subprocess; its output goes to a file that is checked for secrets."""

    def __init__(self, fake, tmp_path: Path, *mode: str) -> None:
        self.dir = tmp_path
        (tmp_path / "child.py").write_text(CHILD)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
        env.update(fake.environ("production"), PYTHONUNBUFFERED="1")
        self.output = open(tmp_path / "child.out", "wb")
        self.process = subprocess.Popen([sys.executable, str(tmp_path / "child.py"), str(tmp_path), ",".join(mode)],
                                        env=env, stdout=self.output, stderr=self.output)

    def ready(self, step: int) -> int:
        """Wait for step ``step``; returns the revoker's pid then (0: none)."""
        path = self.dir / f"ready-{step}"
        wait_until(lambda: path.exists() and path.read_text(), 30, f"the child to reach step {step}")
        return int(path.read_text())

    def signal(self, signum: int) -> None:
        os.kill(self.process.pid, signum)

    def ended(self) -> int:
        wait_until(lambda: self.process.poll() is not None, 60, "the child to end")
        return self.process.returncode

    def holder_entries(self) -> list[Path]:
        return list((self.dir / "cache" / "holders").glob(f"*/{self.process.pid}"))

    def close(self, fake) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.output.close()
        text = (self.dir / "child.out").read_bytes()
        secrets = [s.encode() for s in (*KEYS, *(t.value for t in fake.tokens))]
        assert not [s for s in secrets if s in text], "a key or token in the child's output"


@pytest.fixture
def child(fake, tmp_path):
    children: list[Child] = []

    def start(*mode: str) -> Child:
        children.append(Child(fake, tmp_path, *mode))
        return children[-1]

    yield start
    for one in children:
        one.close(fake)


def test_a_sigterm_during_the_revoke_at_exit_ends_the_process_once_the_revoke_is_done(fake, child):
    fake.fail_next(("slow", 2.0), path="/oauth2/revoke")
    process = child("exit-at-once")
    wait_until(lambda: fake.revokes, 30, "the revoke at exit to reach the fake")
    process.signal(signal.SIGTERM)
    assert process.ended() == -signal.SIGTERM
    [token] = [t.value for t in fake.tokens]
    assert revoked(fake) == [token] and not fake.is_live(token)
    assert process.holder_entries() == []  # the revoke finished in the process: its answer was read


def test_a_second_sigterm_during_the_signal_revoke_does_not_abort_it(fake, child):
    process = child()
    process.ready(1)
    fake.fail_next(("slow", 2.0), path="/oauth2/revoke")
    process.signal(signal.SIGTERM)
    wait_until(lambda: fake.revokes, 30, "the revoke to reach the fake")
    process.signal(signal.SIGTERM)
    assert process.ended() == -signal.SIGTERM
    [token] = [t.value for t in fake.tokens]
    assert revoked(fake) == [token] and not fake.is_live(token)
    assert process.holder_entries() == []


def test_a_sigterm_during_the_revoke_of_a_sighup_that_did_not_exit_still_ends_the_process(fake, child):
    process = child("returning-sighup")
    process.ready(1)
    fake.fail_next(("slow", 2.0), path="/oauth2/revoke")
    process.signal(signal.SIGHUP)
    wait_until(lambda: fake.revokes, 30, "the SIGHUP's revoke to reach the fake")
    process.signal(signal.SIGTERM)
    assert process.ended() == -signal.SIGTERM
    [token] = [t.value for t in fake.tokens]
    assert revoked(fake) == [token] and not fake.is_live(token)


def test_logins_after_a_sighup_that_did_not_exit_are_revoked_at_exit(fake, child):
    """The process revokes them itself: the revoker is off, so nothing else could."""
    process = child("returning-sighup", "login-again", "exit")
    process.ready(1)
    process.signal(signal.SIGHUP)
    process.ready(2)
    assert process.ended() == 0
    first, second = (t.value for t in fake.tokens)
    assert revoked(fake) == [first, second] and fake.live_tokens() == []


def test_after_a_sighup_that_did_not_exit_a_new_revoker_covers_the_next_login(fake, child):
    process = child("returning-sighup", "login-again", "revoker")
    first_revoker = process.ready(1)
    process.signal(signal.SIGHUP)
    second_revoker = process.ready(2)
    assert first_revoker and second_revoker and second_revoker != first_revoker
    wait_until(lambda: gone(first_revoker), 10, "the first revoker to exit")
    first, second = (t.value for t in fake.tokens)
    assert revoked(fake) == [first]

    process.signal(signal.SIGKILL)  # the process dies without a word: only the new revoker can revoke
    assert process.ended() == -signal.SIGKILL
    wait_until(lambda: second in revoked(fake), 10, "the new revoker's revoke")
    wait_until(lambda: gone(second_revoker), 10, "the new revoker to exit")
    assert revoked(fake) == [first, second] and fake.live_tokens() == []
    logs = list((process.dir / "cache").glob("revoker-*.log"))
    assert logs == []  # each revoker had a log of its own, removed empty
