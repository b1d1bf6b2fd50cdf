"""Session and the holders registry as plain library code: reuse, replace, refresh, logout, exit revoke."""

from __future__ import annotations

import _thread
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest

from kiwoom_nb import KiwoomError
from kiwoom_nb.auth._holders import Holders
from kiwoom_nb.auth._session import Session
from kiwoom_nb.testing import FakeKiwoom

from support import CANARY, within

APPKEY, SECRETKEY = CANARY["production"]


@pytest.fixture
def fake_kiwoom():
    return FakeKiwoom(keys=dict(CANARY))


@pytest.fixture
def session(fake_kiwoom, tmp_path):
    return Session(transport=fake_kiwoom.transport, holders=Holders(tmp_path / "holders"))


def login(session: Session, **kwargs):
    return session.login(APPKEY, SECRETKEY, var=kwargs.pop("var", "kiwoom_token"), **kwargs)


def test_reuse_force_and_replace(session, fake_kiwoom):
    first, reused = login(session)
    assert not reused and len(fake_kiwoom.issues) == 1
    again, reused = login(session)
    assert reused and again is first and len(fake_kiwoom.issues) == 1
    forced, reused = login(session, force=True)
    assert not reused and forced.token != first.token
    assert [r.body["token"] for r in fake_kiwoom.revokes] == [first.token.value]


def test_same_token_on_reissue_is_not_revoked(tmp_path):
    fake = FakeKiwoom(keys=dict(CANARY), same_token=True)
    session = Session(transport=fake.transport, holders=Holders(tmp_path))
    first, _ = login(session)
    second, _ = login(session, force=True)
    assert second.token == first.token and fake.revokes == [] and fake.is_live(first.token)


def test_failed_login_keeps_the_previous_token(session, fake_kiwoom):
    first, _ = login(session)
    fake_kiwoom.fail_next("server_error")
    with pytest.raises(KiwoomError):
        login(session, force=True)
    assert session.find("kiwoom_token") is first and fake_kiwoom.is_live(first.token)


def test_two_variables_with_one_token_revoke_once(tmp_path):
    fake = FakeKiwoom(keys=dict(CANARY), same_token=True)
    session = Session(transport=fake.transport, holders=Holders(tmp_path))
    login(session, var="a")
    login(session, var="b")
    _, kept = session.logout("a")
    assert kept == "b holds the same token" and fake.revokes == []
    session.logout("b")
    assert len(fake.revokes) == 1


def test_refresh_replaces_a_token_near_expiry(tmp_path):
    fake = FakeKiwoom(keys=dict(CANARY), lifetime=timedelta(minutes=5))
    session = Session(transport=fake.transport, holders=Holders(tmp_path))
    session.set_margin(600)
    old, _ = login(session)
    assert session.next_due <= time.time()
    [(fresh, error)] = session.refresh_due()
    assert error is None and fresh.token != old.token and session.find("kiwoom_token") is fresh
    assert [r.body["token"] for r in fake.revokes] == [old.token.value]


def test_refresh_that_returns_the_same_token_waits_for_expiry(tmp_path):
    fake = FakeKiwoom(keys=dict(CANARY), lifetime=timedelta(minutes=5), same_token=True)
    session = Session(transport=fake.transport, holders=Holders(tmp_path))
    session.set_margin(600)
    entry, _ = login(session)
    session.refresh_due()
    assert len(fake.issues) == 2
    assert session.next_due >= entry.token.expires_at.timestamp()
    assert session.refresh_due() == [] and len(fake.issues) == 2


def test_failed_logout_stays_tracked_and_exit_retries(session, fake_kiwoom):
    entry, _ = login(session)
    fake_kiwoom.fail_next("server_error", path="/oauth2/revoke")
    with pytest.raises(KiwoomError):
        session.logout("kiwoom_token")
    assert session.find("kiwoom_token") is entry
    outcome = session.revoke_all(2.0)
    assert outcome["revoked"] == [entry] and not fake_kiwoom.is_live(entry.token)


def test_revoke_all_runs_once(session, fake_kiwoom):
    login(session)
    login(session, var="other", force=True)
    assert len(session.revoke_all(2.0)["revoked"]) == 2
    assert session.revoke_all(2.0) == {"revoked": [], "kept": [], "failed": []}
    assert len(fake_kiwoom.revokes) == 2


def test_revoke_all_keeps_to_its_budget_when_kiwoom_hangs(tmp_path):
    """A 0.5 s budget ends a revoke that would wait 60 s (the session's timeout): within a generous deadline
    here; how close to the budget, bench/bench.py measures (the kernel shutdown against a hanging revoke)."""
    with FakeKiwoom(keys=dict(CANARY), hang_revoke=True) as fake:
        session = Session(timeout=60.0, holders=Holders(tmp_path))
        session.login(APPKEY, SECRETKEY, var="t", base_url=fake.url)
        outcome = within(20, session.revoke_all, 0.5)
        assert len(fake.revokes) == 1 and fake.is_live(fake.tokens[0].value)  # tried once, not revoked
    assert [e.var for e in outcome["failed"]] == ["t"]


def test_revoke_all_survives_a_keyboard_interrupt(tmp_path, fake_kiwoom):
    """The SIGINT that precedes a kernel shutdown may land while the revoke is under way."""

    def interrupting(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/revoke":
            _thread.interrupt_main()  # KeyboardInterrupt in the main thread, waiting in revoke_all
        return inner.handle_request(request)

    inner = fake_kiwoom.transport
    session = Session(transport=httpx.MockTransport(interrupting), holders=Holders(tmp_path))
    login(session)
    outcome = session.revoke_all(5.0)
    assert len(outcome["revoked"]) == 1 and fake_kiwoom.live_tokens() == []


def test_holders_registry(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ours = Holders(tmp_path)
    parent = Holders(tmp_path, pid=__import__("os").getppid())
    gone = Holders(tmp_path, pid=dead.pid)
    for holder in (ours, parent, gone):
        holder.add("TOKEN-VALUE-123")
    assert ours.others("TOKEN-VALUE-123") == [parent.pid]  # the dead one is pruned
    assert "TOKEN-VALUE-123" not in " ".join(p.name for p in tmp_path.rglob("*"))
    parent.remove("TOKEN-VALUE-123")
    assert ours.others("TOKEN-VALUE-123") == []
    if sys.platform != "win32":
        assert oct(next(tmp_path.iterdir()).stat().st_mode & 0o777) == "0o700"


def test_the_before_cell_refresh_waits_briefly(tmp_path, fake_kiwoom):
    """The token is still valid when it is refreshed: a slow Kiwoom must not hold the user's cell for long."""
    timeouts = []

    def recording(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        return inner.handle_request(request)

    inner = fake_kiwoom.transport
    session = Session(timeout=10.0, transport=httpx.MockTransport(recording), holders=Holders(tmp_path))
    session.set_margin(2 * 24 * 3600)  # every token is due
    login(session)
    session.refresh_due()
    assert timeouts[0] == 10.0 and timeouts[1] <= 3.0


def test_reissue_replaces_a_rejected_token_once(session, fake_kiwoom):
    first, _ = login(session)
    fresh = session.reissue("kiwoom_token", first.token)
    again = session.reissue("kiwoom_token", first.token)  # a second client reporting the same stale token

    assert fresh.token != first.token and again is fresh
    assert len(fake_kiwoom.issues) == 2 and fake_kiwoom.revokes == []  # the rejected one is dropped, not revoked
    assert session.find("kiwoom_token") is fresh
    assert session.holders.others(fresh.token) == [] and (session.holders._dir(fresh.token)).exists()
    assert not session.holders._dir(first.token).exists()
    assert session.revoke_all(5)["revoked"] == [fresh]  # the exit revoke knows the new token


def test_reissue_without_a_login_says_so(session):
    with pytest.raises(KiwoomError, match="no Kiwoom login in other"):
        session.reissue("other", "x" * 20)
