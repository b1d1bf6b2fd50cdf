"""Break review of c142df7 (a stream let its items in from before the REG went): another stream or positions() read
an unanswered REG as accepted. Each test failed on c142df7 and passed on its parent; the fix keeps what Kiwoom
accepted (_watched) apart from what the socket's thread lets in (_admit)."""

from __future__ import annotations

import threading

import pytest

from kiwoom_nb import KiwoomError
from support import CANARY, wait_for


def _gate(fake, item):
    """The fake holds each REG naming ``item`` (its connection's thread waits) until ``gate`` is set."""
    arrived, gate, answer = threading.Event(), threading.Event(), fake.ws._answer

    def held(conn, data):
        if data.get("trnm") == "REG" and any(item in (p.get("item") or ()) for p in data.get("data") or ()):
            arrived.set()
            gate.wait(30)
        return answer(conn, data)

    fake.ws._answer = held
    return arrived, gate


def test_a_sibling_closing_while_a_reg_is_in_flight_then_refused_leaves_no_item_registered(fake, open_stream):
    """B watches 000660; A's REG of 000660 is slow (over close()'s wait for the REG lock), and B closes meanwhile:
    B saw A's not-yet-acked 000660 as watched, sent no REMOVE and kept it in socket.regs. Kiwoom then refuses A's
    REG: nobody watches 000660, yet Kiwoom keeps sending it and every reconnect registers it again."""
    a = open_stream()
    b = open_stream()
    try:
        b.watch(["000660"], "0B")
        a.watch(["005930"], "0B")
        arrived, gate = _gate(fake, "000660")
        failed: list = []

        def watch():
            try:
                a.watch(["000660"], "0B")
            except KiwoomError as exc:
                failed.append(exc)

        thread = threading.Thread(target=watch)
        thread.start()
        assert arrived.wait(10)
        b.close(timeout=2)  # waits 1 s for the REG lock, then goes on
        fake.ws.refuse_types = {"0B"}
        gate.set()
        thread.join(15)
        assert failed, "A's REG was refused"
        fake.ws.refuse_types = set()
        wait_for(lambda: not fake.ws.live()[0].regs.get("0B", set()) & {"000660"}, 5,
                 "Kiwoom no longer sending 000660, which nobody watches")
    finally:
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


def _refuse_once(fake, kind):
    """The fake holds the first REG of ``kind`` until ``gate`` is set, then refuses it; later ones are answered."""
    arrived, gate, answer = threading.Event(), threading.Event(), fake.ws._answer

    def held(conn, data):
        if data.get("trnm") == "REG" and not arrived.is_set() \
                and any(kind in (p.get("type") or ()) for p in data.get("data") or ()):
            arrived.set()
            gate.wait(30)
            conn.send({"trnm": "REG", "return_code": 1, "return_msg": "등록 종목수 초과"})
            return True
        return answer(conn, data)

    fake.ws._answer = held
    return arrived, gate


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
            arrived, gate = _refuse_once(fake, "04")
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
        failed: list = []
        thread = threading.Thread(target=lambda: failed.append(_raised(lambda: live.watch(["000660"], "0B"))))
        thread.start()
        assert arrived.wait(10)
        fake.ws.drop()
        thread.join(30)
        gate.set()
        [exc] = failed
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
