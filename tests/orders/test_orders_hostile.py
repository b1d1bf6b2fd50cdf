"""Orders (issue 35) broken on purpose, as a hostile user and network would: the guard by destination on every
path, an order never sent twice, malformed and misdirected 00 events, callbacks that cancel or raise, odd numbers.
Each test asserts what the fake received or what the user sees. No sleeps: conditions with deadlines."""

from __future__ import annotations

import logging

import pytest

from kiwoom_nb import KiwoomError
from kiwoom_nb.orders._client import Client
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing.market._market import Clock
from support import CANARY, in_threads, wait_for

pd = pytest.importorskip("pandas")


def made(mock: bool = True, **kw) -> tuple[FakeKiwoom, Client]:
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    fake.market.orders.matching = False
    kw.setdefault("transport", fake.transport)
    return fake, Client(*CANARY["mock" if mock else "production"], mock=mock, pace=None, **kw)


def sent(fake: FakeKiwoom, api_id: str) -> list[dict]:
    return [r.body for r in fake.requests if r.api_id == api_id]


# -- the guard decides by the destination, on every path -----------------------------------------------------------


def test_production_modify_and_cancel_without_confirm_send_nothing_and_a_mock_label_cannot_reach_production():
    with pytest.raises(KiwoomError, match="production server"):
        Client(*CANARY["mock"], mock=True, base_url="https://api.kiwoom.com")
    fake, api = made(mock=False)
    with api:
        assert isinstance(api.buy("005930", 1, price=150_000), str) and fake.orders == []
        o = api.buy("005930", 2, price=150_000, confirm=True)
        assert len(fake.orders) == 1 and o.order_no
        assert isinstance(o.modify(price=151_000), str) and isinstance(o.cancel(), str)
        assert sent(fake, "kt10002") == sent(fake, "kt10003") == []
        assert o.status in ("submitted", "accepted")


# -- never sent twice -----------------------------------------------------------------------------------------------


def test_a_rate_limit_refusal_is_the_only_answer_an_order_is_sent_again_after():
    fake, api = made()
    with api:
        api.call("ka10001", stk_cd="005930")
        fake.fail_next("rate_limited_tr", path="kt10000")  # refused before anything was done: not placed
        o = api.buy("005930", 1, price=150_000)
        assert len(fake.orders) == 1 and o.order_no and o.status != "unknown: check api.orders()"
        for error in ("server_error", "bad_gateway"):
            fake.fail_next(error, path="kt10001")
            o = api.sell("005930", 1, price=150_000)
            assert o.status == "unknown: check api.orders()", error
        assert len(sent(fake, "kt10001")) == 2  # each went once, none again


def test_a_cancel_that_times_out_is_not_resent_and_a_second_cancel_of_a_cancelled_order_sends_nothing():
    fake, api = made()
    with api:
        o = api.buy("005930", 3, price=150_000)
        o.cancel()
        assert o.status == "cancelled"
        with pytest.raises(KiwoomError, match="nothing was sent"):
            o.cancel()
        with pytest.raises(KiwoomError, match="nothing was sent"):
            o.modify(price=151_000)
        assert len(sent(fake, "kt10003")) == 1 and sent(fake, "kt10002") == []


# -- odd numbers: bad input sends nothing ---------------------------------------------------------------------------


@pytest.mark.parametrize("qty", [True, 1.0, "1", 0, -1, float("nan"), None])
def test_odd_quantities_are_refused_in_one_line_and_send_nothing(qty):
    fake, api = made()
    with api:
        with pytest.raises(KiwoomError) as caught:
            api.buy("005930", qty, price=150_000)
    assert "\n" not in str(caught.value) and "nothing was sent" in str(caught.value)
    assert fake.orders == [] and sent(fake, "kt10000") == []


def test_numpy_numbers_go_as_plain_digits():
    np = pytest.importorskip("numpy")
    fake, api = made()
    with api:
        o = api.buy("005930", np.int64(2), price=np.int64(150_000))
        with pytest.raises(KiwoomError):
            api.buy("005930", np.bool_(True), price=150_000)
        with pytest.raises(KiwoomError):
            api.buy("005930", 1, price=np.float64(150_000.5))
    [body] = sent(fake, "kt10000")
    assert body["ord_qty"] == "2" and body["ord_uv"] == "150000" and o.qty == 2


# -- malformed and misdirected 00 events ----------------------------------------------------------------------------


def event(no: str, state: str, **values) -> dict:
    return {"9203": no, "913": state, **values}


def test_events_beyond_the_order_repeated_or_for_another_number_do_not_overfill():
    fake, api = made()
    with api:
        o = api.buy("005930", 5, price=150_000)
        other = api.buy("005930", 5, price=150_000)
        book = api._book()

        class E:
            def __init__(self, values):
                self.values, self.item = values, ""

        book._event(E(event(o.order_no, "체결", **{"909": "1", "915": "3", "914": "150000"})))
        book._event(E(event(o.order_no, "체결", **{"909": "1", "915": "3", "914": "150000"})))  # the same again
        book._event(E(event(o.order_no, "체결", **{"909": "2", "915": "99", "914": "150000"})))  # beyond the order
        book._event(E(event("9999999", "체결", **{"909": "3", "915": "5", "914": "150000"})))  # another process's
        book._event(E({"913": "체결", "915": "x"}))  # malformed
        assert (o.filled, o.status, o.remaining) == (5, "filled", 0) and o.avg_price == 150_000
        assert other.filled == 0 and other.status == "submitted"


# -- callbacks that cancel, raise; waits from threads; await ---------------------------------------------------------


def test_a_callback_that_cancels_on_the_first_fill_cancels_once(fake, caplog):
    from kiwoom_nb.live._stream import Stream

    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    fake.market.orders.matching = False
    appkey, secretkey = CANARY["mock"]
    stream = Stream(appkey, secretkey, base_url=fake.mock_url, ws_url=fake.mock_ws_url)
    try:
        with Client(appkey, secretkey, mock=True, transport=fake.transport, pace=None) as api:
            o = api.buy("005930", 4, price=150_000)
            calls = []

            def on_change(order):
                calls.append(order.status)
                if order.status == "partially filled" and calls.count("partially filled") == 1:
                    order.cancel()
                raise ValueError("the user's own bug")

            o.on(on_change)
            wait_for(lambda: o.status == "accepted", 10, "the 접수 event")
            fake.market.orders.fill(o.order_no, 1, price=150_000)
            o.wait(timeout=10)
            assert o.status == "cancelled" and o.filled == 1
            assert len([r for r in fake.requests if r.api_id == "kt10003"]) == 1
            assert "the user's own bug" in caplog.text
    finally:
        stream.close()


def test_many_threads_wait_on_one_order_and_all_see_it_final():
    fake, api = made()
    with api:
        o = api.buy("005930", 2, price=150_000)
        fake.market.orders.fill(o.order_no, price=150_000)
        done, errors = in_threads(lambda: o.wait(timeout=10).status, [()] * 8)
        assert errors == [] and set(done) == {"filled"}


# -- no key or token anywhere the user can see ------------------------------------------------------------------------


def test_no_key_or_token_in_repr_fills_logs_or_errors(caplog):
    caplog.set_level(logging.DEBUG, logger="kiwoom_nb")
    fake, api = made(mock=False)
    with api:
        o = api.buy("005930", 2, price=150_000, confirm=True)
        fake.market.orders.fill(o.order_no, 1, price=150_000)
        o.wait(timeout=0.3)
        fake.fail_next("bad_gateway", path="kt10003")
        o.cancel(confirm=True)
        try:
            o.modify(price=1.5, confirm=True)
        except KiwoomError as exc:
            err = exc
        token = api.tokens.current().value
        seen = "\n".join([repr(o), o.fills.to_string(), caplog.text, str(err), repr(err.__cause__),
                          repr(err.__context__), repr(vars(o))])
    for secret in (*CANARY["production"], token):
        assert secret not in seen


# -- the ticket: two clicks to production, one order per confirm --------------------------------------------------


def ticket(mock: bool = False):
    pytest.importorskip("ipywidgets")
    from kiwoom_nb.notebook.panel._ticket import Ticket

    fake, api = made(mock=mock)
    t = Ticket(api)
    t.code.value, t.qty.value, t.price.value = "005930", 3, 150_000
    return fake, api, t


def test_a_double_click_on_confirm_sends_one_order():
    fake, api, t = ticket()
    with api:
        t.send.click()
        t.confirm.click()
        t.confirm.click()  # the second click of a double-click, queued before the button hid
        t.send.click()
        t.confirm.click()
        assert len(sent(fake, "kt10000")) == 1 and len(fake.orders) == 1


@pytest.mark.parametrize("what", ["modify", "cancel"])
def test_the_tickets_modify_and_cancel_to_production_take_two_clicks(what):
    fake, api, t = ticket()
    with api:
        t.send.click()
        t.confirm.click()
        t.modify_price.value = 150_100
        button = getattr(t, what)
        button.click()
        api_id = "kt10002" if what == "modify" else "kt10003"
        assert sent(fake, api_id) == [] and "production" in t.status.value
        button.click()
        assert len(sent(fake, api_id)) == 1


def test_an_empty_price_is_not_a_market_order():
    fake, api, t = ticket(mock=True)
    with api:
        t.price.value = 0  # not typed; the market box not ticked
        assert "at market" not in t.preview.value
        t.send.click()
        t.confirm.click()
        assert sent(fake, "kt10000") == [] and t.order is None


# -- answers and changes that do not add up ------------------------------------------------------------------------


def test_an_accepted_order_whose_answer_has_no_number_says_unknown_not_submitted(monkeypatch, capsys):
    fake, api = made()
    with api:
        real = api.call

        def numberless(api_id, *args, **kw):
            answer = real(api_id, *args, **kw)
            if api_id == "kt10000":
                answer.pop("ord_no", None)  # Kiwoom said 0 (placed) but no 주문번호 came back
            return answer

        monkeypatch.setattr(api, "call", numberless)
        o = api.buy("005930", 1, price=150_000)
        assert len(fake.orders) == 1
        assert o.status == "unknown: check api.orders()" and "api.orders()" in capsys.readouterr().err


def test_a_modify_of_more_than_remains_is_refused_and_sends_nothing():
    fake, api = made()
    with api:
        o = api.buy("005930", 3, price=150_000)
        fake.market.orders.fill(o.order_no, 1, price=150_000)
        with pytest.raises(KiwoomError, match="nothing was sent") as caught:
            o.modify(price=151_000, qty=5)
        assert "2" in str(caught.value) and sent(fake, "kt10002") == []


def test_an_order_answered_with_a_page_that_is_not_json_says_unknown_and_is_not_sent_again(capsys):
    fake, api = made()
    with api:
        api.call("ka10001", stk_cd="005930")
        for error in ("maintenance", "not_json"):  # HTTP 200, no JSON: it may have been placed
            fake.fail_next(error, path="kt10000")
            o = api.buy("005930", 1, price=150_000)
            assert o.status == "unknown: check api.orders()", error
        fake.fail_next("blocked", path="kt10000")  # a firewall's 400: refused, not placed — said as such
        with pytest.raises(KiwoomError, match="HTTP 400"):
            api.buy("005930", 1, price=150_000)
        assert len(sent(fake, "kt10000")) == 3 and "not re-sent" in capsys.readouterr().err


def test_a_stream_closed_during_wait_hands_over_to_polling(fake):
    import threading

    from kiwoom_nb.live._stream import Stream

    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    fake.market.orders.matching = False
    appkey, secretkey = CANARY["mock"]
    stream = Stream(appkey, secretkey, base_url=fake.mock_url, ws_url=fake.mock_ws_url)
    try:
        with Client(appkey, secretkey, mock=True, transport=fake.transport, pace=None) as api:
            o = api.buy("005930", 2, price=150_000)
            wait_for(lambda: o.status == "accepted", 10, "the 접수 event")
            waiter = threading.Thread(target=o.wait, kwargs={"timeout": 300}, daemon=True)
            waiter.start()
            stream.close()  # no events any more: the fill is known from kt00007 only
            fake.market.orders.fill(o.order_no, price=150_000)
            wait_for(lambda: not waiter.is_alive(), 60, "wait() to see the fill by polling once the stream closed")
            assert o.status == "filled"
    finally:
        stream.close()


def test_changes_of_one_order_from_many_threads_go_one_after_another():
    fake, api = made()
    with api:
        o = api.buy("005930", 3, price=150_000)
        done, errors = in_threads(lambda p: o.modify(price=p), [(150_100,), (150_200,)])
        first, second = sent(fake, "kt10002")
        assert errors == [] and first["orig_ord_no"] == "0000001" and second["orig_ord_no"] == o.numbers[1]
        assert o.price == int(second["mdfy_uv"]) and o.order_no == o.numbers[-1] and len(o.numbers) == 3
        done, errors = in_threads(lambda: o.cancel(), [()] * 4)
        assert len(sent(fake, "kt10003")) == 1 and o.status == "cancelled"
        assert len(errors) == 3 and all("nothing was sent" in str(e) for e in errors)


def test_a_callback_that_waits_for_its_order_does_not_stall_on_events_it_holds_up(fake):
    from kiwoom_nb.live._stream import Stream

    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    fake.market.orders.matching = False
    appkey, secretkey = CANARY["mock"]
    stream = Stream(appkey, secretkey, base_url=fake.mock_url, ws_url=fake.mock_ws_url)
    try:
        with Client(appkey, secretkey, mock=True, transport=fake.transport, pace=None) as api:
            o = api.buy("005930", 2, price=150_000)
            seen = []

            def on_change(order):
                if order.status == "accepted" and not seen:
                    seen.append("waiting")
                    fake.market.orders.fill(order.order_no, price=150_000)
                    seen.append(order.wait(timeout=300).status)  # on the stream's callback thread

            o.on(on_change)
            wait_for(lambda: "filled" in seen, 60, "the callback's wait() to see the fill (by polling)")
    finally:
        stream.close()


class Late:
    """A 00 event as the stream hands it to the book (what a late delivery looks like)."""

    def __init__(self, values: dict) -> None:
        self.values, self.item = values, ""


def test_a_fill_event_that_arrives_after_kt00007_told_of_it_counts_once():
    fake, api = made()
    with api:
        o = api.buy("005930", 5, price=150_000)
        fake.market.orders.fill(o.order_no, 2, price=150_000)
        o.wait(timeout=0)  # kt00007: 2 filled, no event yet
        assert (o.filled, o.status) == (2, "partially filled")
        api._book()._event(Late(event(o.order_no, "체결", **{"909": "77", "915": "2", "914": "150000"})))  # late
        assert (o.filled, o.remaining, o.status) == (2, 3, "partially filled") and len(o.fills) == 1
        api._book()._event(Late(event(o.order_no, "체결", **{"909": "78", "915": "1", "914": "150100"})))  # new
        assert (o.filled, o.remaining, o.status) == (3, 2, "partially filled")
        assert o.avg_price == pytest.approx((2 * 150_000 + 150_100) / 3)


def test_a_confirm_after_typing_again_sends_nothing_until_the_next_order_click():
    fake, api, t = ticket(mock=True)
    with api:
        t.send.click()
        t.qty.value = 30  # typed after 주문: the confirm step starts again
        assert t.confirm.layout.display == "none"
        t.confirm.click()  # a click that was on its way
        assert sent(fake, "kt10000") == [] and t.order is None
        t.send.click()
        t.confirm.click()
        assert [b["ord_qty"] for b in sent(fake, "kt10000")] == ["30"]


def test_a_change_asked_for_is_forgotten_when_the_other_button_or_the_new_price_comes_between():
    from kiwoom_nb.notebook.panel._ticket import RED

    fake, api, t = ticket()
    with api:
        t.send.click()
        t.confirm.click()
        t.modify_price.value = 150_100
        t.modify.click()
        assert "확인 → production" in t.modify.description and RED in t.status.value  # production, in red
        t.cancel.click()  # the other button: asks, and the modify asked for is forgotten
        assert t.modify.description == "정정 modify" and "확인 → production" in t.cancel.description
        t.modify.click()  # asks again, sends nothing
        t.modify_price.value = 150_200  # a new price after asking: asked for again
        t.modify.click()
        assert sent(fake, "kt10002") == sent(fake, "kt10003") == []
        t.modify.click()
        assert [b["mdfy_uv"] for b in sent(fake, "kt10002")] == ["150200"] and sent(fake, "kt10003") == []


def test_confirm_and_cancel_clicked_from_many_threads_send_one_order_and_one_cancel():
    fake, api, t = ticket(mock=True)
    with api:
        t.send.click()
        _, errors = in_threads(lambda: t.confirm.click(), [()] * 8)
        assert errors == [] and len(sent(fake, "kt10000")) == 1 and t.order is not None
        t.cancel.click()  # asks
        _, errors = in_threads(lambda: t.cancel.click(), [()] * 8)
        assert errors == [] and len(sent(fake, "kt10003")) == 1
        assert t.order.status == "cancelled" and t.cancel.disabled
