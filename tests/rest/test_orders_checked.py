"""Orders no one can place (issue 28's review, item 5): the library refuses a quantity or price that is none before
anything is sent, in one line naming the field; and the fake refuses them as Kiwoom does (HTTP 200, return_code not 0,
a return_msg naming the field), placing nothing, so it never looks more forgiving than Kiwoom. What counts is what
the fake received and what its order book holds."""

from __future__ import annotations

import httpx
import pytest
from support import CANARY

from kiwoom_nb import Client, OrderNotConfirmed, RequestError
from kiwoom_nb.rest._trs import lookup

BUY = {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "1", "trde_tp": "3"}
LIMIT = dict(BUY, ord_uv="70000", trde_tp="0")
US_BUY = {"stex_tp": "ND", "stk_cd": "AAPL", "ord_qty": "1", "ord_uv": "185.25", "trde_tp": "00"}
MODIFY = {"dmst_stex_tp": "KRX", "orig_ord_no": "0000001", "stk_cd": "005930", "mdfy_qty": "1", "mdfy_uv": "70000"}
CANCEL = {"dmst_stex_tp": "KRX", "orig_ord_no": "0000001", "stk_cd": "005930", "cncl_qty": "0"}

NONSENSE = [  # (api_id, body, the field named)
    ("kt10000", dict(BUY, ord_qty="-1"), "ord_qty"),
    ("kt10000", dict(BUY, ord_qty="0"), "ord_qty"),
    ("kt10000", dict(BUY, ord_qty="abc"), "ord_qty"),
    ("kt10000", dict(BUY, ord_qty="1.5"), "ord_qty"),
    ("kt10000", dict(BUY, ord_qty="99999999999999999999"), "ord_qty"),
    ("kt10000", dict(BUY, ord_qty="1e20"), "ord_qty"),
    ("kt10001", dict(BUY, ord_qty="100000001"), "ord_qty"),
    ("kt10000", dict(LIMIT, ord_uv="-100"), "ord_uv"),
    ("kt10000", dict(LIMIT, ord_uv="0"), "ord_uv"),
    ("kt10000", dict(LIMIT, ord_uv="70000.5"), "ord_uv"),
    ("kt10000", dict(LIMIT, ord_uv="7e4"), "ord_uv"),
    ("kt10000", dict(LIMIT, ord_uv=""), "ord_uv"),  # a limit order without its price
    ("kt10006", dict(BUY, ord_qty="-5", crd_deal_tp="33"), "ord_qty"),
    ("kt10002", dict(MODIFY, mdfy_qty="0"), "mdfy_qty"),
    ("kt10002", dict(MODIFY, mdfy_uv="-70000"), "mdfy_uv"),
    ("kt10003", dict(CANCEL, cncl_qty="-1"), "cncl_qty"),
    ("kt50000", {"stk_cd": "M04020000", "ord_qty": "-1", "ord_uv": "100000", "trde_tp": "00"}, "ord_qty"),
    ("ust20000", dict(US_BUY, ord_uv="-185.25"), "ord_uv"),
    ("ust20000", dict(US_BUY, ord_qty="0.5"), "ord_qty"),
]
IDS = [f"{api_id}-{field}={body.get(field)!r}" for api_id, body, field in NONSENSE]


def mock_client(fake) -> Client:
    return Client(*CANARY["mock"], mock=True, base_url=fake.mock_url, pace=None)


def sent_orders(fake) -> list:
    return [r for r in fake.requests if r.path.startswith("/api/") and lookup(r.api_id or "") is not None
            and lookup(r.api_id).category in ("주문", "신용주문")]


@pytest.mark.parametrize("api_id, body, field", NONSENSE, ids=IDS)
def test_the_library_refuses_an_order_that_is_none_in_one_line_before_sending(fake, api_id, body, field):
    with mock_client(fake) as api:
        with pytest.raises(RequestError) as caught:
            api.call(api_id, **body)
    text = str(caught.value)
    assert "\n" not in text and f"{field}=" in text and "nothing was sent" in text
    assert sent_orders(fake) == [] and fake.orders == [] and fake.market.orders.orders == []


def test_numbers_given_as_python_numbers_are_checked_the_same(fake):
    with mock_client(fake) as api:
        for fields in ({"ord_qty": -1}, {"ord_qty": 1.5}, {"ord_qty": 10 ** 20}, {"ord_uv": 70000.5, "trde_tp": "0"}):
            with pytest.raises(RequestError, match=f"{next(iter(fields))}="):
                api.call("kt10000", **dict(BUY, **fields))
        api.call("kt10000", **dict(BUY, ord_qty=2))  # an int quantity is a quantity
    assert [o.quantity for o in fake.market.orders.orders] == [2]


def test_an_unconfirmed_production_order_is_still_refused_by_the_guard_first(fake):
    """The guard decides by where the request goes: a production order without confirm=True is OrderNotConfirmed,
    whatever its fields; confirmed, its nonsense is refused before sending."""
    with Client(*CANARY["production"], base_url=fake.url, pace=None) as api:
        with pytest.raises(OrderNotConfirmed):
            api.call("kt10000", **dict(BUY, ord_qty="-1"))
        with pytest.raises(RequestError, match="ord_qty="):
            api.call("kt10000", confirm=True, **dict(BUY, ord_qty="-1"))
    assert sent_orders(fake) == [] and fake.orders == []


@pytest.mark.parametrize("api_id, body", [
    ("kt10000", BUY), ("kt10000", dict(BUY, ord_uv="0")), ("kt10000", dict(BUY, ord_uv="")), ("kt10001", LIMIT),
    ("kt10000", dict(LIMIT, ord_uv="1999", trde_tp="5")), ("ust20000", US_BUY),
    ("ust20000", dict(US_BUY, ord_uv="0.1234")), ("kt10003", CANCEL), ("kt10002", MODIFY),
], ids=["market", "market-0", "market-blank", "limit", "conditional", "us", "us-sub-dollar", "cancel-all", "modify"])
def test_orders_that_are_orders_still_go(fake, api_id, body):
    with mock_client(fake) as api:
        answer = api.call(api_id, **body)
    assert str(answer["return_code"]) == "0"
    assert len(fake.orders) == 1


# -- the fake refuses them as Kiwoom does ----------------------------------------------------------------------


@pytest.mark.parametrize("api_id, body, field", NONSENSE, ids=IDS)
def test_the_fake_refuses_an_order_that_is_none_as_kiwoom_does(fake, api_id, body, field):
    """check=False sends it as it is: the fake answers HTTP 200 with a return_code that is not 0 and a return_msg
    naming the field, places nothing and gives no order number."""
    with mock_client(fake) as api:
        with pytest.raises(RequestError) as caught:
            api.call(api_id, check=False, **body)
    [sent] = sent_orders(fake)
    assert sent.body == body  # it did go: the refusal is the fake's
    error = caught.value
    assert error.status_code == 200 and str(error.return_code) not in ("0", "")
    assert f"필드={field}" in error.return_msg and error.code in (1511, 1517)
    assert fake.orders == [] and fake.market.orders.orders == []


def test_the_fake_refuses_over_plain_http_too(fake):
    with mock_client(fake) as api, httpx.Client(base_url=fake.mock_url, timeout=10) as http:
        api.call("ka10001", stk_cd="005930")  # a token
        answer = http.post("/api/dostk/ordr", json=dict(BUY, ord_qty="-1"),
                           headers={"api-id": "kt10000", "authorization": f"Bearer {fake.tokens[0].value}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["return_code"] != 0 and "필드=ord_qty" in body["return_msg"] and "ord_no" not in body
    assert fake.orders == [] and fake.market.orders.orders == []


@pytest.mark.parametrize("api_id, body, field", [
    ("kt10000", dict(LIMIT, ord_uv="70001"), "ord_uv"),  # 70,000 won trades in steps of 100
    ("kt10000", dict(LIMIT, ord_uv="1999", stk_cd="000660"), None),  # under 2,000: steps of 1 (a price it takes)
    ("kt10002", dict(MODIFY, mdfy_uv="160450"), "mdfy_uv"),
    ("ust20000", dict(US_BUY, ord_uv="185.255"), "ord_uv"),  # a dollar and up: cents
])
def test_the_fake_refuses_a_price_off_its_markets_step(fake, api_id, body, field):
    """kiwoom_nb does not know the price steps (호가단위); the fake does, and refuses as Kiwoom would."""
    with mock_client(fake) as api:
        if field is None:
            api.call(api_id, **body)
            assert len(fake.orders) == 1
            return
        with pytest.raises(RequestError) as caught:
            api.call(api_id, **body)
    assert f"필드={field}" in caught.value.return_msg and "호가단위" in caught.value.return_msg
    assert fake.orders == []
