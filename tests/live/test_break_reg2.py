"""Second break review of the REG changes (fa46bb0, e281759): a sibling's close undoing an accepted REG (brought in by
fa46bb0), and older breaks it found: a late REG answer answering the next REG, a REG the hub's client gave up on
kept for it, condition searches through the hub after its reconnect. Each failed before its fix."""

from __future__ import annotations

import threading

import pytest

from kiwoom_nb import KiwoomError
from support import CANARY, wait_for
from test_break_reg import _dropped, _gate, _raised, _timed_out


def test_through_the_hub_a_reg_the_client_gave_up_on_is_not_kept_registered_for_it(fake):
    """The hub's connection to Kiwoom drops; a watch() meanwhile: the hub waits for its reconnect (up to timeout),
    then for the answer (timeout again), but its client waits timeout in all and raises KiwoomTimeout. The hub's REG
    was then accepted, and the hub kept 000660 for the client and REGistered it again after every reconnect, though
    no stream watched it. Now the client's timeout cuts its link (the hub drops what it watched) and it registers again
    what its streams watch."""
    from kiwoom_nb.live._stream import Stream

    fake.ws.rate = 0
    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, timeout=2)
    try:
        live.watch(["005930"], "0B")
        _, gate = _gate(fake, "000660")
        fake.ws.drop()  # the hub reconnects in 0.5 - 1 s; its client's link stays up
        failed: list = []
        thread = threading.Thread(target=lambda: failed.append(_raised(lambda: live.watch(["000660"], "0B"))))
        thread.start()
        thread.join(15)  # it gives up after its timeout, the hub's REG held at Kiwoom (or, on a slow machine, not sent
        gate.set()  # yet: the hub's reconnect took longer); either way Kiwoom ends with what is watched
        assert failed and isinstance(failed[0], KiwoomError), failed  # the client gave up
        assert "000660" not in live._watched.get("0B", set())
        wait_for(lambda: live.status.state == "connected" and [c for c in fake.ws.live() if c.regs.get("0B")], 20,
                 "registered again")
        assert [c.regs["0B"] for c in fake.ws.live() if c.regs.get("0B")] == [{"005930"}]
        regs = len(fake.ws.received("REG"))
        fake.ws.drop()
        wait_for(lambda: len(fake.ws.received("REG")) > regs and [c for c in fake.ws.live() if c.regs.get("0B")], 15,
                 "the hub's re-REG")
        again = {i for f in fake.ws.received("REG")[regs:] for p in f.data.get("data") or [] for i in p.get("item") or []}
        assert "000660" not in again, f"re-registered after the reconnect though nobody watches it: {sorted(again)}"
    finally:
        gate.set()
        live.close()


def test_a_reg_answered_too_late_answers_nothing_and_the_stream_connects_again(fake, open_stream):
    """Kiwoom answers a REG after the stream gave up on it (KiwoomTimeout), and refuses it. REG answers carry nothing
    to match them by: the late refusal answered the next watch(), which raised "Kiwoom refused to watch 0B for
    035420" though Kiwoom accepted 035420. Now the connection the REG went on is cut: the late answer has nothing
    left to answer, and the new connection registers what the stream watches."""
    live = open_stream(timeout=2)
    arrived, gate = _gate(fake, "000660", refuse=True)  # answered (refused) once gate is set
    try:
        live.watch(["005930"], "0B")
        first = _raised(lambda: live.watch(["000660"], "0B"))
        assert _timed_out(live, first), first
        wait_for(lambda: live.status.state == "connected" and live.status.reconnects >= 1, 20, "connected again")
        gate.set()
        live.watch(["035420"], "0B")
        wait_for(lambda: [c for c in fake.ws.live() if c.regs.get("0B") == {"005930", "035420"}], 10,
                 "Kiwoom has what the stream watches")
        assert not [c for c in fake.ws.live() if "000660" in c.regs.get("0B", set())]
    finally:
        gate.set()
        live.close()


@pytest.mark.parametrize("what", ["CNSRREQ", "CNSRLST"])
def test_a_condition_search_whose_connection_drops_fails_as_a_network_error(fake, open_stream, what):
    from kiwoom_nb import NetworkError, RequestError

    live = open_stream()
    try:
        if what == "CNSRREQ":
            live.conditions()
        arrived, gate = _gate(fake, trnm=what)
        exc = _dropped(fake, arrived, gate, lambda: live.watch_condition("1"))
        assert isinstance(exc, NetworkError) and not isinstance(exc, RequestError), repr(exc)
        assert "1" not in live._socket.conditions and "1" not in live._conditions
    finally:
        gate.set()
        live.close()


def test_unwatch_whose_remove_the_hub_cannot_send_fails_as_a_network_error_and_forgets_the_item(fake, open_stream):
    from kiwoom_nb import NetworkError

    live = open_stream()
    try:
        live.watch(["005930", "000660"], "0B")
        arrived, gate = _gate(fake, trnm="REMOVE")
        exc = _dropped(fake, arrived, gate, lambda: live.unwatch(["000660"], "0B"))
        assert isinstance(exc, NetworkError), repr(exc)
        assert live._watched == {"0B": {"005930"}} and live._admit == {"0B": {"005930"}}
        regs = len(fake.ws.received("REG"))
        wait_for(lambda: live.status.reconnects >= 1 and len(fake.ws.received("REG")) > regs, 15, "re-REG")
        wait_for(lambda: fake.ws.live() and fake.ws.live()[0].regs.get("0B"), 10, "re-registered")
        assert fake.ws.live()[0].regs["0B"] == {"005930"}
    finally:
        gate.set()
        live.close()


def test_a_condition_search_after_the_connection_to_kiwoom_reconnected(fake, open_stream):
    """Kiwoom answers CNSRREQ only after a CNSRLST on the same connection. In process the socket's ``listed`` is reset
    at each LOGIN; through the hub the client's stays True after the hub's own reconnect (its link stayed up) and
    the hub forwards the CNSRREQ as it is: no answer, KiwoomTimeout."""
    live = open_stream()
    try:
        live.conditions()
        fake.ws.drop()
        wait_for(lambda: live.status.state == "connected" and live.status.reconnects >= 1, 15, "connected again")
        assert len(live.search("1")) > 0
    finally:
        live.close()


def test_many_threads_watching_and_unwatching_on_two_streams_with_refusals_and_drops(fake, open_stream):
    """Two streams of one key, four threads watching / unwatching random items while Kiwoom refuses some REGs and
    the connection drops; once quiet, every stream lets in exactly what it watches, and the socket registers (and
    Kiwoom has, after one more reconnect) exactly the union."""
    import random

    from kiwoom_nb.live._wire import _chunks  # noqa: F401 - the same module the streams use

    streams = [open_stream(), open_stream()]
    codes = ["005930", "000660", "035420", "005380", "051910", "068270"]
    stop = threading.Event()
    errors: list = []

    def worker(n):
        rnd = random.Random(n)
        while not stop.is_set():
            s, items = rnd.choice(streams), rnd.sample(codes, rnd.randint(1, 3))
            try:
                (s.watch if rnd.random() < 0.6 else s.unwatch)(items, "0B")
            except KiwoomError:
                pass
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    try:
        for t in threads:
            t.start()
        for round_ in range(6):
            fake.ws.refuse_types = {"0B"} if round_ % 2 else set()
            if round_ == 3:
                fake.ws.drop()
            n = len(fake.ws.received("REG"))
            wait_for(lambda: len(fake.ws.received("REG")) >= n + 5, 30, "some REGs")
        stop.set()
        for t in threads:
            t.join(30)
        fake.ws.refuse_types = set()
        assert not errors, errors
        for s in streams:
            assert s._admit == s._watched, (s._admit, s._watched)
        union = set().union(*(s._watched.get("0B", set()) for s in streams))
        socket = streams[0]._socket
        if type(socket).__name__ == "Socket":
            assert socket.regs.get("0B", set()) == union
        before = streams[0].status.reconnects
        fake.ws.drop()
        wait_for(lambda: streams[0].status.reconnects > before and streams[0].status.state == "connected", 15, "back")
        streams[0].watch(["005930"], "0B")  # a barrier: answered after the re-REGs
        streams[0].unwatch(["005930"], "0B") if "005930" not in union else None
        final = set().union(*(s._watched.get("0B", set()) for s in streams))
        assert fake.ws.live()[0].regs.get("0B", set()) == final, (fake.ws.live()[0].regs, final)
    finally:
        stop.set()
        for s in streams:
            s.close()
