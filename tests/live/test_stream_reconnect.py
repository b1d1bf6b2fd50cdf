"""Reconnects that neither leak nor storm: a LOGIN nobody answers closes its connection (and close() reaches one in
flight), the back-off grows while the server accepts LOGIN and drops at once (jitter, a cap, the next attempt in
``status``), and a stream closed while its socket reconnects takes its items away for good. Waits have deadlines;
timings are asserted only from below."""

from __future__ import annotations

import threading

import pytest

from kiwoom_nb.live import _socket
from kiwoom_nb.live._stream import Stream
from support import CANARY, wait_for

pytest.importorskip("pandas")


@pytest.fixture
def quick(monkeypatch):
    """Reconnect after 0.1 s (then 0.2, 0.4 ...): the tests need not wait for the real back-off."""
    monkeypatch.setattr(_socket, "BACKOFF_FIRST", 0.1, raising=False)
    monkeypatch.setattr(_socket, "BACKOFF", (0.1,), raising=False)  # the old constant, for a run on the old code


def open_stream(fake, **options):
    return Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, **options)


def logins(fake):
    return fake.ws.received("LOGIN")


@pytest.mark.in_process  # the in-process socket as such
def test_a_login_nobody_answers_closes_its_connection(fake, quick):
    with open_stream(fake, timeout=1.0) as live:
        live.watch(["005930"], "0B")
        fake.ws.silent_logins = 3
        fake.ws.drop()
        wait_for(lambda: len(logins(fake)) == 5 and live.status.state == "connected", 30,
                 "three silent LOGINs, then one answered")

        wait_for(lambda: len(fake.ws.live()) == 1, 10, "the silent connections closed")
        assert live.status.reconnects >= 1
        assert {c for c, _, _ in fake.ws.closes} >= {f.connection for f in logins(fake)[1:4]}


def test_close_reaches_a_connection_waiting_for_its_login_answer(fake, quick):
    before = set(threading.enumerate())
    live = open_stream(fake, timeout=5.0)
    live.watch(["005930"], "0B")
    fake.ws.silent_logins = 100
    fake.ws.drop()
    wait_for(lambda: len(logins(fake)) == 2, 10, "a LOGIN nobody answers")
    live.close(timeout=1.0)

    wait_for(lambda: not fake.ws.live(), 10, "no connection left open")
    wait_for(lambda: not [t for t in threading.enumerate() if t.name == "kiwoom-stream"], 10, "no socket thread left")
    assert len(logins(fake)) == 2  # and nothing tried again after the close
    ours = lambda: [t for t in set(threading.enumerate()) - before if "process_request" not in t.name]  # noqa: E731
    wait_for(lambda: not ours(), 10, "every thread of the stream gone, websockets' too (the fake's aside)")


@pytest.mark.in_process  # the in-process socket as such
def test_the_back_off_grows_while_the_server_accepts_login_and_drops_at_once(fake, quick):
    with open_stream(fake) as live:
        live.watch(["005930"], "0B")
        fake.ws.drop_after_login = True
        fake.ws.drop()
        wait_for(lambda: "next attempt in" in str(live.status), 10, "the status to say when it tries again")
        wait_for(lambda: len(logins(fake)) >= 6, 30, "five reconnects")
        fake.ws.drop_after_login = False

    at = [f.at for f in logins(fake)[1:6]]
    gaps = [b - a for a, b in zip(at, at[1:])]
    # 0.1 s doubled each time, with jitter of half to all of it: 0.05+, 0.1+, 0.2+, 0.4+ (the old code: 0.1 each time)
    assert gaps[-1] >= 0.4 and sum(gaps) >= 0.75, gaps
    regs = fake.ws.received("REG")
    assert len(regs) <= len(logins(fake))  # one REG per connection, not a storm of them


def test_backoff_doubles_with_jitter_up_to_the_cap():
    delays = [[_socket.backoff(n) for _ in range(50)] for n in range(12)]

    for n, tried in enumerate(delays):
        full = min(_socket.BACKOFF_CAP, _socket.BACKOFF_FIRST * 2 ** n)
        assert all(full / 2 <= d <= full for d in tried) and len(set(tried)) > 1
    assert max(delays[-1]) <= _socket.BACKOFF_CAP


@pytest.mark.in_process  # the in-process socket as such
def test_a_stream_closed_while_its_socket_reconnects_takes_its_items_away_for_good(fake, quick):
    first = open_stream(fake, timeout=2.0)
    second = open_stream(fake)
    first.watch(["005930"], "0B")
    second.watch(["000660"], "0B")
    second.watch_condition("1")
    fake.ws.silent_logins = 1  # the first reconnect waits 2 s for its LOGIN answer: time to close one
    fake.ws.drop()
    wait_for(lambda: first.status.state.startswith("reconnecting") and len(logins(fake)) == 2, 10, "the reconnect")
    second.close()
    wait_for(lambda: first.status.state == "connected" and len(logins(fake)) == 3, 20, "the reconnect to finish")

    last = logins(fake)[-1].connection
    [conn] = [c for c in fake.ws.live() if c.number == last]
    wait_for(lambda: conn.regs, 5, "the REG re-sent")
    assert conn.regs == {"0B": {"005930"}} and not conn.conditions
    first.close()
