"""The order ticket (issue 35) broken on purpose: a thread typing while 확인 is taken, an order whose number never
came, many tickets following at once, a stream closed under a following ticket. Each test asserts what the fake
received or what the ticket shows. No sleeps: conditions with deadlines (a looks-per-second bound is a lower bound
on the time taken, which a loaded machine only makes longer)."""

from __future__ import annotations

import threading
import time

import pytest

from kiwoom_nb import KiwoomError
from kiwoom_nb.notebook.panel import _ticket
from kiwoom_nb.notebook.panel._ticket import Ticket
from kiwoom_nb.orders._client import Client
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing.market._market import Clock
from support import CANARY, wait_for

pytest.importorskip("ipywidgets")
pd = pytest.importorskip("pandas")


def made(**kw) -> tuple[FakeKiwoom, Client]:
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    fake.market.orders.matching = False
    return fake, Client(*CANARY["mock"], mock=True, transport=fake.transport, pace=None, **kw)


def looks(fake: FakeKiwoom) -> int:
    return len([r for r in fake.requests if r.api_id == "kt00007"])


class TypingAfter:
    """The ticket's click lock, with another thread typing the instant 확인 has taken the armed state."""

    def __init__(self, ticket: Ticket, typing=None) -> None:
        self.lock, self.ticket, self.typed, self.typing = threading.Lock(), ticket, False, typing

    def __enter__(self) -> None:
        self.lock.acquire()

    def __exit__(self, *_: object) -> None:
        self.lock.release()
        if not self.typed:
            self.typed = True
            if self.typing is not None:
                return self.typing()
            self.ticket.side.value, self.ticket.qty.value, self.ticket.price.value = "sell", 7, 149_000


def test_what_confirm_sends_is_what_was_previewed_even_when_a_thread_types_as_it_is_clicked():
    fake, api = made()
    with api:
        t = Ticket(api, "005930", 3)
        t.price.value = 150_000
        t.send.click()
        assert "BUY 3 × 005930" in t.preview.value
        t._clicks = TypingAfter(t)
        t.confirm.click()
        assert [(o.api_id, o.body["ord_qty"], o.body["ord_uv"]) for o in fake.orders] == [("kt10000", "3", "150000")]
        assert t.order.side == "buy" and t.order.qty == 3


def test_an_order_whose_number_never_came_is_not_followed_for_ten_minutes():
    fake, api = made()
    with api:
        api.call("ka10001", stk_cd="005930")
        fake.fail_next("bad_gateway", path="kt10000")
        t = Ticket(api, "005930", 1)
        t.price.value = 150_000
        t.send.click()
        t.confirm.click()
        assert "unknown: check api.orders()" in t.status.value
        t._follower.join(timeout=15)
        assert not t._follower.is_alive()  # nothing to look up: the thread ends, it does not idle for FOLLOW s
        assert len([r for r in fake.requests if r.api_id == "kt10000"]) == 1


def test_many_tickets_following_at_once_share_one_look_at_todays_orders(monkeypatch):
    """Six tickets with resting orders, no stream: one kt00007 answers for every order of the client, so the fake
    sees about one look per LOOK, not six (six tickets each looking would starve the user's own kt00007 calls)."""
    monkeypatch.setattr(_ticket, "LOOK", 0.5)
    fake, api = made()
    tickets = []
    with api:
        for price in range(150_000, 150_600, 100):
            t = Ticket(api, "005930", 1)
            t.price.value = price
            t.send.click()
            t.confirm.click()
            tickets.append(t)
        assert len(fake.orders) == 6
        start, before = time.monotonic(), looks(fake)
        wait_for(lambda: looks(fake) >= before + 6, 60, "six more looks at kt00007")
        took = time.monotonic() - start
        assert took >= 3 * _ticket.LOOK, f"6 looks in {took:.2f}s: each ticket looks on its own"
        for t in tickets:  # the orders still end on the tickets, from the shared looks
            fake.market.orders.fill(t.order.order_no)
        wait_for(lambda: all("filled 1 of 1" in t.status.value for t in tickets), 30, "every ticket to show its fill")
        for t in tickets:
            t._follower.join(timeout=15)
            assert not t._follower.is_alive()


def test_a_stream_closed_under_a_following_ticket_hands_over_to_gentle_looks(fake, monkeypatch):
    """While the stream is open the 00 events move the ticket; once it closes, the ticket looks at kt00007 every
    LOOK seconds — not at the pacer's whole rate for ten minutes, which would starve the user's own calls."""
    from kiwoom_nb.live._stream import Stream

    monkeypatch.setattr(_ticket, "LOOK", 1.0)
    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    fake.market.orders.matching = False
    appkey, secretkey = CANARY["mock"]
    stream = Stream(appkey, secretkey, base_url=fake.mock_url, ws_url=fake.mock_ws_url)
    try:
        with Client(appkey, secretkey, mock=True, transport=fake.transport, pace=None) as api:
            t = Ticket(api, "005930", 2)
            t.price.value = 150_000
            t.send.click()
            t.confirm.click()
            wait_for(lambda: "accepted" in t.status.value, 10, "the 접수 event on the ticket")
            stream.close()
            start, before = time.monotonic(), len([r for r in fake.requests if r.api_id == "kt00007"])
            wait_for(lambda: len([r for r in fake.requests if r.api_id == "kt00007"]) >= before + 8, 60,
                     "eight looks at kt00007 after the stream closed")
            took = time.monotonic() - start
            assert took >= 4 * _ticket.LOOK, f"8 looks in {took:.2f}s after the stream closed"
            fake.market.orders.fill(t.order.order_no, price=150_000)
            wait_for(lambda: "filled 2 of 2" in t.status.value, 30, "the fill on the ticket by looking")
            t._follower.join(timeout=15)
            assert not t._follower.is_alive()
    finally:
        stream.close()


def test_positions_labels_that_are_not_a_string_are_refused_in_one_line_and_send_nothing():
    fake, api = made()
    with api:
        for labels in (pd.Series(["ko"]), ["ko"], b"ko"):
            with pytest.raises(KiwoomError, match="labels=") as caught:
                api.positions(labels=labels)
            assert "\n" not in str(caught.value).strip()
        for us in (pd.Series([True]), "True", 1, None):
            with pytest.raises(KiwoomError, match="us=") as caught:
                api.positions(us=us)
            assert "\n" not in str(caught.value).strip()
    assert not any(r.api_id in ("kt00018", "ust21070") for r in fake.requests)


@pytest.mark.parametrize("error", ["not_json", "maintenance", "hang"])
def test_one_failed_look_at_todays_orders_is_said_and_the_ticket_keeps_following(monkeypatch, error):
    """A kt00007 answer that is a page, not JSON, or none at all: one line on the ticket, and the next look (LOOK s
    later) still brings the fill — one bad answer must not leave the ticket showing 'accepted' for good."""
    monkeypatch.setattr(_ticket, "LOOK", 0.3)
    fake, api = made(timeout=3.0)  # "hang": no answer within it; every other request well within it
    with api:
        t = Ticket(api, "005930", 2)
        t.price.value = 150_000
        fake.fail_next(error, path="kt00007")
        t.send.click()
        t.confirm.click()
        wait_for(lambda: "kt00007" in t.status.value, 30, "the failed look said on the ticket")
        assert "\n" not in t.status.value
        fake.market.orders.fill(t.order.order_no, price=150_000)
        wait_for(lambda: "filled 2 of 2" in t.status.value, 20, "the fill on the ticket from a later look")
        t._follower.join(timeout=15)
        assert not t._follower.is_alive() and len(fake.orders) == 1


def test_a_modify_sends_the_price_its_first_click_showed_even_when_a_thread_types_as_it_is_clicked_again():
    fake, api = made()
    with api:
        t = Ticket(api, "005930", 3)
        t.price.value = 150_000
        t.send.click()
        t.confirm.click()
        t.modify_price.value = 150_200
        t.modify.click()
        assert "150,200" in t.status.value  # the ask shows the price the second click sends
        t._clicks = TypingAfter(t, lambda: setattr(t.modify_price, "value", 149_000))
        t.modify.click()
        assert [r.body["mdfy_uv"] for r in fake.requests if r.api_id == "kt10002"] == ["150200"]


@pytest.mark.parametrize("code, qty", [("005930", 0), ("005930", -3), ("005930", 10**10), ("005930", 2.5),
                                       ("005930", "3"), (5930, 1)])
def test_a_ticket_asked_for_a_quantity_it_cannot_show_is_refused_in_one_line_not_clamped(code, qty):
    """kiwoom_nb.ticket("005930", 0) or %kiwoom_order 005930 0 used to open a ticket for 1 share (the widget's
    bounds clamp): a quantity the user did not ask for, one click from being sent."""
    fake, api = made()
    with api:
        with pytest.raises(KiwoomError) as caught:
            Ticket(api, code, qty)
        assert "\n" not in str(caught.value).strip()
    assert fake.orders == []
