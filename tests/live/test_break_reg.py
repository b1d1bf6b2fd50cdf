"""Break review of c142df7 (a stream let its items in from before the REG went): another stream or positions() read
an unanswered REG as accepted. Each test failed on c142df7 and passed on its parent; the fix keeps what Kiwoom
accepted (_watched) apart from what the socket's thread lets in (_admit)."""

from __future__ import annotations

import threading

import pytest

from kiwoom_nb import KiwoomError, RequestError
from support import CANARY, wait_for


def _gate(fake, item=None, trnm="REG", kind=None, refuse=False):
    """The fake holds the ``trnm`` frames (naming ``item`` / ``kind``, if given) that come before ``gate`` is set (its
    connection's thread waits), then answers them (``refuse``: with Kiwoom's refusal); ``arrived``: the first came."""
    arrived, gate, answer = threading.Event(), threading.Event(), fake.ws._answer

    def held(conn, data):
        parts = data.get("data") or ()
        if data.get("trnm") != trnm or gate.is_set() or item is not None and not any(
                item in (p.get("item") or ()) for p in parts) or kind is not None and not any(
                kind in (p.get("type") or ()) for p in parts):
            return answer(conn, data)
        arrived.set()
        gate.wait(30)
        if refuse:
            conn.send({"trnm": trnm, "return_code": 1, "return_msg": "등록 종목수 초과"})
            return True
        return answer(conn, data)

    fake.ws._answer = held
    return arrived, gate


@pytest.mark.parametrize("answer", ["refused", "accepted"])
def test_a_sibling_closing_while_a_reg_is_in_flight_leaves_kiwoom_with_what_is_watched(fake, open_stream, answer):
    """B watches 000660; A's REG of 000660 is slow (over close()'s 1 s wait for the REG lock), and B closes meanwhile.
    Refused: B took A's unanswered 000660 as watched and sent no REMOVE, so nobody watched it, yet Kiwoom kept sending
    it and every reconnect registered it again (c142df7). Accepted: B did not count it and sent a REMOVE after A's REG,
    so A said it watched 000660 and Kiwoom sent nothing for it (fa46bb0)."""
    a = open_stream()
    b = open_stream()
    try:
        b.watch(["000660"], "0B")
        a.watch(["005930"], "0B")
        arrived, gate = _gate(fake, "000660")
        failed: list = []
        thread = threading.Thread(target=lambda: failed.append(_raised(lambda: a.watch(["000660"], "0B"))))
        thread.start()
        assert arrived.wait(10)
        b.close(timeout=2)  # waits 1 s for the REG lock, then goes on
        fake.ws.refuse_types = {"0B"} if answer == "refused" else set()
        gate.set()
        thread.join(15)
        fake.ws.refuse_types = set()
        a.watch(["035420"], "0B")  # answered after whatever A and B sent (one connection, in order)
        watched = {"005930", "035420"} | ({"000660"} if answer == "accepted" else set())
        assert [type(e) for e in failed] == [RequestError if answer == "refused" else type(None)], failed
        assert a._watched["0B"] == watched and fake.ws.live()[0].regs["0B"] == watched
    finally:
        gate.set()
        a.close()
        b.close()


def _in_watch(thread):
    """``thread`` is inside Stream.watch (waiting for the socket's REG lock)."""
    import sys

    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "watch" and frame.f_code.co_filename.endswith("_stream.py"):
            return True
        frame = frame.f_back
    return False


def test_positions_while_another_threads_04_reg_is_in_flight_and_then_refused_still_watches_04(fake, open_stream):
    """Book.positions() takes ``"04" in stream._watched`` as "Kiwoom sends 04": an item watched before its ack now
    says so too early. Another thread's REG of 04 is in flight; positions() skips its own REG, the other one is
    refused, and positions() stays a frozen kt00018 read for good (it never watches 04 again)."""
    from kiwoom_nb import Client

    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed, fake.market.orders.matching = 0, False
    live = open_stream("mock")
    try:
        with Client(*CANARY["mock"], mock=True, transport=fake.transport, pace=None) as api:
            live.watch([], "00")  # the book hooks the stream without a REG of its own
            arrived, gate = _gate(fake, kind="04", refuse=True)
            failed: list = []

            def watch():
                try:
                    live.watch([], "04")
                except KiwoomError as exc:
                    failed.append(exc)

            first = threading.Thread(target=watch)
            first.start()
            assert arrived.wait(10)
            done: list = []
            second = threading.Thread(target=lambda: done.append(api.positions()))
            second.start()
            wait_for(lambda: done or _in_watch(second), 10, "positions() done, or in its own watch (the REG lock)")
            gate.set()
            first.join(15)
            second.join(15)
            assert failed and done
            wait_for(lambda: any("04" in c.regs for c in fake.ws.live()), 5,
                     "04 registered at Kiwoom: positions() says it follows 04")
    finally:
        live.close()


def test_a_reg_whose_connection_drops_fails_as_a_network_error_not_as_kiwooms_refusal(fake, open_stream):
    """The connection to Kiwoom drops while a REG waits for its answer. In process that is a NetworkError; the hub
    answered its client "return_code 1", which the stream read as Kiwoom refusing the items (a RequestError)."""
    from kiwoom_nb import NetworkError, RequestError

    live = open_stream()
    try:
        live.watch(["005930"], "0B")
        arrived, gate = _gate(fake, "000660")
        exc = _dropped(fake, arrived, gate, lambda: live.watch(["000660"], "0B"))
        assert isinstance(exc, NetworkError) and not isinstance(exc, RequestError), repr(exc)
        assert "refused" not in str(exc), str(exc)
        wait_for(lambda: live.status.state == "connected" and live.status.reconnects >= 1, 15, "connected again")
    finally:
        gate.set()
        live.close()


def _raised(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        return exc
    return None


def _dropped(fake, arrived, gate, call):
    """``call()`` on a thread; once its frame is held at the fake (``arrived``), the connection drops: what it raised."""
    failed: list = []
    thread = threading.Thread(target=lambda: failed.append(_raised(call)))
    thread.start()
    assert arrived.wait(10)
    fake.ws.drop()
    thread.join(30)
    gate.set()
    [exc] = failed
    return exc


def _timed_out(live, exc) -> bool:
    """``exc`` is the KiwoomTimeout of a request Kiwoom did not answer: in process it says the stream connects again
    (the connection is cut). Through the hub the link stays (answers carry the request's id): the process's own wait
    ends it, or the hub's answer that its connection to Kiwoom is cut, whichever comes first."""
    from kiwoom_nb import KiwoomTimeout

    own = type(live._socket).__name__ == "Socket"
    return isinstance(exc, KiwoomTimeout) and ("connecting again" in str(exc) or not own)
