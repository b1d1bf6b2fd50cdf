"""Orders as live objects (issue 35) against the fake: what the fake received, and what the user sees on the Order.
No sleeps: every wait is for a condition, with a deadline."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from kiwoom_nb import Client, KiwoomError
from kiwoom_nb.live._stream import Stream
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing.market._market import Clock
from support import CANARY, in_threads, wait_for

pd = pytest.importorskip("pandas")


def client(fake: FakeKiwoom, mock: bool = True) -> Client:
    return Client(*CANARY["mock" if mock else "production"], mock=mock, transport=fake.transport, pace=None)


def held(fake: FakeKiwoom, when: str = "2026-12-01 10:00") -> None:
    """The fake's clock still at ``when``, and every order resting until the test fills it."""
    fake.clock.set(when)
    fake.clock.speed = 0
    fake.market.orders.matching = False


def sent(fake: FakeKiwoom, api_id: str) -> list[dict]:
    return [r.body for r in fake.requests if r.api_id == api_id]


@pytest.fixture
def opened(fake):
    made = []

    def open_(mock: bool = True) -> Stream:
        appkey, secretkey = CANARY["mock" if mock else "production"]
        stream = Stream(appkey, secretkey, base_url=fake.mock_url if mock else fake.url,
                        ws_url=fake.mock_ws_url if mock else fake.ws_url)
        made.append(stream)
        return stream

    yield open_
    for stream in made:
        stream.close()


# -- placing: the guard and the preview -----------------------------------------------------------------------------


def test_production_without_confirm_returns_the_preview_and_sends_nothing():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    with client(fake, mock=False) as api:
        shown = api.buy("005930", 10, price=160_400)
        market = api.sell("005930", 3)
    assert shown.startswith("not sent: BUY 10 × 005930") and "@ 160,400 (limit)" in shown and "production" in shown
    assert "confirm=True" in shown and "SELL 3 × 005930" in market and "at market" in market
    assert fake.orders == [] and sent(fake, "kt10000") == sent(fake, "kt10001") == []


def test_production_with_confirm_sends_kt10000_and_returns_a_live_order():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake, mock=False) as api:
        o = api.buy("005930", 10, price=160_400, confirm=True)
        [body] = sent(fake, "kt10000")
        assert body == {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "10", "trde_tp": "0", "ord_uv": "160400"}
        assert (o.order_no, o.status, o.filled, o.remaining, o.avg_price) == ("0000001", "submitted", 0, 10, 0)
        assert o.side == "buy" and list(o.fills.columns) == ["time", "qty", "price", "fee", "tax"]


def test_mock_orders_go_without_confirm_as_the_guard_rules_and_a_market_order_has_no_price():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        o = api.sell("000660", 2)
    assert sent(fake, "kt10001") == [{"dmst_stex_tp": "KRX", "stk_cd": "000660", "ord_qty": "2", "trde_tp": "3"}]
    assert o.order_no and o.status == "submitted" and o.price is None


@pytest.mark.parametrize("args, said", [
    ((5930, 1), "stk_cd"), (("005930", 0), "qty"), (("005930", 1.5), "qty"), (("005930", True), "qty"),
    (("005930", 1, -100), "price"), (("005930", 1, "160400"), "price"), (("0059300", 1), "0059300")])
def test_bad_input_is_one_line_and_sends_nothing(args, said):
    fake = FakeKiwoom(keys=dict(CANARY))
    with client(fake, mock=False) as api:
        with pytest.raises(KiwoomError) as caught:
            api.buy(*args, confirm=True)
    assert said in str(caught.value) and "\n" not in str(caught.value)
    assert fake.orders == []


def test_a_timeout_is_never_resent_and_says_unknown(capsys):
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        api.call("ka10001", stk_cd="005930")  # the token issued before the fault
        fake.fail_next("bad_gateway", path="kt10000")
        o = api.buy("005930", 1, price=150_000)
        fake.fail_next(("slow", 3), path="kt10001")
        api.tokens.timeout = 0.5
        late = api.sell("005930", 1, price=150_000)
    assert o.status == "unknown: check api.orders()" and o.order_no == "" and o.remaining == 0
    assert late.status == "unknown: check api.orders()"
    assert len(sent(fake, "kt10000")) == 1 and len(sent(fake, "kt10001")) == 1
    assert "not re-sent" in capsys.readouterr().err


# -- one order's life: from events, from polling, a lost event -----------------------------------------------------


def test_an_order_moves_from_00_events_alone_with_no_polling(fake, opened):
    held(fake)
    live = opened()
    with client(fake) as api:
        o = api.buy("005930", 10, price=160_400)
        seen: list[tuple[str, int]] = []
        o.on(lambda order: seen.append((order.status, order.filled)))
        wait_for(lambda: o.status == "accepted", 10, "the 접수 event")
        fake.market.orders.fill(o.order_no, 4, price=160_400)
        wait_for(lambda: o.status == "partially filled", 10, "the partial fill's event")
        assert (o.filled, o.remaining, o.avg_price) == (4, 6, 160_400)
        fake.market.orders.fill(o.order_no, 6, price=160_300)
        wait_for(lambda: o.status == "filled", 10, "the last fill's event")
        polled = len(sent(fake, "kt00007"))
        o.wait(timeout=5)  # final already: kt00007 once, to reconcile
    assert polled == 0 and len(sent(fake, "kt00007")) == 1
    assert seen == [("accepted", 0), ("partially filled", 4), ("filled", 10)]
    assert o.avg_price == (4 * 160_400 + 6 * 160_300) / 10 and o.remaining == 0
    assert o.fills[["qty", "price"]].values.tolist() == [[4, 160_400], [6, 160_300]]
    assert o.fills["time"].notna().all()
    assert live.latest("00") is not None


def test_the_fake_sends_order_events_as_they_happen_not_on_its_next_tick(fake, opened):
    """Kiwoom pushes 00 as an order moves; the fake did so only on its price ticks (20 a second), which made events
    look slower than polling in bench goal 13. With ticks 100 s apart, each event still arrives at once."""
    held(fake)
    fake.ws.rate = 0.01
    opened()
    with client(fake) as api:
        o = api.buy("005930", 10, price=160_400)
        wait_for(lambda: o.status == "accepted", 10, "the 접수 event before the next tick")
        fake.market.orders.fill(o.order_no, 10, price=160_400)
        wait_for(lambda: o.status == "filled", 10, "the fill's event before the next tick")
        assert len(sent(fake, "kt00007")) == 0  # moved by events, not by polling


def test_without_a_stream_wait_polls_kt00007_until_filled():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        o = api.sell("000660", 5, price=100_000)
        threading.Timer(0.5, lambda: fake.market.orders.fill(o.order_no, 5, price=100_100)).start()
        o.wait(timeout=30)
    assert (o.status, o.filled, o.avg_price, o.remaining) == ("filled", 5, 100_100, 0)
    assert len(sent(fake, "kt00007")) >= 2  # polled, then once more at the end
    assert [(r["qry_tp"], r["sell_tp"]) for r in sent(fake, "kt00007")][0] == ("1", "0")


def test_a_lost_00_event_is_reconciled_at_the_end(fake, opened):
    held(fake)
    live = opened()
    with client(fake) as api:
        o = api.buy("005930", 3)
        wait_for(lambda: o.status == "accepted", 10, "the 접수 event")
        live.off("00", api._book()._event)  # the fill's event never reaches the order
        fake.market.orders.fill(o.order_no, 3, price=150_000)
        o.wait(timeout=0.5)
    assert (o.status, o.filled, o.avg_price) == ("filled", 3, 150_000)
    assert o.fills[["qty", "price"]].values.tolist() == [[3, 150_000]] and o.fills["time"].isna().all()


def test_await_in_an_async_cell():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    with client(fake) as api:
        o = api.buy("005930", 1)  # the fake fills a market order at once
        done = asyncio.run(_awaited(o))
    assert done is o and o.status == "filled" and o.filled == 1


async def _awaited(o):
    return await o


# -- changes -------------------------------------------------------------------------------------------------------


def test_modify_a_partial_fill_then_the_rest_fills_at_the_new_price():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake, mock=False) as api:
        o = api.buy("005930", 10, price=160_400, confirm=True)
        fake.market.orders.fill(o.order_no, 4, price=160_400)
        first = o.order_no
        assert o.modify(price=160_000).startswith("not sent: MODIFY order")  # production, no confirm
        assert sent(fake, "kt10002") == []
        assert o.modify(price=160_000, confirm=True) is o
        [body] = sent(fake, "kt10002")
        fake.market.orders.fill(o.order_no, price=160_000)
        o.wait(timeout=10)
    assert body == {"dmst_stex_tp": "KRX", "orig_ord_no": first, "stk_cd": "005930", "mdfy_qty": "6",
                    "mdfy_uv": "160000"}
    assert o.order_no != first and o.numbers == [first, o.order_no] and o.price == 160_000
    assert (o.status, o.filled, o.avg_price) == ("filled", 10, (4 * 160_400 + 6 * 160_000) / 10)


def test_cancel_a_partial_fill(fake, opened):
    held(fake)
    opened()
    with client(fake) as api:
        o = api.buy("005930", 10, price=100_000)
        fake.market.orders.fill(o.order_no, 3, price=100_000)
        wait_for(lambda: o.filled == 3, 10, "the partial fill")
        o.cancel(confirm=True)
        [body] = sent(fake, "kt10003")
    assert body == {"dmst_stex_tp": "KRX", "orig_ord_no": o.order_no, "stk_cd": "005930", "cncl_qty": "0"}
    assert (o.status, o.filled, o.remaining) == ("cancelled", 3, 0)
    with pytest.raises(KiwoomError, match="is cancelled: nothing left to cancel"):
        o.cancel(confirm=True)
    assert len(sent(fake, "kt10003")) == 1


def test_a_cancel_that_races_the_final_fill_ends_filled_with_one_line(capsys):
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        o = api.sell("000660", 2, price=100_000)
        fake.market.orders.fill(o.order_no, 2, price=100_000)  # filled before the cancel arrives
        o.cancel(confirm=True)
    err = capsys.readouterr().err
    assert o.status == "filled" and o.filled == 2
    assert err.count("\n") == 1 and "filled before the cancel reached it" in err


# -- threads, callbacks ------------------------------------------------------------------------------------------


def test_many_orders_from_threads_each_end_in_their_true_state(fake, opened):
    held(fake)
    opened()
    with client(fake) as api:
        orders, errors = in_threads(lambda n: api.buy("005930", n, price=150_000), [(n,) for n in range(1, 9)])
        assert errors == []
        for o in orders[::2]:
            fake.market.orders.fill(o.order_no, price=150_000)
        for o in orders[1::2]:
            fake.market.orders.fill(o.order_no, 1, price=150_000)
        done, errors = in_threads(lambda o: o.wait(timeout=0.5), [(o,) for o in orders])
        truth = {o.number: (o.filled, o.remaining) for o in fake.market.orders.orders}
    assert errors == [] and len({o.order_no for o in orders}) == 8
    for o in orders:
        filled, remaining = truth[o.order_no]
        assert (o.filled, o.remaining) == (filled, remaining)
        assert o.status == ("filled" if remaining == 0 else "partially filled")


def test_a_failing_callback_is_logged_not_raised_and_the_others_still_run(caplog):
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    seen = []
    with client(fake) as api:
        o = api.buy("005930", 1, price=150_000)
        o.on(lambda order: 1 / 0)
        o.on(lambda order: seen.append(order.status))
        fake.market.orders.fill(o.order_no, price=150_000)
        with caplog.at_level(logging.ERROR, logger="kiwoom_nb"):
            o.wait(timeout=5)
    assert o.status == "filled" and "filled" in seen
    assert "an order callback" in caplog.text and "ZeroDivisionError" in caplog.text


# -- listing, survival -------------------------------------------------------------------------------------------


def test_orders_lists_todays_orders_open_first_and_reuses_the_objects():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        a = api.buy("005930", 2, price=150_000)
        b = api.sell("000660", 1, price=90_000)
        c = api.buy("005930", 1, price=150_500)
        fake.market.orders.fill(a.order_no, price=150_000)
        listed = api.orders()
    assert [o.order_no for o in listed] == [c.order_no, b.order_no, a.order_no]
    assert listed[0] is c and listed[2] is a and a.status == "filled" and c.status == "accepted"


def test_a_kernel_restart_loses_the_objects_not_the_truth():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        a = api.buy("005930", 4, price=150_000)
        b = api.sell("000660", 3, price=90_000)
        fake.market.orders.fill(a.order_no, 1, price=150_000)
        fake.market.orders.fill(b.order_no, price=90_100)
    with client(fake) as again:  # a new process: nothing but Kiwoom's record
        rebuilt = again.orders()
        [open_, done] = rebuilt
        fake.market.orders.fill(a.order_no, price=149_900)
        open_.wait(timeout=10)
    assert (open_.order_no, open_.side, open_.code, open_.qty, open_.price) == (a.order_no, "buy", "005930", 4, 150_000)
    assert (done.order_no, done.side, done.status, done.filled, done.avg_price) == (b.order_no, "sell", "filled", 3,
                                                                                   90_100)
    assert (open_.status, open_.filled, open_.avg_price) == ("filled", 4, (150_000 + 3 * 149_900) // 4)


def test_a_stream_that_drops_and_comes_back_rereads_the_open_orders(fake, opened):
    held(fake)
    live = opened()
    with client(fake) as api:
        o = api.buy("005930", 5, price=150_000)
        wait_for(lambda: o.status == "accepted", 10, "the 접수 event")
        live.off("00", api._book()._event)  # what happens while the stream is down never arrives
        fake.market.orders.fill(o.order_no, 2, price=150_000)
        polled = len(sent(fake, "kt00007"))
        fake.ws.drop()
        wait_for(lambda: o.filled == 2, 20, "the order re-read after the reconnect")
    assert polled == 0 and len(sent(fake, "kt00007")) >= 1
    assert (o.status, o.remaining) == ("partially filled", 3) and live._socket.reconnects >= 1


# -- positions ---------------------------------------------------------------------------------------------------


def test_positions_without_a_stream_read_kt00018_each_time():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    with client(fake) as api:
        before = api.positions()
        api.buy("005930", 5).wait(timeout=10)  # a market order: the fake fills it at once
        after = api.positions()
    assert len(sent(fake, "kt00018")) == 2
    qty = dict(zip(after["stk_cd"], after["rmnd_qty"]))
    assert dict(zip(before["stk_cd"], before["rmnd_qty"]))["A005930"] + 5 == qty["A005930"]


def test_positions_are_kept_current_by_04_while_a_stream_is_open(fake, opened):
    held(fake)
    opened()
    with client(fake) as api:
        before = api.positions()
        o = api.buy("035720", 7, price=50_000)
        fake.market.orders.fill(o.order_no, price=50_000)
        wait_for(lambda: "A035720" in set(api.positions()["stk_cd"]), 10, "the 04 event of the new holding")
        s = api.sell("000660", 30, price=1_000)  # all of it
        fake.market.orders.fill(s.order_no, price=1_000)
        wait_for(lambda: "A000660" not in set(api.positions()["stk_cd"]), 10, "the 04 event of the sale")
        after = api.positions()
        korean = api.positions(labels="ko")  # the Korean names frame(labels="ko") gives, a 04-added row's too
        with pytest.raises(KiwoomError, match="nothing was sent"):
            api.positions(labels="en")
    assert len(sent(fake, "kt00018")) == 1  # read once; the rest came from 04
    assert set(before["stk_cd"]) == {"A005930", "A000660"}
    row = after.set_index("stk_cd").loc["A035720"]
    assert (row["rmnd_qty"], row["pur_pric"]) == (7, 50_000)
    assert not {"stk_cd", "rmnd_qty", "pur_pric"} & set(korean.columns)
    row = korean.set_index("종목번호").loc["A035720"]
    assert (row["종목명"] != "", row["보유수량"], row["매입가"]) == (True, 7, 50_000)


# -- trying to break it ------------------------------------------------------------------------------------------


def test_malformed_and_repeated_events_move_nothing_they_should_not():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        o = api.buy("005930", 3, price=150_000)
        o.apply_event({"913": "체결", "909": "1", "911": "x", "910": "?"})  # no quantity: no fill
        fill = {"9203": o.order_no, "913": "체결", "909": "7", "911": "2", "910": "150000", "908": "100001"}
        o.apply_event(fill)
        o.apply_event(fill)  # the same 체결번호 again
        o.apply_event({"913": "체결", "909": "8", "911": "9", "910": "150000"})  # more than remains
        o.apply_event({"913": "취소"})  # after the final state
    assert (o.status, o.filled, o.remaining) == ("filled", 3, 0)
    assert o.fills["qty"].tolist() == [2, 1]


def test_bad_arguments_to_wait_on_modify_and_cancel_send_nothing():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        o = api.buy("005930", 3, price=150_000)
        for call, said in ((lambda: o.wait(timeout=-1), "timeout"), (lambda: o.on("print"), "function"),
                           (lambda: o.modify(price=0), "price"), (lambda: o.modify(price=1.5), "price"),
                           (lambda: o.cancel(confirm="yes"), "confirm")):
            with pytest.raises(KiwoomError, match=said):
                call()
    assert sent(fake, "kt10002") == sent(fake, "kt10003") == []


def test_a_stream_closed_while_waiting_still_ends_truthfully(fake, opened):
    held(fake)
    live = opened()
    with client(fake) as api:
        o = api.buy("005930", 2, price=150_000)
        wait_for(lambda: o.status == "accepted", 10, "the 접수 event")
        live.close()
        fake.market.orders.fill(o.order_no, price=150_000)
        o.wait(timeout=10)  # no stream now: polls
    assert (o.status, o.filled) == ("filled", 2)


def test_an_order_kiwoom_refuses_at_once_raises_one_line_and_leaves_no_object():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        with pytest.raises(KiwoomError) as caught:
            api.buy("005930", 1, price=160_450)  # off the price step
        assert api.orders() == []
    assert "호가단위" in str(caught.value) and "\n" not in str(caught.value)


def test_an_order_rejected_after_acceptance_ends_rejected_from_the_event(fake, opened):
    held(fake)
    opened()
    with client(fake) as api:
        by_event = api.buy("005930", 1, price=150_000)
        wait_for(lambda: by_event.status == "accepted", 10, "the 접수 event")
        fake.market.orders.reject(by_event.order_no)
        wait_for(lambda: by_event.status == "rejected", 10, "the 거부 event")
    assert by_event.reason == "주문가능금액이 부족합니다" and by_event.remaining == 0


def test_an_order_rejected_after_acceptance_ends_rejected_by_polling():
    other = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(other)
    with client(other) as api:
        polled = api.buy("005930", 1, price=150_000)
        other.market.orders.reject(polled.order_no)
        polled.wait(timeout=10)
    assert (polled.status, polled.filled) == ("rejected", 0)


def test_two_fills_sent_in_one_frame_both_count(fake, opened):
    held(fake)
    opened()
    with client(fake) as api:
        o = api.buy("005930", 5, price=150_000)
        wait_for(lambda: o.status == "accepted", 10, "the 접수 event")
        with fake.market.orders._lock:  # both before the fake's next look: one REAL frame
            fake.market.orders.fill(o.order_no, 2, price=150_000)
            fake.market.orders.fill(o.order_no, 3, price=149_900)
        wait_for(lambda: o.status == "filled", 10, "both fills from events")
        polled = len(sent(fake, "kt00007"))
    assert polled == 0 and o.fills["qty"].tolist() == [2, 3] and o.fills["time"].notna().all()


def test_cancel_in_production_without_confirm_returns_the_preview_and_sends_nothing():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake, mock=False) as api:
        o = api.sell("000660", 2, price=600_000, confirm=True)
        shown = o.cancel()
    assert shown.startswith(f"not sent: CANCEL order {o.order_no}: 000660") and "confirm=True" in shown
    assert sent(fake, "kt10003") == [] and o.status == "submitted"
