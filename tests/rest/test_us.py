"""US stocks (issue 20, item 0): the /api/us/… TRs through the client and the magic, against the fake; the order
guard follows the categories (US orders, 환전 신청) and any api-id sent to an order path."""

from __future__ import annotations

import pytest
from support import CANARY, logged_in
from test_tr_kernel import one_line_error

from kiwoom_nb import Client, OrderNotConfirmed

PRODUCTION, MOCK = CANARY["production"], CANARY["mock"]
BUY = {"stex_tp": "ND", "stk_cd": "AAPL", "ord_qty": "1", "ord_uv": "185.25", "trde_tp": "00"}
EXCHANGE = {"exch_tp": "1", "fc_exmn_amt": "1000"}
UNKNOWN_ORDER = ("ust29999", "/api/us/ordr", {"stk_cd": "AAPL", "ord_qty": "1"})


@pytest.fixture(autouse=True)
def _no_configured_urls(monkeypatch):
    for name in ("KIWOOM_BASE_URL", "KIWOOM_MOCK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def production(fake):
    with Client(*PRODUCTION, base_url=fake.url, pace=None) as api:
        yield api


@pytest.mark.parametrize(("api_id", "path", "fields"), [
    ("ust20000", None, BUY),                   # 미국주식 매수주문
    ("ust20001", None, BUY),                   # 미국주식 매도주문
    ("ust31302", None, EXCHANGE),              # 환전 신청
    UNKNOWN_ORDER,                              # an api-id the table lacks, sent to the US order path
    ("ka10001", "/api/dostk/ordr", {"stk_cd": "005930"}),  # a known quote sent to an order path
])
def test_a_production_us_order_or_exchange_without_confirm_is_refused_and_nothing_is_sent(fake, production, api_id,
                                                                                         path, fields):
    production.call("usa20100", stex_tp="ND", stk_cd="AAPL")  # the token is issued, a query goes through
    sent = len(fake.requests)

    with pytest.raises(OrderNotConfirmed) as caught:
        production.call(api_id, path, **fields)

    message = str(caught.value)
    assert "\n" not in message and "confirm=True" in message and "production" in message, message
    assert len(fake.requests) == sent and fake.orders == []


def test_confirmed_us_orders_and_exchange_reach_production_and_mock_orders_need_no_confirm(fake, production):
    production.call("ust20000", confirm=True, **BUY)
    production.call("ust31302", confirm=True, **EXCHANGE)
    with Client(*MOCK, mock=True, base_url=fake.mock_url, pace=None) as mock:
        mock.call("ust20000", **BUY)

    got = [(order.api_id, order.environment, order.path) for order in fake.orders]
    assert got == [("ust20000", "production", "/api/us/ordr"), ("ust31302", "production", "/api/us/exchange"),
                   ("ust20000", "mock", "/api/us/ordr")], got
    assert fake.orders[0].body == BUY


def test_a_us_daily_chart_is_a_frame_of_decimal_prices(production):
    chart = production.frame("usa06012", pages=1, stex_tp="ND", stk_cd="AAPL", strt_dt="20261201", upd_stkpc_tp="1")

    assert len(chart) > 0 and str(chart["cur_prc"].dtype) == "float64", chart.dtypes
    assert (chart["cur_prc"] > 0).all() and str(chart["dt"].dtype).startswith("datetime64")
    assert chart.attrs["labels"]["cur_prc"] == "현재가(종가)"
    korean = production.frame("usa06012", pages=1, stex_tp="ND", stk_cd="AAPL", labels="ko")
    assert "현재가(종가)" in korean.columns and "cur_prc" not in korean.columns


def test_the_magic_calls_us_trs_and_guards_their_orders(fake, start_kernel):
    kernel = logged_in(start_kernel)
    shown = kernel.ok("df = %kiwoom usa06012 stex_tp=ND stk_cd=AAPL strt_dt=20261201 upd_stkpc_tp=1\n"
                      "print(len(df) > 0, df['cur_prc'].dtype, df.attrs['labels']['cur_prc'])").stdout
    assert shown.splitlines()[-1] == "True float64 현재가(종가)", shown
    [quote] = kernel.ok("%kiwoom usa20100 stex_tp=ND stk_cd=AAPL").data()
    assert any(line.split()[:2] == ["cur_prc", "현재가"] for line in quote.splitlines()), quote  # down the page

    refused = one_line_error(kernel.run("%kiwoom ust20000 stex_tp=ND stk_cd=AAPL ord_qty=1 ord_uv=185.25 trde_tp=00"))
    assert "--confirm" in refused and "production" in refused, refused
    assert [r for r in fake.requests if r.path.startswith("/api/us/ordr")] == [] and fake.orders == []
