"""The order ticket (issue 35) with real ipywidgets against the fake: type, preview, confirm in two steps, see the
order move; no key or token in any widget state."""

from __future__ import annotations

import pytest

from kiwoom_nb.notebook.panel._ticket import Ticket
from kiwoom_nb.orders._client import Client
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing.market._market import Clock
from support import CANARY, wait_for

pytest.importorskip("ipywidgets")
pytest.importorskip("pandas")


def states(widget) -> str:
    """Every widget's state in the tree, as saved with a notebook."""
    seen, stack = [], [widget]
    while stack:
        w = stack.pop()
        seen.append(str(w.get_state()))
        stack.extend(getattr(w, "children", ()))
    return "\n".join(seen)


@pytest.mark.parametrize("mock", [False, True])
def test_type_preview_confirm_in_two_steps_and_see_the_fill(mock):
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    fake.market.orders.matching = False
    with Client(*CANARY["mock" if mock else "production"], mock=mock, transport=fake.transport, pace=None) as api:
        t = Ticket(api)
        t.code.value = "005930"
        t.qty.value = 3
        t.price.value = 150_000
        assert "BUY 3 × 005930" in t.preview.value and "150,000 (limit)" in t.preview.value
        t.side.value = "sell"
        t.market.value = True
        assert "SELL 3 × 005930" in t.preview.value and "at market" in t.preview.value
        t.market.value = False
        t.send.click()
        assert fake.orders == [] and t.confirm.layout.display == ""
        assert ("production" if not mock else "mock") in t.confirm.description
        assert ("#c0392b" in t.status.value) == (not mock)
        t.price.value = 150_100  # typing again: the confirm step starts over
        assert t.confirm.layout.display == "none"
        t.send.click()
        t.confirm.click()
        assert len(fake.orders) == 1 and fake.orders[0].body["ord_uv"] == "150100"
        assert t.order.status == "submitted" and t.send.disabled and t.code.disabled
        fake.market.orders.fill(t.order.order_no, 1, price=150_100)
        t.modify_price.value = 150_200
        t.modify.click()  # asks: the destination, nothing sent
        assert not any(r.api_id == "kt10002" for r in fake.requests) and "확인 →" in t.modify.description
        t.modify.click()
        assert fake.received()[-2].api_id == "kt10002" or any(r.api_id == "kt10002" for r in fake.requests)
        assert "partially filled" in t.status.value and "filled 1 of 3" in t.status.value
        t.cancel.click()
        t.cancel.click()
        assert "cancelled" in t.status.value and t.cancel.disabled
        token = api.tokens.current().value
        saved = states(t.widget)
    for secret in (token, *CANARY["mock"], *CANARY["production"]):
        assert secret not in saved


def test_a_refused_order_shows_one_line_on_the_ticket():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    with Client(*CANARY["mock"], mock=True, transport=fake.transport, pace=None) as api:
        t = Ticket(api, "005930", 1)
        t.price.value = 160_450  # off the price step
        t.send.click()
        t.confirm.click()
    assert t.order is None and "호가단위" in t.status.value and fake.orders == []


def test_a_us_ticket_previews_in_dollars_sends_ust20000_and_modifies_with_cents():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    fake.market.orders.matching = False
    with Client(*CANARY["production"], mock=False, transport=fake.transport, pace=None) as api:
        t = Ticket(api)
        t.code.value = "AAPL"
        t.qty.value = 2
        t.price.value = 185.2
        assert "BUY 2 × AAPL" in t.preview.value and "$185.20 (limit)" in t.preview.value
        assert "NASDAQ" in t.preview.value
        t.send.click()
        assert fake.orders == []
        t.confirm.click()
        assert [(r.api_id, r.body) for r in fake.orders] == [
            ("ust20000", {"stex_tp": "ND", "stk_cd": "AAPL", "ord_qty": "2", "ord_uv": "185.2", "trde_tp": "00"})]
        fake.market.orders.fill(t.order.order_no, 1, price=1_852_000)
        t.modify_price.value = 186.25
        t.modify.click()
        t.modify.click()
        assert sent_body(fake, "ust20002")["mdfy_uv"] == "186.25"
        assert "partially filled" in t.status.value and "@ $185.20" in t.status.value


def sent_body(fake, api_id: str) -> dict:
    return next(r.body for r in reversed(fake.requests) if r.api_id == api_id)


def test_with_no_stream_open_the_ticket_follows_its_order_to_the_fill_by_itself():
    """The ticket alone (%kiwoom_order, no board, no stream): the order filled at the fake must show on the ticket
    without anyone calling wait() — a look at kt00007 every few seconds, stopping once the order is final."""
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    fake.market.orders.matching = False
    with Client(*CANARY["mock"], mock=True, transport=fake.transport, pace=None) as api:
        t = Ticket(api, "005930", 2)
        t.price.value = 150_000
        t.send.click()
        t.confirm.click()
        assert t.order.status == "submitted"
        fake.market.orders.fill(t.order.order_no, price=149_900)
        wait_for(lambda: "filled — filled 2 of 2 @ 149,900" in t.status.value, 15, "the ticket to show the fill")
        t._follower.join(timeout=15)
        assert not t._follower.is_alive()  # final: it stopped looking
        looks = len([r for r in fake.requests if r.api_id == "kt00007"])
    assert looks >= 1


def test_a_client_closed_under_a_following_ticket_ends_the_follower_with_one_line():
    fake = FakeKiwoom(keys=dict(CANARY), clock=Clock("2026-12-01 10:00", speed=0))
    fake.market.orders.matching = False
    api = Client(*CANARY["mock"], mock=True, transport=fake.transport, pace=None)
    t = Ticket(api, "005930", 2)
    t.price.value = 150_000
    t.send.click()
    t.confirm.click()
    api.close()
    t._follower.join(timeout=15)
    assert not t._follower.is_alive() and "closed" in t.status.value and "\n" not in t.status.value
