"""Orders previewed (issue 21, item 5): an unconfirmed production order is refused with what would have been sent
(side, quantity, code and name, price or market, environment), and api.preview() says the same without sending."""

from __future__ import annotations

import pytest
from support import CANARY, logged_in
from test_codes import api  # noqa: F401 - the same fixture: a client on the fake (caches: tests/conftest.py)
from test_tr_kernel import one_line_error

from kiwoom_nb import Client, OrderNotConfirmed

KEYS, MOCK_KEYS = CANARY["production"], CANARY["mock"]
TO_PLACE = "production (api.kiwoom.com) — pass confirm=True (--confirm on %kiwoom) to place it"
BUY = dict(dmst_stex_tp="KRX", stk_cd="005930", ord_qty="10", ord_uv="160400", trde_tp="0")
US_BUY = dict(stex_tp="ND", stk_cd="AAPL", ord_qty="3", ord_uv="185.25", trde_tp="00")




def refusal(api, api_id, **fields):
    with pytest.raises(OrderNotConfirmed) as caught:
        api.call(api_id, **fields)
    return str(caught.value)


def trs(fake):
    return [r for r in fake.requests if r.path.startswith("/api/")]


@pytest.mark.parametrize(("api_id", "fields", "line"), [
    ("kt10000", BUY, "BUY 10 × 005930 삼성전자 @ 160,400 (limit)"),
    ("kt10001", dict(BUY, ord_uv="", trde_tp="3", ord_qty="1200"), "SELL 1,200 × 005930 삼성전자 at market"),
    ("kt10001", dict(BUY, dmst_stex_tp="NXT", trde_tp="13"), "SELL 10 × 005930 삼성전자 at market (시장가(IOC)) on NXT"),
    ("kt10000", dict(BUY, trde_tp="5", cond_uv="158000"),
     "BUY 10 × 005930 삼성전자 @ 160,400 (조건부지정가), condition 158,000"),
    ("kt10006", BUY, "BUY (credit) 10 × 005930 삼성전자 @ 160,400 (limit)"),
    ("kt10002", dict(dmst_stex_tp="KRX", orig_ord_no="0000140", stk_cd="005930", mdfy_qty="5", mdfy_uv="161000"),
     "MODIFY order 0000140: 5 × 005930 삼성전자 @ 161,000"),
    ("kt10003", dict(dmst_stex_tp="KRX", orig_ord_no="0000140", stk_cd="005930", cncl_qty="0"),
     "CANCEL order 0000140: 005930 삼성전자, all remaining"),
])
def test_a_domestic_order_is_refused_with_what_would_have_been_sent(fake, api, api_id, fields, line):
    api.codes()  # the day's list is at hand: the name is shown
    before = len(trs(fake))

    assert refusal(api, api_id, **fields) == f"not sent: {line}, {TO_PLACE}"
    assert len(trs(fake)) == before and fake.orders == []


def test_a_us_order_and_an_exchange_are_shown_in_dollars_and_won(fake, api):
    api.codes("us")

    assert refusal(api, "ust20000", **US_BUY) == f"not sent: BUY 3 × AAPL 애플 @ $185.25 (limit) on NASDAQ, {TO_PLACE}"
    assert refusal(api, "ust20001", **dict(US_BUY, stex_tp="NY", stk_cd="KO", ord_uv="", trde_tp="03")) == \
        f"not sent: SELL 3 × KO 코카콜라 at market on NYSE, {TO_PLACE}"
    assert refusal(api, "ust31302", exch_tp="1", fc_exmn_amt="1000000") == \
        f"not sent: EXCHANGE 1,000,000 KRW → USD, {TO_PLACE}"
    assert refusal(api, "ust31302", exch_tp="2", fc_exmn_amt="1500.5") == f"not sent: EXCHANGE $1,500.50 → KRW, {TO_PLACE}"
    assert [r.api_id for r in trs(fake)] == ["usa10099"] and fake.orders == []


def test_without_the_day_s_list_the_refusal_shows_the_code_alone_and_asks_nothing(fake, api):
    assert refusal(api, "kt10000", **BUY) == f"not sent: BUY 10 × 005930 @ 160,400 (limit), {TO_PLACE}"
    assert fake.requests == []  # no list fetched for a name, not even a token


def test_a_name_in_an_order_is_its_code_in_the_refusal(fake, api):
    assert refusal(api, "kt10000", **dict(BUY, stk_cd="삼성전자")) == \
        f"not sent: BUY 10 × 005930 삼성전자 @ 160,400 (limit), {TO_PLACE}"
    assert fake.orders == [] and [r.api_id for r in trs(fake)] == ["ka10099", "ka10099"]  # the lists, no order


def test_preview_is_the_refusal_and_sends_nothing(fake, api):
    line = api.preview("kt10000", **BUY)
    assert fake.requests == []
    assert line == refusal(api, "kt10000", **BUY) == f"not sent: BUY 10 × 005930 @ 160,400 (limit), {TO_PLACE}"

    with Client(*MOCK_KEYS, mock=True, transport=fake.transport, pace=None) as mock:
        assert mock.preview("kt10000", **BUY) == ("not sent: BUY 10 × 005930 @ 160,400 (limit), mock "
                                                   "(mockapi.kiwoom.com) — sent without confirm=True: mock orders "
                                                   "move no money")
    assert api.preview("ka10001", stk_cd="005930").startswith("not sent: ka10001 (주식기본정보요청) stk_cd=005930, production")
    assert fake.requests == [] and fake.orders == []


def test_preview_of_a_name_uses_the_cached_list_only(fake, api):
    assert "× 삼성전자 @" in api.preview("kt10000", **dict(BUY, stk_cd="삼성전자"))  # no list yet: as written
    assert fake.requests == []
    api.codes()
    assert "× 005930 삼성전자 @" in api.preview("kt10000", **dict(BUY, stk_cd="삼성전자"))


def test_a_labelled_mock_client_on_a_production_host_says_so(fake, monkeypatch):
    monkeypatch.delenv("KIWOOM_MOCK_BASE_URL", raising=False)
    api = Client(*KEYS, mock=True, base_url=fake.url, pace=None)  # nothing says yet that this is production
    api.call("ka10001", stk_cd="005930")
    monkeypatch.setenv("KIWOOM_BASE_URL", fake.url)  # now it is (as in test_safety.py)
    sent = len(fake.requests)

    line = api.preview("kt10000", **BUY)
    assert line == refusal(api, "kt10000", **BUY)
    assert line.endswith(f"production ({fake.url.split('://')[1]}, labelled mock but not a known mock server; KIWOOM_MOCK_HOSTS names one) — "
                         "pass confirm=True (--confirm on %kiwoom) to place it"), line
    assert len(fake.requests) == sent and fake.orders == []
    api.close()


def test_a_confirmed_order_is_sent_once_as_written(fake, api):
    answer = api.call("kt10000", confirm=True, **dict(BUY, stk_cd="삼성전자"))

    assert answer["ord_no"] and [order.body for order in fake.orders] == [BUY]


@pytest.mark.kernel
def test_the_magic_refuses_with_the_preview_line_and_sends_nothing(fake, start_kernel):
    kernel = logged_in(start_kernel)
    kernel.ok("import kiwoom_nb; kiwoom_nb.codes()")
    refused = one_line_error(kernel.run("%kiwoom kt10000 dmst_stex_tp=KRX stk_cd=005930 ord_qty=10 ord_uv=160400 "
                                        "trde_tp=0"))

    host = fake.url.split("://")[1]
    assert refused == (f"not sent: BUY 10 × 005930 삼성전자 @ 160,400 (limit), production ({host}) — pass confirm=True "
                       "(--confirm on %kiwoom) to place it")
    assert fake.orders == [] and [r for r in fake.requests if r.api_id == "kt10000"] == []
    shown = kernel.ok("print(kiwoom_nb.client().preview('kt10000', dmst_stex_tp='KRX', stk_cd='005930', ord_qty=10, "
                      "ord_uv=160400, trde_tp='0') == " + repr(refused) + ")").stdout
    assert shown.strip() == "True"
