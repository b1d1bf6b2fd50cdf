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
