"""Third break review of 9ac90bc (an unanswered request cuts its connection): through the hub, cutting a client's
link on its own timeout lost items and disturbed other clients, and a watch() right after a timeout went to the cut
connection. The link to the hub now matches answers by request id and is never cut for a timeout."""

from __future__ import annotations

import threading
import time

from kiwoom_nb import KiwoomError
from support import wait_for
from test_break_reg import _gate, _raised, _timed_out


def _within(condition, seconds):
    """Whether ``condition`` holds within ``seconds`` (polled; False at the deadline, for what may not happen)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.05)
    return True


def _regs_with(fake, item):
    return [c for c in fake.ws.live() if item in c.regs.get("0B", set())]


def test_kiwoom_slow_for_a_while_leaves_a_hub_client_watching_what_the_hub_dropped(fake):
    """Kiwoom holds every REG for a while (longer than timeout), then answers again. With 9ac90bc the client's watch()
    timed out (its timeout shorter than the hub's, which took the first process's) and cut its link; the client's
    _restore REG of 005930 went through the hub, whose own REG timed out too: the hub forgot 005930 for the client,
    which still said it watched it, and got no data for it for good. Now the link stays, and a REG the hub gets no
    answer to stays registered at the hub (its reconnect sends it again) unless the client takes it back."""
    from kiwoom_nb.live import _socket
    from kiwoom_nb.live._stream import Stream
    from support import CANARY

    fake.ws.rate = 0
    first = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, timeout=4)  # starts the hub
    with _socket._registry_lock:
        _socket._sockets.clear()  # another process, with timeout=2
    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, timeout=2)
    gate = threading.Event()
    try:
        assert hasattr(live._socket, "link") and live._socket is not first._socket
        live.watch(["005930"], "0B")
        arrived, gate = _gate(fake)  # every REG from now on is held until gate is set
        link = live._socket.link
        failed = _raised(lambda: live.watch(["000660"], "0B"))
        assert isinstance(failed, KiwoomError), failed
        if _within(lambda: live.status.state == "connected" and live._socket.link is not link, 8):  # 9ac90bc: cut
            wait_for(lambda: not live._socket._waiters, 30, "the restore REG answered (here: failed at the hub)")
        gate.set()
        assert live._watched["0B"] == {"005930"}
        wait_for(lambda: len(fake.ws.live()) == 1, 30, "one connection")
        live.watch(["035420"], "0B")  # a round trip after whatever was in flight
        fake.ws.burst(3, ["005930", "035420"])
        wait_for(lambda: set(live.frame("0B")["item"]) >= {"035420"}, 10, "035420's ticks")
        wait_for(lambda: "005930" in set(live.frame("0B")["item"]), 5,
                 f"005930's ticks: the stream says it watches it; Kiwoom has {[c.regs for c in fake.ws.live()]}")
    finally:
        gate.set()
        live.close()
        first.close()


def test_one_clients_slow_reg_cuts_another_clients_link_through_the_hub(fake, monkeypatch):
    """Two client processes on one hub (two HubSockets). A's REG is held at Kiwoom; B's watch() of another item
    waits behind it for the hub's lock and times out. 9ac90bc cut B's link for it: B (which asked nothing slow)
    connected to the hub again, and the hub dropped B's items meanwhile. Now the link stays (the hub's answers carry
    each request's id), and what A and B gave up on is REMOVEd once the hub gets to it."""
    from kiwoom_nb.live import _socket
    from kiwoom_nb.live._stream import Stream
    from support import CANARY

    fake.ws.rate = 0
    make = lambda: Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, timeout=2)  # noqa: E731
    a = make()
    with _socket._registry_lock:
        _socket._sockets.clear()  # B gets a socket (a link to the hub) of its own, as another process would
    b = make()
    try:
        assert a._socket is not b._socket and hasattr(b._socket, "link")
        a.watch(["005930"], "0B")
        b.watch(["035420"], "0B")
        b_link = b._socket.link
        arrived, gate = _gate(fake, "000660")
        thread = threading.Thread(target=lambda: _raised(lambda: a.watch(["000660"], "0B")))
        thread.start()
        assert arrived.wait(10)
        failed = _raised(lambda: b.watch(["105560"], "0B"))
        gate.set()
        thread.join(20)
        assert not _within(lambda: b._socket.link is not b_link, 5), f"B's link was cut (B's watch raised {failed!r})"
        watched = {"005930", "035420"}  # what A and B gave up on is REMOVEd; what they watch, never
        wait_for(lambda: [c for c in fake.ws.live() if c.regs.get("0B") == watched], 15, "Kiwoom has what is watched")
        removed = {i for f in fake.ws.received("REMOVE") for p in f.data.get("data") or [] for i in p.get("item") or []}
        assert not removed & watched, removed
    finally:
        gate.set()
        a.close()
        b.close()


def test_close_while_kiwoom_hangs_after_a_cut_is_bounded_and_leaves_no_thread(fake, open_stream):
    """A REG times out (cut); Kiwoom stays silent (the new LOGIN unanswered); close() is bounded and leaves no
    kiwoom-* thread in this process, and the stream's token is revoked."""
    live = open_stream(timeout=2)
    try:
        live.watch(["005930"], "0B")
        arrived, gate = _gate(fake)
        fake.ws.silent_logins = 1000  # and no LOGIN answered from now on
        failed = _raised(lambda: live.watch(["000660"], "0B"))
        assert _timed_out(live, failed), failed
        started = time.monotonic()
        live.close(timeout=2)
        took = time.monotonic() - started
        assert took < 2 + 1.5, took  # close(timeout=2) is bounded
        wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("kiwoom-stream")], 10,
                 "no kiwoom-stream thread")
        if not hasattr(live._socket, "link"):  # in process: the stream's own token is revoked by close()
            assert fake.tokens and all(t.revoked for t in fake.tokens), fake.tokens
    finally:
        gate.set()
        fake.ws.silent_logins = 0
        live.close()


def test_two_threads_timing_out_together_reconnect_once_and_the_stream_works(fake, open_stream):
    """Two threads' REMOVE / CNSRLST go unanswered on one connection: both time out (two cuts of one connection);
    the stream connects again and watches what it says."""
    live = open_stream(timeout=2)
    try:
        live.watch(["005930", "000660"], "0B")
        _, gate1 = _gate(fake, trnm="REMOVE")
        _, gate2 = _gate(fake, trnm="CNSRLST")
        out: list = []
        threads = [threading.Thread(target=lambda: out.append(_raised(lambda: live.unwatch(["000660"], "0B")))),
                   threading.Thread(target=lambda: out.append(_raised(lambda: live._socket.request(
                       {"trnm": "CNSRLST"}, "CNSRLST"))))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        gate1.set()
        gate2.set()
        assert len(out) == 2 and all(isinstance(e, KiwoomError) for e in out), out
        if not _within(lambda: live.status.state == "connected" and live.status.reconnects >= 1
                       and len(fake.ws.live()) == 1 and _regs_with(fake, "005930"), 30):
            raise AssertionError(f"not connected again: {live.status}; Kiwoom's side: "
                                 f"{[(c.number, c.logged_in, c.regs) for c in fake.ws.live()]}, "
                                 f"{len(fake.ws.received('LOGIN'))} LOGINs")
        assert len(fake.ws.received("LOGIN")) <= 3, "two cuts of one connection: one reconnect"
        live.watch(["035420"], "0B")
        wait_for(lambda: [c for c in fake.ws.live() if c.regs.get("0B") == {"005930", "035420"}], 10, "registered")
    finally:
        gate1.set()
        gate2.set()
        live.close()


def test_a_watch_kiwoom_does_not_answer_raises_within_its_timeout(fake, open_stream):
    """The unanswered REG cuts the connection, then _let_go's REMOVE (sent=True) may wait for the reconnect (up to
    timeout) and for its answer: watch() should still raise within about its timeout."""
    live = open_stream(timeout=2)
    arrived, gate = _gate(fake)
    try:
        fake.ws.silent_logins = 1000  # the reconnect does not log in
        started = time.monotonic()
        failed = _raised(lambda: live.watch(["000660"], "0B"))
        took = time.monotonic() - started
        assert isinstance(failed, KiwoomError), failed
        assert took < 2 + 1.5, took  # close(timeout=2) is bounded
    finally:
        gate.set()
        fake.ws.silent_logins = 0
        live.close()


def test_a_watch_right_after_a_timeout_waits_for_the_reconnect(fake, open_stream):
    """KiwoomTimeout says "connecting again"; a watch() at once after it should wait for that (as request() does
    during a reconnect), not fail on the connection just cut: "could not send REG (... Bad file descriptor)"."""
    live = open_stream(timeout=2)
    arrived, gate = _gate(fake, "000660")
    try:
        live.watch(["005930"], "0B")
        failed = _raised(lambda: live.watch(["000660"], "0B"))
        assert _timed_out(live, failed), failed
        again = _raised(lambda: live.watch(["035420"], "0B"))
        assert again is None, again
    finally:
        gate.set()
        live.close()


def test_the_hubs_request_ids_never_reach_kiwoom(fake, open_stream):
    """Through the hub each request carries an id for its answer; Kiwoom gets its frames as the guide has them."""
    live = open_stream()
    try:
        live.watch(["005930"], "0B")
        live.conditions()
        live.unwatch(["005930"], "0B")
        frames = [f.data for f in fake.ws.received() if isinstance(f.data, dict)]
        assert {f.get("trnm") for f in frames} >= {"LOGIN", "REG", "CNSRLST", "REMOVE"}
        assert not [f["trnm"] for f in frames if "rid" in f]  # (the frames hold the LOGIN's token: not shown)
    finally:
        live.close()


class _LateEvent(threading.Event):
    def wait(self, timeout=None):
        super().wait(timeout)
        return False  # the answer's set() landed between the wait running out and the waiter being taken back


def test_an_answer_landing_as_the_timeout_runs_out_is_an_answer(fake, open_stream, monkeypatch):
    """Final break review: the answer came in the gap between the wait's end and the lock; it was reported as a
    KiwoomTimeout, and in process a healthy connection was cut."""
    from kiwoom_nb.live import _traffic

    live = open_stream()
    try:
        live.watch(["005930"], "0B")
        logins, made = live._socket.logins, _traffic._Waiter.__init__

        def init(self, *args, **kwargs):
            made(self, *args, **kwargs)
            self.done = _LateEvent()

        monkeypatch.setattr(_traffic._Waiter, "__init__", init)
        failed = _raised(lambda: live.watch(["000660"], "0B"))
        monkeypatch.setattr(_traffic._Waiter, "__init__", made)
        assert failed is None, failed
        assert live._socket.logins == logins and live._watched["0B"] == {"005930", "000660"}
    finally:
        live.close()
