"""Bad input gets one line, nothing sent (issue 28, item 7): api-ids, stock codes, typed options, dates in TR fields,
watch() items; and the fake refuses to register what it cannot know. What counts is what the fake received."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from support import CANARY

from kiwoom_nb import Client, KiwoomError
from kiwoom_nb.live._stream import Stream

pd = pytest.importorskip("pandas")

KEYS = CANARY["production"]


def one_line(caught) -> str:
    text = str(caught.value)
    assert isinstance(caught.value, KiwoomError) and "\n" not in text and text
    return text


@pytest.fixture
def api(fake):
    with Client(*KEYS, transport=fake.transport, pace=None) as client:
        yield client


def tr_requests(fake) -> list:
    return [r for r in fake.requests if r.path.startswith("/api/")]


# -- api-ids -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_id", ["ka10001한", "카10001", 10001, None, b"ka10001", ""])
def test_an_api_id_that_is_not_an_ascii_name_gets_one_line(api, fake, api_id):
    for call in (lambda: api.call(api_id, stk_cd="005930"), lambda: api.frame(api_id, stk_cd="005930"),
                 lambda: api.preview(api_id, stk_cd="005930")):
        with pytest.raises(KiwoomError) as caught:
            call()
        assert "api_id=" in one_line(caught) and "ka10001" in str(caught.value)
    assert fake.requests == []


# -- stock codes ---------------------------------------------------------------------------------------------


def test_an_int_code_in_a_tr_field_gets_one_line(api, fake):
    with pytest.raises(KiwoomError) as caught:
        api.call("ka10001", stk_cd=5930)
    assert "stk_cd=5930" in one_line(caught) and "'005930'" in str(caught.value)
    assert fake.requests == []


@pytest.mark.parametrize("code", ["0059300", "5930", "0059300_NX"])
def test_a_number_that_is_no_krx_code_in_a_tr_field_gets_one_line(api, fake, code):
    with pytest.raises(KiwoomError) as caught:
        api.call("ka10001", stk_cd=code)
    assert "KRX code" in one_line(caught)
    assert fake.requests == []  # neither sent nor looked up in the stock list


@pytest.mark.parametrize("code", ["005930", "0106J0", "005930_NX", "005930_AL"])
def test_krx_codes_in_every_form_are_sent_as_written(api, fake, code):
    api.call("ka10001", stk_cd=code)
    assert tr_requests(fake)[-1].body["stk_cd"] == code


@pytest.mark.parametrize("codes", [5930, None, [5930], ["005930", None], ["0059300"], [""]])
def test_candles_of_a_malformed_code_get_one_line(api, fake, codes):
    with pytest.raises(KiwoomError) as caught:
        api.candles(codes)
    assert "codes=" in one_line(caught)
    assert fake.requests == []


# -- typed options -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{"timeout": "10"}, {"timeout": None}, {"timeout": -1}, {"pace": "5"},
                                     {"mock": "yes"}, {"refresh_margin": "600"}, {"base_url": 8080}],
                         ids=lambda options: next(iter(options)))
def test_wrongly_typed_client_options_get_one_line(fake, options):
    with pytest.raises(KiwoomError) as caught:
        Client(*KEYS, transport=fake.transport, **options).call("ka10001", stk_cd="005930")
    assert f"{next(iter(options))}=" in one_line(caught)
    assert fake.requests == []


@pytest.mark.parametrize("options", [{"timeout": "10"}, {"buffer": "100"}, {"buffer": 0}, {"silence": "120"},
                                     {"mock": 1}, {"ws_url": 10000}], ids=lambda options: next(iter(options)))
def test_wrongly_typed_stream_options_get_one_line(fake, options):
    with pytest.raises(KiwoomError) as caught:
        Stream(*KEYS, base_url=fake.url, **{"ws_url": fake.ws_url, **options})
    assert f"{next(iter(options))}=" in one_line(caught)
    assert fake.requests == [] and fake.ws.received() == []


@pytest.mark.parametrize("call", [
    lambda api: api.call("ka10001", confirm="yes", stk_cd="005930"),
    lambda api: api.call("ka10001", check="no", stk_cd="005930"),
    lambda api: api.frame("ka10001", pages="all", stk_cd="005930"),
    lambda api: list(api.pages("ka10001", max_pages=1.5, stk_cd="005930")),
    lambda api: api.candles("005930", interval=5),
    lambda api: api.candles("005930", adjusted="no"),
], ids=["confirm", "check", "pages", "max_pages", "interval", "adjusted"])
def test_wrongly_typed_call_options_get_one_line(api, fake, call):
    with pytest.raises(KiwoomError) as caught:
        call(api)
    one_line(caught)
    assert fake.requests == []


# -- numbers past any sense: inf, nan, huge (issue 28's review, item 3) ----------------------------------------

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("options", [{"refresh_margin": INF}, {"refresh_margin": NAN}, {"refresh_margin": 10 ** 9},
                                     {"refresh_margin": 86_400}, {"pace": INF}, {"pace": 10 ** 9}, {"timeout": INF},
                                     {"timeout": 10 ** 400}],
                         ids=lambda options: f"{next(iter(options))}={next(iter(options.values()))}")
def test_client_options_past_any_sense_get_one_line_and_nothing_is_sent(fake, options):
    """refresh_margin=inf passed the check and then made every call fail with a raw OverflowError."""
    with pytest.raises(KiwoomError) as caught:
        Client(*KEYS, transport=fake.transport, **options).call("ka10001", stk_cd="005930")
    name = next(iter(options))
    assert f"{name}=" in one_line(caught) and "at most" in str(caught.value)
    assert fake.requests == []


@pytest.mark.parametrize("options", [{"buffer": 10 ** 30}, {"buffer": 10 ** 400}, {"silence": INF}, {"silence": NAN}, {"timeout": NAN}],
                         ids=lambda options: f"{next(iter(options))}={next(iter(options.values()))}")
def test_stream_options_past_any_sense_get_one_line_and_nothing_is_sent(fake, options):
    with pytest.raises(KiwoomError) as caught:
        Stream(*KEYS, base_url=fake.url, **{"ws_url": fake.ws_url, **options})
    assert f"{next(iter(options))}=" in one_line(caught)
    assert fake.requests == [] and fake.ws.received() == []


@pytest.mark.parametrize("call", [
    lambda api: api.frame("ka10081", pages=10 ** 30, stk_cd="005930", base_dt="20261201", upd_stkpc_tp="1"),
    lambda api: list(api.pages("ka10081", max_pages=10 ** 30, stk_cd="005930", base_dt="20261201", upd_stkpc_tp="1")),
], ids=["pages", "max_pages"])
def test_page_counts_past_any_sense_get_one_line(api, fake, call):
    with pytest.raises(KiwoomError) as caught:
        call(api)
    one_line(caught)
    assert tr_requests(fake) == []


def test_a_sensible_margin_and_pace_still_work_and_the_token_is_kept(fake):
    with Client(*KEYS, transport=fake.transport, refresh_margin=3600, pace=100) as api:
        api.call("ka10001", stk_cd="005930")
        api.call("ka10001", stk_cd="005930")
    assert len(fake.issues) == 1


# -- dates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [date(2024, 1, 2), datetime(2024, 1, 2, 15, 30), pd.Timestamp("2024-01-02"),
                                   "2024-01-02", "20240102", 20240102],
                         ids=["date", "datetime", "Timestamp", "iso", "yyyymmdd", "int"])
def test_a_date_field_takes_dates_and_sends_yyyymmdd(api, fake, value):
    api.call("ka10081", stk_cd="005930", base_dt=value, upd_stkpc_tp="1")
    assert tr_requests(fake)[-1].body["base_dt"] == "20240102"


@pytest.mark.parametrize("value", ["2024/01/02", "2024-1-2", "20241302", "yesterday", "202401", 2024.0,
                                   pd.NaT, [2024, 1, 2]])
def test_anything_else_in_a_date_field_gets_one_line_naming_the_field_and_the_format(api, fake, value):
    with pytest.raises(KiwoomError) as caught:
        api.call("ka10081", stk_cd="005930", base_dt=value, upd_stkpc_tp="1")
    text = one_line(caught)
    assert "base_dt=" in text and "YYYYMMDD" in text
    assert fake.requests == []


# -- watch() -------------------------------------------------------------------------------------------------


@pytest.fixture
def live(fake):
    stream = Stream(*KEYS, base_url=fake.url, ws_url=fake.ws_url)
    yield stream
    stream.close()


def regs(fake) -> list:
    return [f.data for f in fake.ws.received("REG")]


@pytest.mark.parametrize("items", [5930, None, "0059300", "", [None], ["005930", 660], ["0059300"], [""]],
                         ids=repr)
def test_watch_of_a_malformed_code_gets_one_line_and_registers_nothing(live, fake, items):
    with pytest.raises(KiwoomError) as caught:
        live.watch(items, "0B")
    assert "items=" in one_line(caught)
    assert regs(fake) == [] and tr_requests(fake) == []


def test_watch_resolves_a_name_as_tr_calls_do(live, fake):
    live.watch("삼성전자", "0B")
    live.watch(["SK하이닉스", "0106J0"], "0B")
    assert [r["data"][0]["item"] for r in regs(fake)] == [["005930"], ["000660", "0106J0"]]


def test_watch_with_a_type_that_is_not_a_string_gets_one_line(live, fake):
    with pytest.raises(KiwoomError) as caught:
        live.watch("005930", 0)
    assert "type=" in one_line(caught) and regs(fake) == []


def test_sector_gold_and_market_wide_types_keep_their_items(live, fake):
    live.watch(["001"], "0J")
    live.watch(["MGD"], "0I")
    live.watch([""], "0s")
    assert [r["data"][0]["item"] for r in regs(fake)] == [["001"], ["MGD"], [""]]


# -- the fake refuses what it cannot know --------------------------------------------------------------------


@pytest.mark.parametrize("item", ["삼성전자", "0059300", None, 5930])
def test_the_fake_refuses_to_register_what_it_cannot_know(fake, item):
    from websockets.sync.client import connect

    from kiwoom_nb import issue_token

    token = issue_token(*KEYS, base_url=fake.url)
    with connect(fake.ws_url) as ws:
        ws.send(json.dumps({"trnm": "LOGIN", "token": str(token)}))
        assert json.loads(ws.recv(5))["return_code"] == 0
        for items, expected in (([item], 1), (["005930"], 0)):
            ws.send(json.dumps({"trnm": "REG", "grp_no": "1", "refresh": "1",
                                "data": [{"item": items, "type": ["0B"]}]}))
            answer = json.loads(ws.recv(5))
            while answer.get("trnm") != "REG":
                answer = json.loads(ws.recv(5))
            assert answer["return_code"] == expected


def test_watch_on_a_us_stream_resolves_a_us_name(fake):
    stream = Stream(*KEYS, base_url=fake.url, ws_url=fake.ws_url.replace("/api/dostk/websocket", ""), market="us")
    try:
        stream.watch("애플", "FE")
        with pytest.raises(KiwoomError) as caught:
            stream.watch(["AAPL", None], "FE")
        assert "items=None" in one_line(caught)
    finally:
        stream.close()
    assert [r["data"][0]["item"] for r in regs(fake)] == [["AAPL"]]


@pytest.mark.parametrize("timeout", ["10", None, 0])
def test_issue_and_revoke_with_a_wrongly_typed_timeout_get_one_line(fake, timeout):
    from kiwoom_nb import issue_token, revoke_token

    for call in (lambda: issue_token(*KEYS, base_url=fake.url, timeout=timeout),
                 lambda: revoke_token(*KEYS, "token", base_url=fake.url, timeout=timeout)):
        with pytest.raises(KiwoomError) as caught:
            call()
        assert "timeout=" in one_line(caught)
    assert fake.requests == []


def test_check_false_sends_a_malformed_code_as_it_is_but_never_an_int(api, fake):
    from kiwoom_nb import UnknownStockError

    with pytest.raises(UnknownStockError):  # Kiwoom's own answer: 1902
        api.call("ka10001", stk_cd="0059300", check=False)
    assert tr_requests(fake)[-1].body["stk_cd"] == "0059300"
    with pytest.raises(KiwoomError, match="stk_cd=5930"):
        api.call("ka10001", stk_cd=5930, check=False)
    assert len(tr_requests(fake)) == 1
