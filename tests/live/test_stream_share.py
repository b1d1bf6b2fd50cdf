"""Whoever shares a socket shares its token, and only the last one out revokes it: streams of one app key log in with
one token source, each holding a counted reference; closing either stream first (then a drop) leaves the other
working, and the token is revoked when the last one closes. Waits have deadlines."""

from __future__ import annotations

import pytest

from kiwoom_nb.live._stream import Stream
from support import CANARY, logged_in, wait_for

pytest.importorskip("pandas")


def open_stream(fake):
    return Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)


def works_after_a_drop(fake, live, code):
    """A drop, then the reconnect logs in, re-registers ``code`` and events arrive."""
    logins = len(fake.ws.received("LOGIN"))
    fake.ws.drop()
    wait_for(lambda: len(fake.ws.received("LOGIN")) > logins and live.status.state == "connected", 15, "the reconnect")
    [conn] = fake.ws.live()
    wait_for(lambda: conn.regs.get("0B") == {code}, 5, "the REG re-sent")
    before = live.status.received
    wait_for(lambda: live.status.received > before + 3, 10, "events again")


@pytest.mark.in_process  # the in-process socket as such
@pytest.mark.parametrize("closed_first", ["first", "second"])
def test_closing_either_stream_first_leaves_the_other_working_and_the_last_one_out_revokes(fake, closed_first):
    first, second = open_stream(fake), open_stream(fake)
    first.watch(["005930"], "0B")
    second.watch(["000660"], "0B")
    assert len(fake.ws.live()) == 1 and len(fake.ws.received("LOGIN")) == 1
    gone, stays = (first, second) if closed_first == "first" else (second, first)
    code = "000660" if stays is second else "005930"

    gone.close()
    assert not fake.revokes  # the socket still logs in with it
    works_after_a_drop(fake, stays, code)
    assert "closed" not in str(stays.status) and not fake.revokes

    stays.close()
    issued = [t.value for t in fake.tokens]
    assert len(issued) == 1 and [r.body["token"] for r in fake.revokes] == issued  # one token, revoked once, at the end
    assert {f.data["token"] for f in fake.ws.received("LOGIN")} == set(issued)


@pytest.mark.in_process  # the in-process socket as such
def test_a_stream_opened_after_the_first_one_closed_logs_in_again_and_revokes_its_own(fake):
    first = open_stream(fake)
    first.close()
    second = open_stream(fake)
    second.watch(["005930"], "0B")
    second.close()

    assert [r.body["token"] for r in fake.revokes] == [t.value for t in fake.tokens] and len(fake.tokens) == 2



@pytest.mark.in_process  # the in-process socket as such
@pytest.mark.kernel
@pytest.mark.parametrize("logged_out", ["kiwoom_token", "other"])
def test_two_variables_with_the_same_keys_and_a_logout_of_one_keep_the_others_stream_working(fake, start_kernel,
                                                                                            logged_out):
    kernel = logged_in(start_kernel, "%kiwoom_login", "%kiwoom_login --var other")
    kernel.ok("import kiwoom_nb\na = kiwoom_nb.stream(var='kiwoom_token'); a.watch(['005930'], '0B')\n"
              "b = kiwoom_nb.stream(var='other'); b.watch(['000660'], '0B')")
    token = {var: kernel.ok(f"print({var})").stdout.strip() for var in ("kiwoom_token", "other")}
    assert len(fake.ws.live()) == 1
    stays = "b" if logged_out == "kiwoom_token" else "a"
    code = "000660" if stays == "b" else "005930"

    kernel.ok(f"%kiwoom_logout --var {logged_out}")
    values = {t.value: t for t in fake.tokens}
    assert [v for v, t in values.items() if t.revoked] == [_full(values, token[logged_out])]
    kept = _full(values, token["other" if logged_out == "kiwoom_token" else "kiwoom_token"])
    revoked_at = next(r.at for r in fake.revokes if r.body["token"] == _full(values, token[logged_out]))
    live_logins = [f for f in fake.ws.received("LOGIN") if f.at <= revoked_at]
    assert live_logins[-1].data["token"] == kept  # the socket moved to the other token before this one was revoked

    logins = len(fake.ws.received("LOGIN"))
    fake.ws.drop()
    wait_for(lambda: len(fake.ws.received("LOGIN")) > logins and fake.ws.live(), 15, "the reconnect")
    wait_for(lambda: kernel.ok(f"print({stays}.status.state, {stays}.status.received)").stdout.split()[0]
             == "connected", 15, "the stream connected again")
    before = int(kernel.ok(f"print({stays}.status.received)").stdout)
    wait_for(lambda: int(kernel.ok(f"print({stays}.status.received)").stdout) > before, 10, "events again")
    assert fake.ws.received("LOGIN")[-1].data["token"] == kept
    [conn] = fake.ws.live()
    assert conn.regs.get("0B") == {code}


def _full(values, shown):
    """The fake's token whose masked form the variable printed."""
    return next(v for v in values if v == shown or (shown[:4] in v and shown[-4:] in v))


@pytest.mark.in_process  # the in-process socket as such
def test_streams_opened_and_closed_from_many_threads_revoke_their_one_token_once_after_the_last(fake):
    from support import in_threads

    opened, errors = in_threads(lambda n: open_stream(fake), [(n,) for n in range(6)])
    assert not errors and len(fake.ws.live()) == 1 and len(fake.tokens) == 1
    for live, code in zip(opened, ("005930", "000660")):
        live.watch([code], "0B")
    closed, errors = in_threads(lambda live: live.close(), [(live,) for live in opened])

    assert not errors
    assert [r.body["token"] for r in fake.revokes] == [fake.tokens[0].value]
    wait_for(lambda: not fake.ws.live(), 5, "the socket closed with the last stream")
