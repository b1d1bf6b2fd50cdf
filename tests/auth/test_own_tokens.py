"""The tokens a Client or a Stream issues from its own keys are revoked at every exit, as the kernel's logins are,
and a token Kiwoom handed to two holders is revoked only by the last one (issue 28, item 3).

Real kernels and scripts against the fake Kiwoom on loopback; what counts is what the fake saw: every token it
issued got one au10002.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import CANARY, logged_in, revoked_when_done, wait_for

import kiwoom_nb
from kiwoom_nb import Client
from kiwoom_nb.auth._holders import Holders
from kiwoom_nb.auth._session import Session
from kiwoom_nb.testing import FakeKiwoom

KEYS = CANARY["production"]

OWN = """
import os, kiwoom_nb
own = kiwoom_nb.Client(os.environ["KIWOOM_APPKEY"], os.environ["KIWOOM_SECRETKEY"], base_url=os.environ["KIWOOM_BASE_URL"])
own.call("ka10001", stk_cd="005930")
live = kiwoom_nb.Stream(os.environ["KIWOOM_APPKEY"], os.environ["KIWOOM_SECRETKEY"], base_url=os.environ["KIWOOM_BASE_URL"],
                        ws_url=os.environ["KIWOOM_WS_URL"])
live.watch(["005930"], "0B")
from kiwoom_nb.auth import _exit
_guard = getattr(_exit, "_own", None)
print(_guard.link.process.pid if _guard is not None and _guard.link.active else 0)
"""


def revokers(kernel) -> list[int]:
    """The pids of the kernel's revoker processes (the login's and the own-key tokens'), to wait for their end."""
    text = kernel.ok("%kiwoom_status").data("text/plain")[0]
    import re

    return [int(pid) for pid in re.findall(r"revoker process (\d+)", text)]


def issued(fake) -> list[str]:
    return sorted(token.value for token in fake.tokens)


def shutdown(kernel) -> None:
    kernel.shutdown()


def restart(kernel) -> None:
    kernel.shutdown(restart=True)


def sigterm(kernel) -> None:
    kernel.km.signal_kernel(signal.SIGTERM)
    kernel.wait_exit()


def sighup(kernel) -> None:
    kernel.km.signal_kernel(signal.SIGHUP)
    kernel.wait_exit()


def sigkill(kernel) -> None:
    os.kill(kernel.process.pid, signal.SIGKILL)
    kernel.wait_exit()


def os_exit(kernel) -> None:
    kernel.kc.execute("import os; os._exit(1)")
    kernel.wait_exit()


@pytest.mark.parametrize("stop", [shutdown, restart, sigterm, sighup, sigkill, os_exit], ids=lambda stop: stop.__name__)
def test_every_token_a_kernel_issued_is_revoked_however_it_ends(fake, start_kernel, stop):
    """The login, an own-key Client and an own-key Stream: three tokens issued, the same three revoked, once."""
    kernel = logged_in(start_kernel)
    pids = revokers(kernel)
    own_revoker = int(kernel.ok(OWN).stdout.split()[-1])
    assert len(issued(fake)) == 3
    process = kernel.process
    stop(kernel)
    wait_for(lambda: process.poll() is not None, 20, "the old kernel to end")
    wait_for(lambda: len(fake.revokes) >= 3, 20, "three revokes")
    done = revoked_when_done(fake, *pids, *([own_revoker] if own_revoker else []), timeout=30)
    assert sorted(done) == issued(fake) and fake.live_tokens() == []


SCRIPT = OWN + """
import sys, threading
from pathlib import Path
Path(sys.argv[1]).write_text("ready")
if sys.argv[2] == "exit":
    sys.exit(0)
threading.Event().wait()
"""


@pytest.mark.parametrize("how", ["exit", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_every_token_a_script_issued_is_revoked_however_it_ends(fake, kernel_env, tmp_path, how):
    (tmp_path / "script.py").write_text(SCRIPT)
    ready = tmp_path / "ready"
    out = open(tmp_path / "out", "wb")
    process = subprocess.Popen([sys.executable, str(tmp_path / "script.py"), str(ready), how], env=kernel_env,
                               stdout=out, stderr=out)
    try:
        wait_for(lambda: ready.exists() or process.poll() is not None, 60, "the script to open its Client and Stream")
        assert ready.exists(), (tmp_path / "out").read_text()
        assert len(issued(fake)) == 2
        if how != "exit":
            process.send_signal(getattr(signal, how))
        wait_for(lambda: process.poll() is not None, 20, "the script to end")
        wait_for(lambda: len(fake.revokes) >= 2, 40, "two revokes")
        [pid] = [int(line) for line in (tmp_path / "out").read_text().split() if line.isdigit()] or [0]
        done = revoked_when_done(fake, *([pid] if pid else []), timeout=30)
        assert sorted(done) == issued(fake) and fake.live_tokens() == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()
    text = (tmp_path / "out").read_bytes()
    assert not [s for s in (*KEYS, *(t.value for t in fake.tokens)) if s.encode() in text]


# -- a token handed to two holders -------------------------------------------------------------------------


@pytest.fixture
def same_token(tmp_path):
    return FakeKiwoom(keys=dict(CANARY), same_token=True)


def test_a_with_client_block_leaves_the_kernels_token_of_the_same_keys_alive(same_token, tmp_path):
    session = Session(transport=same_token.transport, holders=Holders(tmp_path / "holders"))
    login, _ = session.login(*KEYS, var="kiwoom_token")
    with Client(*KEYS, transport=same_token.transport) as client:
        client.call("ka10001", stk_cd="005930")
        assert client.tokens.current() == login.token  # Kiwoom handed back the same token
    assert same_token.revokes == [] and same_token.is_live(login.token)
    session.logout("kiwoom_token")  # the last holder: now it goes
    assert [r.body["token"] for r in same_token.revokes] == [login.token.value]


def test_a_logout_leaves_the_token_a_client_of_the_same_keys_still_uses(same_token, tmp_path):
    session = Session(transport=same_token.transport, holders=Holders(tmp_path / "holders"))
    client = Client(*KEYS, transport=same_token.transport)
    client.call("ka10001", stk_cd="005930")
    login, _ = session.login(*KEYS, var="kiwoom_token")
    assert login.token == client.tokens.current()
    _, kept = session.logout("kiwoom_token")
    assert kept and same_token.revokes == []
    client.call("ka10001", stk_cd="005930")  # still works
    client.close()
    assert [r.body["token"] for r in same_token.revokes] == [login.token.value]


def test_two_clients_with_one_token_revoke_it_once_when_the_last_closes(same_token):
    first, second = (Client(*KEYS, transport=same_token.transport) for _ in range(2))
    first.call("ka10001", stk_cd="005930")
    second.call("ka10001", stk_cd="005930")
    first.close()
    assert same_token.revokes == []
    second.call("ka10001", stk_cd="005930")
    second.close()
    assert len(same_token.revokes) == 1


def test_a_client_leaves_a_token_another_process_on_the_machine_holds(same_token):
    from kiwoom_nb.auth._exit import own_session

    client = Client(*KEYS, transport=same_token.transport)
    token = client.tokens.current()
    other = Holders(own_session().holders.directory, pid=os.getppid())  # a live process that is not this one
    other.add(token)
    try:
        client.close()
        assert same_token.revokes == [] and same_token.is_live(token)
    finally:
        other.remove(token)


# -- a token the WebSocket refused ---------------------------------------------------------------------------


@pytest.mark.in_process  # the in-process socket's own token (a hub re-issues its own)
def test_a_token_the_websocket_refused_is_revoked_when_replaced_own_keys(fake):
    from kiwoom_nb.live._stream import Stream

    fake.ws.refuse_next_login()  # 8005 on the WebSocket, though the REST API would still take the token
    live = Stream(*KEYS, base_url=fake.url, ws_url=fake.ws_url)
    try:
        first, second = (t.value for t in fake.tokens)
        wait_for(lambda: first in [r.body["token"] for r in fake.revokes], 10, "the refused token's revoke")
        assert not fake.is_live(first) and fake.is_live(second)
    finally:
        live.close()
    assert sorted(r.body["token"] for r in fake.revokes) == sorted([first, second])


@pytest.mark.in_process  # the in-process socket's own token (a hub re-issues its own)
def test_a_token_the_websocket_refused_is_revoked_when_replaced_kernel_login(fake, tmp_path):
    from kiwoom_nb.rest._api import SessionTokens
    from kiwoom_nb.live._stream import Stream

    session = Session(holders=Holders(tmp_path / "holders"))
    session.login(*KEYS, var="kiwoom_token", base_url=fake.url)
    fake.ws.refuse_next_login()
    live = Stream.bound(SessionTokens(session, "kiwoom_token"), ws_url=fake.ws_url, var="kiwoom_token")
    try:
        first, second = (t.value for t in fake.tokens)
        assert [r.body["token"] for r in fake.revokes] == [first] and not fake.is_live(first)
        assert session.find("kiwoom_token").token == second
    finally:
        live.close()
        session.revoke_all(5.0)
    assert fake.live_tokens() == []


def test_a_refused_token_whose_revoke_fails_is_let_go_quietly(fake):
    from kiwoom_nb.auth._exit import own_session
    from kiwoom_nb.live._stream import Stream

    fake.ws.refuse_next_login()
    fake.fail_next("server_error", path="/oauth2/revoke")  # as a token Kiwoom no longer knows would fail
    live = Stream(*KEYS, base_url=fake.url, ws_url=fake.ws_url)
    try:
        assert str(live.status).startswith("connected")
        first = fake.tokens[0].value
        assert first in [r.body["token"] for r in fake.revokes]
        assert first not in [str(login.token) for login in own_session().orphans]  # not retried at exit
    finally:
        live.close()


def test_threads_sharing_a_new_client_issue_one_token_and_close_revokes_it_once(fake):
    from support import in_threads

    client = Client(*KEYS, transport=fake.transport, pace=None)
    results, errors = in_threads(lambda _: client.call("ka10001", stk_cd="005930"), [(i,) for i in range(8)])
    assert errors == [] and len(results) == 8
    assert len(fake.issues) == 1
    client.close()
    [token] = fake.tokens
    assert [r.body["token"] for r in fake.revokes] == [token.value]
    from kiwoom_nb.auth._exit import own_session

    assert token.value not in [str(login.token) for login in own_session().logins.values()]  # not revoked again at exit


def test_in_a_kernel_a_with_client_block_leaves_kiwoom_token_alive(fake, start_kernel):
    """What the issue saw: Kiwoom hands the kernel's login and a Client with the same keys one token; leaving the
    ``with`` block revoked the kernel's ``kiwoom_token``. Now the notebook's next call still works."""
    fake.same_token = True
    kernel = logged_in(start_kernel)
    kernel.ok("import os, kiwoom_nb\n"
              "with kiwoom_nb.Client(os.environ['KIWOOM_APPKEY'], os.environ['KIWOOM_SECRETKEY'],\n"
              "                      base_url=os.environ['KIWOOM_BASE_URL']) as own:\n"
              "    own.call('ka10001', stk_cd='005930')\n"
              "print(own.tokens.token is None, own.closed)")
    [token] = {t.value for t in fake.tokens}
    assert fake.revokes == [] and fake.is_live(token)
    kernel.ok("kiwoom_nb.client().call('ka10001', stk_cd='005930')")  # the notebook's login still works
    assert len(fake.issues) == 2  # no re-issue was needed
    kernel.ok("%kiwoom_logout")
    assert [r.body["token"] for r in fake.revokes] == [token]
