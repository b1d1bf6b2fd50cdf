"""The shared pace (issue 33) against a hostile user, OS and clock: a password in every shape of pace URL never
shows, a cache cleared under running processes does not split one key's budget, and a wall clock stepped back does
not make every call wait its whole timeout. Each test here failed on the first build of kiwoom_nb.pace."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import warnings

import pytest

from kiwoom_nb import pace
from kiwoom_nb.notebook._settings import Settings
from kiwoom_nb.pace import _local
from kiwoom_nb.pace._local import LocalBudget

SECRET = "Pw-CANARY-5a7d"


@pytest.mark.parametrize("url", [
    f"redis://:{SECRET}@h:6379/0",
    f"redis://user:{SECRET}@h:6379/0",
    f"rediss://:{SECRET}@h",
    f"unix://:{SECRET}@/run/redis.sock?db=0",
    f"redis://:{SECRET}@h:bad/0",
    f"redis://:ab/{SECRET}@h:6379/0",  # an unencoded / ? # in a password ends the netloc early for urlsplit
    f"redis://:ab?{SECRET}@h:6379/0",
    f"redis://:ab#{SECRET}@h:6379/0",
    f"redis://u:a@{SECRET}@h/0",
    f"redis://h:6379/0?password={SECRET}",  # redis-py takes the password from the query too
    f"unix:///run/redis.sock?db=0&PASSWORD={SECRET}",
])
def test_a_password_in_any_shape_of_pace_url_never_shows_in_config(url):
    settings = Settings()
    settings.pace_url = url
    assert SECRET not in pace.masked(url)
    assert SECRET not in settings.pace_url and SECRET not in repr(settings.pace_url)
    assert pace.url() == url  # the real URL stays with kiwoom_nb.pace
    settings.pace_url = settings.pace_url  # the masked text set back (a config round trip) changes nothing
    assert pace.url() == url


def test_a_cache_cleared_under_a_running_process_does_not_split_the_budget(tmp_path):
    directory = tmp_path / "pace"
    running = LocalBudget("k", directory)
    running.learn("ka10001", 3.0)
    shutil.rmtree(directory)  # the user clears ~/.cache while a kernel runs
    newcomer = LocalBudget("k", directory)
    newcomer.learn("ka10002", 5.0)
    running.learn("ka10003", 2.0)
    assert running.learned() == newcomer.learned() == {"ka10002": 5.0, "ka10003": 2.0}
    running.close()
    newcomer.close()


def test_a_wall_clock_stepped_back_does_not_make_every_call_wait_its_timeout(tmp_path, monkeypatch):
    budget = LocalBudget("k", tmp_path)
    budget.learn("ka10001", 2.0)  # Kiwoom said 2 a second
    real = time.time
    monkeypatch.setattr(_local.time, "time", lambda: real() + 3600)  # the clock ran an hour ahead ...
    for _ in range(2):
        ticket, _, _ = budget.acquire("ka10001", ["ka10001"], None, 3.0, 5.0)
        assert ticket
        budget.release(ticket)
    monkeypatch.setattr(_local.time, "time", real)  # ... and NTP stepped it back
    ticket, waited, _ = budget.acquire("ka10001", ["ka10001"], None, 3.0, 5.0)
    assert ticket, f"waited its whole timeout ({waited:.1f} s) for slots stamped by the clock that ran ahead"
    budget.close()


@pytest.mark.parametrize("url", [f"redis:{SECRET}@h:6379://0", f"{SECRET}://h", f"redis:/:{SECRET}@h/x://y"])
def test_a_pace_url_refused_never_names_its_password(url):
    with pytest.raises(Exception) as refused:
        Settings().pace_url = url
    import traceback

    shown = "".join(traceback.format_exception(refused.value))
    assert "not a Redis URL" in shown and SECRET.lower() not in shown.lower()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_child_forked_while_another_thread_holds_the_budget_still_paces():
    budget = pace.budget_for("0123456789abcdef")
    held, done = threading.Event(), threading.Event()

    def inside_a_transaction() -> None:  # as a thread paging candles is, for up to a second when the file is busy
        with budget._lock:
            held.set()
            done.wait(30)

    thread = threading.Thread(target=inside_a_transaction)
    thread.start()
    held.wait(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: exactly the hostile case
        child = os.fork()
    if child == 0:  # the child: one call through the budget, then out
        try:
            ticket, _, _ = budget.acquire("ka10001", ["ka10001"], None, 3.0, 2.0)
            budget.release(ticket)
            os._exit(0 if ticket is not None else 3)
        finally:
            os._exit(4)
    done.set()
    thread.join()
    deadline = time.monotonic() + 30
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            pytest.fail("the forked child hung on a lock its parent's other thread held at the fork")
        time.sleep(0.05)  # noqa: polling the child's exit with a deadline
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_state_file_as_a_symlink_is_never_written_through(tmp_path, caplog):
    victim = tmp_path / "someone-elses-file"
    victim.write_bytes(b"")  # empty: SQLite would happily make it a database
    directory = tmp_path / "pace"
    directory.mkdir()
    (directory / "k.sqlite3").symlink_to(victim)
    budget = LocalBudget("k", directory)
    budget.learn("ka10001", 3.0)
    assert budget.learned() == {"ka10001": 3.0}  # the budget still works ...
    assert victim.read_bytes() == b""  # ... in a file of its own
    assert not (directory / "k.sqlite3").is_symlink()
    assert "symbolic link" in caplog.text
    budget.close()
