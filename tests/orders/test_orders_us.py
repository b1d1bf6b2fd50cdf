"""US orders as live objects (issue 35): a US ticker goes through Kiwoom's US order TRs (ust20000 buy, ust20001 sell,
ust20002 modify, ust20003 cancel) with its price in dollars, through the same guard and preview as a domestic one, and
is followed by polling ust21510 (당일 주문체결 확인). Asserted: the bodies the fake received, the order's states.
No sleeps: every wait is for a condition, with a deadline."""

from __future__ import annotations

import pytest

from kiwoom_nb import Client, KiwoomError
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing.market._market import Clock
from support import CANARY, in_threads

pd = pytest.importorskip("pandas")

ORDER_TRS = ("kt10000", "kt10001", "kt10002", "kt10003", "ust20000", "ust20001", "ust20002", "ust20003")


def client(fake: FakeKiwoom, mock: bool = True) -> Client:
    return Client(*CANARY["mock" if mock else "production"], mock=mock, transport=fake.transport, pace=None)


def held(fake: FakeKiwoom, when: str = "2026-12-01 10:00") -> None:
    """The fake's clock still at ``when``, every order resting until the test fills it."""
    fake.clock.set(when)
    fake.clock.speed = 0
    fake.market.orders.matching = False


def sent(fake: FakeKiwoom, api_id: str) -> list[dict]:
    return [r.body for r in fake.requests if r.api_id == api_id]


def orders_sent(fake: FakeKiwoom) -> list[str]:
    return [r.api_id for r in fake.requests if r.api_id in ORDER_TRS]


def test_a_us_limit_buy_goes_through_ust20000_in_dollars_and_fills_by_polling_ust21510(fake):
    held(fake)
    with client(fake) as api:
        order = api.buy("AAPL", 3, price=185.2, confirm=True)
        assert orders_sent(fake) == ["ust20000"]
        assert sent(fake, "ust20000") == [{"stex_tp": "ND", "stk_cd": "AAPL", "ord_qty": "3", "ord_uv": "185.2",
                                           "trde_tp": "00"}]
        assert order.status == "submitted" and order.order_no and order.us and order.exchange == "ND"
        fake.market.orders.fill(order.order_no, 1, price=1_852_000)  # the market's unit: $1/10000
        order.wait(timeout=0.3)
        assert (order.status, order.filled, order.remaining) == ("partially filled", 1, 2)
        fake.market.orders.fill(order.order_no, price=1_850_000)
        assert order.wait(timeout=5).status == "filled"
    assert order.avg_price == pytest.approx((185.2 + 2 * 185.0) / 3, abs=1e-4)
    assert list(order.fills["qty"]) == [1, 2] and order.fills["price"].iloc[0] == pytest.approx(185.2)
    assert sent(fake, "ust21510") and all(b == {"slby_tp": "0"} for b in sent(fake, "ust21510"))
    assert not sent(fake, "kt00007")  # a US order is not looked for in the domestic orders
    assert "$185.20" in repr(order) and "filled 3" in repr(order)


def test_a_us_market_sell_fills_at_the_us_price_path(fake):
    fake.clock.set("2026-12-02 00:30")  # 10:30 in New York: the US session is open
    fake.clock.speed = 0
    with client(fake) as api:
        order = api.sell("aapl", 2, confirm=True).wait(timeout=5)
    assert sent(fake, "ust20001") == [{"stex_tp": "ND", "stk_cd": "AAPL", "ord_qty": "2", "trde_tp": "03"}]
    last = fake.market.quote("AAPL", us=True)["price"] / 10_000
    assert order.status == "filled" and order.avg_price == pytest.approx(last, abs=1e-4)
    assert 20 <= order.avg_price <= 600  # dollars, not the domestic path's won


def test_a_us_name_routes_to_the_us_trs_and_a_domestic_code_never_looks_at_the_us_list(fake):
    held(fake)
    with client(fake) as api:
        api.buy("애플", 1, price=185.25, confirm=True)
        api.buy("005930", 1, price=150_000, confirm=True)
    assert [b["stk_cd"] for b in sent(fake, "ust20000")] == ["AAPL"]
    assert [b["stk_cd"] for b in sent(fake, "kt10000")] == ["005930"]
    assert len(sent(fake, "usa10099")) == 1  # the day's US list, read once, for the name only


def test_production_without_confirm_returns_the_us_preview_and_sends_nothing():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    with client(fake, mock=False) as api:
        shown = api.buy("AAPL", 1, price=185.2)
    assert shown.startswith("not sent: BUY 1 × AAPL") and "$185.20 (limit)" in shown and "NASDAQ" in shown
    assert "production" in shown and orders_sent(fake) == []


def test_modify_and_cancel_of_a_partly_filled_us_order(fake):
    held(fake)
    with client(fake) as api:
        order = api.buy("AAPL", 3, price=185.2, confirm=True)
        first = order.order_no
        fake.market.orders.fill(first, 1, price=1_852_000)
        assert order.modify(186.5, confirm=True) is order
        assert sent(fake, "ust20002") == [{"orig_ord_no": first, "stex_tp": "ND", "stk_cd": "AAPL",
                                           "mdfy_uv": "186.5"}]
        assert order.order_no != first and order.price == 186.5
        truth = {o.number: (o.quantity, o.price, o.remaining) for o in fake.market.orders.orders}
        assert truth[first][0] == 1 and truth[order.order_no] == (2, 1_865_000, 2)  # moved, not only 접수
        fake.market.orders.fill(order.order_no, 1, price=1_865_000)
        order.wait(timeout=0.3)
        assert (order.status, order.filled) == ("partially filled", 2)
        assert order.avg_price == pytest.approx((185.2 + 186.5) / 2, abs=1e-4)
        assert order.cancel(confirm=True) is order
        assert sent(fake, "ust20003") == [{"orig_ord_no": order.order_no, "stex_tp": "ND", "stk_cd": "AAPL"}]
    assert (order.status, order.filled, order.remaining) == ("cancelled", 2, 0)
    assert [o.cancelled for o in fake.market.orders.orders if o.number == order.numbers[-1]] == [True]


def test_a_cancel_that_races_the_last_us_fill_ends_filled_in_one_line(fake, capsys):
    held(fake)
    with client(fake) as api:
        order = api.buy("AAPL", 2, price=185.2, confirm=True)
        fake.market.orders.fill(order.order_no, price=1_852_000)  # filled before the cancel reaches it
        order.cancel(confirm=True)
    assert order.status == "filled" and order.filled == 2
    assert capsys.readouterr().err.count("filled before the cancel") == 1


@pytest.mark.parametrize("call, what", [
    (lambda api: api.buy("AAPL", 1, price=0, confirm=True), "price=0"),
    (lambda api: api.buy("AAPL", 1, price="185.2", confirm=True), "price='185.2'"),
    (lambda api: api.buy("AAPL", 0, price=185.2, confirm=True), "qty=0"),
    (lambda api: api.buy("AAPL", 1, price=185.12345, confirm=True), "ord_uv"),
])
def test_bad_us_input_is_one_line_and_sends_no_order(fake, call, what):
    held(fake)
    with client(fake) as api, pytest.raises(KiwoomError) as raised:
        call(api)
    assert what in str(raised.value) and "\n" not in str(raised.value)
    assert orders_sent(fake) == []


def test_a_us_modify_with_a_quantity_is_refused_before_anything_is_sent(fake):
    held(fake)
    with client(fake) as api:
        order = api.buy("AAPL", 3, price=185.2, confirm=True)
        with pytest.raises(KiwoomError, match="no qty"):
            order.modify(186.0, qty=1, confirm=True)
    assert orders_sent(fake) == ["ust20000"] and order.status == "submitted"


def test_a_price_off_the_cent_step_is_kiwoom_s_refusal_in_one_line_and_places_nothing(fake):
    held(fake)
    with client(fake) as api, pytest.raises(KiwoomError) as raised:
        api.buy("AAPL", 1, price=185.123, confirm=True)
    assert sent(fake, "ust20000")[0]["ord_uv"] == "185.123"  # sent as written, never rounded
    assert "호가단위" in str(raised.value) and "\n" not in str(raised.value)
    assert fake.market.orders.orders == []


def test_orders_lists_us_and_domestic_orders_each_once(fake):
    held(fake)
    with client(fake) as api:
        us = api.buy("AAPL", 2, price=185.2, confirm=True)
        krx = api.buy("005930", 1, price=150_000, confirm=True)
        fake.market.orders.fill(us.order_no, price=1_852_000)
        listed = api.orders()
    assert listed == [krx, us] and us.status == "filled" and krx.status == "accepted"
    assert all(o.code in ("AAPL", "005930") for o in listed)


def test_us_orders_from_threads_each_end_in_their_true_state(fake):
    held(fake)
    with client(fake) as api:
        orders, errors = in_threads(lambda n: api.buy("AAPL", n, price=185.2, confirm=True),
                                    [(n,) for n in range(1, 7)])
        assert errors == []
        for o in orders[::2]:
            fake.market.orders.fill(o.order_no, price=1_852_000)
        for o in orders[1::2]:
            fake.market.orders.fill(o.order_no, 1, price=1_852_000)
        done, errors = in_threads(lambda o: o.wait(timeout=0.5), [(o,) for o in orders])
        truth = {o.number: (o.filled, o.remaining) for o in fake.market.orders.orders}
    assert errors == [] and len({o.order_no for o in orders}) == 6 and len(sent(fake, "usa10099")) == 1
    for o in orders:
        assert (o.filled, o.remaining) == truth[o.order_no]


def test_a_domestic_name_without_digits_stays_domestic_and_an_unknown_name_sends_nothing(fake):
    held(fake)
    with client(fake) as api:
        api.buy("NAVER", 1, price=250_000, confirm=True)
        with pytest.raises(KiwoomError) as raised:
            api.buy("NOSUCHSTOCK", 1, price=185.2, confirm=True)
    assert [b["stk_cd"] for b in sent(fake, "kt10000")] == ["035420"] and not sent(fake, "ust20000")
    assert "NOSUCHSTOCK" in str(raised.value) and "\n" not in str(raised.value)
    assert orders_sent(fake) == ["kt10000"]


def test_a_us_order_is_followed_by_polling_even_with_a_stream_open(fake):
    from kiwoom_nb.live._stream import Stream

    held(fake)
    stream = Stream(*CANARY["mock"], base_url=fake.mock_url, ws_url=fake.mock_ws_url)
    try:
        with client(fake) as api:
            order = api.buy("AAPL", 2, price=185.2, confirm=True)
            fake.market.orders.fill(order.order_no, price=1_852_000)
            assert order.wait(timeout=5).status == "filled"
    finally:
        stream.close()
    assert sent(fake, "ust21510") and order.filled == 2


def test_a_us_order_that_met_a_5xx_is_never_resent_and_says_unknown(capsys):
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    held(fake)
    with client(fake) as api:
        api.call("usa10099", stex_tp="%")  # the token and the US list before the fault
        fake.fail_next("bad_gateway", path="ust20000")
        order = api.buy("AAPL", 1, price=185.2)
        with pytest.raises(KiwoomError, match="not known"):
            order.cancel()
    assert order.status == "unknown: check api.orders()" and order.order_no == "" and order.remaining == 0
    assert len(sent(fake, "ust20000")) == 1 and orders_sent(fake) == ["ust20000"]
    assert "not re-sent" in capsys.readouterr().err


def test_a_domestic_name_still_orders_when_the_us_list_cannot_be_read(fake):
    held(fake)
    with client(fake) as api:
        api.call("ka10001", stk_cd="005930")  # the token before the fault
        for _ in range(8):  # more than the client's retries of a read
            fake.fail_next("bad_gateway", path="usa10099")
        api.buy("삼성전자", 1, price=150_000, confirm=True)
    assert [b["stk_cd"] for b in sent(fake, "kt10000")] == ["005930"] and orders_sent(fake) == ["kt10000"]
    assert sent(fake, "usa10099")  # it was asked for, and failed


def test_orders_rebuilds_a_us_order_placed_elsewhere_with_its_exchange_and_cancels_it_there(fake):
    held(fake)
    with client(fake) as first:
        first.buy("KO", 4, price=62.5, confirm=True)  # NYSE
    with client(fake) as api:
        api.buy("AAPL", 1, price=185.2, confirm=True)  # this client now follows US orders
        ko = next(o for o in api.orders() if o.code == "KO")
        assert (ko.us, ko.exchange, ko.qty, ko.price, ko.status) == (True, "NY", 4, 62.5, "accepted")
        ko.cancel(confirm=True)
    assert sent(fake, "ust20003")[-1] == {"orig_ord_no": ko.order_no, "stex_tp": "NY", "stk_cd": "KO"}
    assert ko.status == "cancelled"


# -- US positions (ust21070) -------------------------------------------------------------------------------------------


def test_us_positions_come_from_ust21070_with_what_filled_in_dollars_and_domestic_ones_stay_apart(fake):
    held(fake)
    with client(fake) as api:
        before = api.positions(us=True).set_index("stk_cd")
        qty, buy = int(before.loc["AAPL", "poss_qty"]), float(before.loc["AAPL", "frgn_stk_book_uv"])
        bought = api.buy("AAPL", 3, price=185.2, confirm=True)
        fake.market.orders.fill(bought.order_no, 1, price=1_850_000)
        fake.market.orders.fill(bought.order_no, price=1_856_000)
        assert bought.wait(timeout=5).status == "filled"
        sold = api.sell("AAPL", 1, price=190, confirm=True)
        fake.market.orders.fill(sold.order_no, price=1_900_000)
        assert sold.wait(timeout=5).status == "filled"
        us = api.positions(us=True)
        domestic = api.positions()
        korean = api.positions(us=True, labels="ko")
    assert sent(fake, "ust21070") == [{}, {}, {}]  # read on each call; no domestic TR for the US account
    assert korean.set_index("종목코드").loc["AAPL", "보유수량"] == qty + 2 and "poss_qty" not in korean
    assert sorted(us["stk_cd"]) == sorted(before.index)  # the same holdings; AAPL moved by the fills
    row = us.set_index("stk_cd").loc["AAPL"]
    assert (row["poss_qty"], row["crnc_code"]) == (qty + 2, "USD")
    # bought 3 at the fills' prices, sold 1 at the average: the buy price is the average of all bought, in dollars
    assert row["frgn_stk_book_uv"] == pytest.approx((qty * buy + 185.0 + 2 * 185.6) / (qty + 3), abs=1e-3)
    assert "AAPL" not in set(domestic["stk_cd"].astype(str))  # a US holding is not in kt00018


@pytest.mark.parametrize("us", ["yes", 1, None])
def test_positions_us_takes_only_true_or_false_and_sends_nothing_otherwise(fake, us):
    with client(fake) as api:
        with pytest.raises(KiwoomError, match="nothing was sent") as caught:
            api.positions(us=us)
    assert "\n" not in str(caught.value) and not sent(fake, "ust21070") and not sent(fake, "kt00018")
