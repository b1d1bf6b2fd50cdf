"""Hostile review of issues 29 and 30: odd values a server may send, and odd input a user may type. Each test is a
break seen on main: what the user or the fake server observed."""

from __future__ import annotations

import pytest

from kiwoom_nb import Client, RequestError
from kiwoom_nb.testing import FakeKiwoom
from support import CANARY

pd = pytest.importorskip("pandas")


def client_of(fake: FakeKiwoom) -> Client:
    return Client(*CANARY["production"], transport=fake.transport, pace=None)


def tr_requests(fake: FakeKiwoom) -> list:
    return [r for r in fake.requests if r.api_id and not r.api_id.startswith("au")]  # not the token, its revoke


# -- the parser: one odd value never leaves a column as text, a readable one is read ---------------------------------

@pytest.mark.parametrize("odd", ["NaN", "null", "N/A", "none"])
def test_a_word_for_no_value_in_a_number_column_is_missing_not_the_whole_column_as_text(odd):
    from kiwoom_nb.rest._frame import convert

    frame = convert(pd.DataFrame({"cur_prc": ["+100", "-200", "+300", odd], "trde_qty": ["1", "2", "3", odd]}))
    assert frame["cur_prc"].tolist()[:3] == [100, 200, 300] and frame["cur_prc"].isna().tolist()[3]
    assert frame["cur_prc_dir"].tolist() == [1, -1, 1, 0]
    assert frame["trde_qty"].tolist()[:3] == [1, 2, 3] and frame["trde_qty"].isna().tolist()[3]
    assert frame.attrs["unreadable"] == {"cur_prc": [odd], "trde_qty": [odd]}


def test_a_word_in_a_text_column_still_keeps_it_text():
    from kiwoom_nb.rest._frame import convert

    frame = convert(pd.DataFrame({"state": ["null", "정상", "NaN"]}))
    assert frame["state"].tolist() == ["null", "정상", "NaN"]


def test_a_decimal_without_its_leading_zero_is_a_number():
    from kiwoom_nb.rest._frame import convert

    frame = convert(pd.DataFrame({"flu_rt": ["+1.25", ".5", "-.75"], "cur_prc": ["+100", ".5", "-.5"]}))
    assert frame["flu_rt"].tolist() == [1.25, 0.5, -0.75]
    assert frame["cur_prc"].tolist() == [100.0, 0.5, 0.5] and frame["cur_prc_dir"].tolist() == [1, 0, -1]
    assert "unreadable" not in frame.attrs


def test_a_json_number_among_strings_is_read_with_them():
    from kiwoom_nb.rest._frame import convert

    frame = convert(pd.DataFrame({"dt": ["20260101", 20260102, None], "cur_prc": ["+100", 5, "-7"]}))
    assert frame["dt"].tolist()[:2] == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02")]
    assert frame["dt"].isna().tolist()[2]
    assert frame["cur_prc"].tolist() == [100, 5, 7] and frame["cur_prc_dir"].tolist() == [1, 0, -1]


# -- request checks: what is sent --------------------------------------------------------------------------------

@pytest.mark.parametrize("api_id,fields,blank", [
    ("ka10001", {"stk_cd": ""}, "stk_cd"),
    ("ka10001", {"stk_cd": "  "}, "stk_cd"),
    ("ka10081", {"stk_cd": "005930", "base_dt": "", "upd_stkpc_tp": "1"}, "base_dt"),
])
def test_a_blank_in_a_required_field_is_refused_and_nothing_is_sent(api_id, fields, blank):
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        with pytest.raises(RequestError) as caught:
            api.call(api_id, **fields)
    assert f"missing {blank}" in str(caught.value) and "nothing was sent" in str(caught.value)
    assert tr_requests(fake) == []


@pytest.mark.parametrize("typed", [" 005930 ", "005930\n", "\t005930"])
def test_a_code_with_spaces_around_it_is_sent_as_the_code(typed):
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        answer = api.call("ka10001", stk_cd=typed)
    assert answer["stk_cd"] == "005930"
    assert [r.body["stk_cd"] for r in tr_requests(fake)] == ["005930"]


# -- candles -------------------------------------------------------------------------------------------------------

def test_candles_of_a_code_listed_twice_fetch_it_once_and_unstack():
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        df = api.candles(["005930", "000660", "005930"], "D", start="2026-11-23", end="2026-11-27")
    assert not df.index.duplicated().any()
    assert sorted(df.unstack("code")["close"].columns) == ["000660", "005930"]
    assert [r.body["stk_cd"] for r in tr_requests(fake)] == ["005930", "000660"]
    assert df.attrs["code"] == ["005930", "000660"]


# -- stream frames -------------------------------------------------------------------------------------------------

def _events(kind: str, values: list[dict]) -> list:
    from datetime import datetime, timezone

    from kiwoom_nb.live._stream import Event

    return [Event(kind, "005930", v, datetime.now(timezone.utc)) for v in values]


def test_a_huge_stream_number_beside_a_double_sign_stays_huge_not_wrapped_to_a_negative():
    from kiwoom_nb.live._stream_frame import events_frame

    out = events_frame("0B", _events("0B", [{"13": "99999999999999999999999"}, {"13": "--1"}]))
    # the last digit of a float this large depends on the pandas / numpy that parsed it (make test-min's lowest
    # versions give 1.0000000000000001e+23): the point is huge and positive, not wrapped round to -2**63
    assert out["acc_trde_qty"].tolist() == pytest.approx([1e23, -1.0])


def test_an_unreadable_stream_price_has_no_direction_and_inf_is_no_price():
    from kiwoom_nb.live._stream_frame import events_frame

    sent = ["+100", "--", "-", "inf", "--2", "+101", "-99", "100"]
    out = events_frame("0B", _events("0B", [{"10": v} for v in sent]))
    assert out["cur_prc"].isna().tolist() == [False, True, True, True, False, False, False, False]
    assert out["cur_prc"].dropna().tolist() == [100, 2, 101, 99, 100]
    assert out["cur_prc_dir"].tolist() == [1, 0, 0, 0, -1, 1, -1, 0]  # as the TR frames: an unreadable value has none


@pytest.mark.parametrize("interval", ["1ms", "ms"])
def test_milliseconds_are_refused_not_read_as_months(interval):
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        with pytest.raises(RequestError, match=f"interval='{interval}': use one of"):
            api.candles("005930", interval)
        assert api.candles("005930", "1MS", start="2026-10-01", end="2026-11-30").attrs["api_id"] == "ka10083"
    assert [r.api_id for r in tr_requests(fake)] == ["ka10083"]  # the refused call sent nothing


def test_a_moment_with_a_time_zone_picks_the_exchanges_day_whatever_zone_it_is_written_in():
    fake = FakeKiwoom(keys=dict(CANARY))
    korea = (pd.Timestamp("2026-12-01 01:00", tz="Asia/Seoul"), pd.Timestamp("2026-12-01 16:00", tz="Asia/Seoul"))
    with client_of(fake) as api:
        seoul = api.candles("005930", "D", start=korea[0], end=korea[1])
        utc = api.candles("005930", "D", start=korea[0].tz_convert("UTC"), end=korea[1].tz_convert("UTC"))
        york = api.candles("005930", "D", start=korea[0].tz_convert("America/New_York"),
                           end=korea[1].tz_convert("America/New_York"))
    assert seoul.index.tolist() == utc.index.tolist() == york.index.tolist() == [pd.Timestamp("2026-12-01")]
    assert {r.body["base_dt"] for r in tr_requests(fake)} == {"20261201"}


def test_a_chart_with_no_rows_up_to_the_end_says_its_history_starts_later(capsys):
    from test_real_answers import Kiwoom

    empty = {"stk_cd": "005930", "stk_dt_pole_chart_qry": [], "return_code": 0, "return_msg": "정상적으로 처리되었습니다"}
    kiwoom = Kiwoom({"ka10081": empty})
    with kiwoom.client() as api:
        df = api.candles("005930", "D", start="1990-01-01", end="1990-01-05")
    assert df.empty and len(kiwoom.sent) == 1
    assert capsys.readouterr().err == "005930: no candles up to 1990-01-05 on this server; its history starts later\n"


def test_a_field_given_twice_on_a_kiwoom_line_is_refused_not_the_last_taken():
    from kiwoom_nb import KiwoomError
    from kiwoom_nb.notebook._tr_magic import parse_tr_line

    with pytest.raises(KiwoomError, match=r"^%kiwoom: stk_cd is given twice \('005930' and '000660'\); keep one$"):
        parse_tr_line("ka10001 stk_cd=005930 stk_cd=000660")
    assert parse_tr_line("ka10001 stk_cd=005930 stk_cd=005930")["fields"] == {"stk_cd": "005930"}


def test_candles_of_a_name_are_keyed_and_recorded_by_the_code_sent():
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        one = api.candles("삼성전자", "D", start="2026-11-30", end="2026-11-30", store=False)  # each one sent
        several = api.candles(["삼성전자", "000660", "005930"], "D", start="2026-11-30", end="2026-11-30", store=False)
    assert one.attrs["code"] == "005930" and one.attrs["request"]["stk_cd"] == "005930"
    assert list(several.index.unique("code")) == ["005930", "000660"] and several.attrs["code"] == ["005930", "000660"]
    assert several.attrs["request"]["005930"]["stk_cd"] == "005930"
    assert [r.body["stk_cd"] for r in tr_requests(fake) if r.api_id == "ka10081"] == ["005930", "005930", "000660"]


# -- the fake's command line -------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv,said", [
    (["--port", "{busy}", "--ws-port", "{busy}"], "--port and --ws-port are both {busy}"),
    (["--ws-port", "70000"], "argument --ws-port: '70000' is not a port"),
])
def test_the_fake_refuses_ports_it_cannot_use_in_one_line(argv, said, capsys):
    from kiwoom_nb.testing._cli import run

    busy = "18000"
    with pytest.raises(SystemExit) as ended:
        run([a.format(busy=busy) for a in argv])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and said.format(busy=busy) in err and "Traceback" not in err


def test_the_fake_on_a_port_in_use_says_so_in_one_line(capsys):
    import socket

    from kiwoom_nb.testing._cli import run

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(["--quiet", "--port", "0", "--ws-port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m kiwoom_nb.testing: cannot listen on 127.0.0.1 (") and err.count("\n") == 1


# -- boards --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sent,shown", [("+-0.34", "−0.34 %"), ("--0.34", "−0.34 %"), ("++0.34", "+0.34 %"),
                                        ("-+0.34", "+0.34 %"), ("+0.34", "+0.34 %"), ("-0.00", "0.00 %")])
def test_the_boards_rate_shows_the_values_own_sign_after_a_double_sign(sent, shown):
    pytest.importorskip("ipywidgets")
    from kiwoom_nb.live._boards import _rate  # the boards' data side (issue 31)

    assert _rate(sent, 1) == shown


# -- describe ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("api_id,fields", [
    ("ka10080", {"stk_cd": "005930", "tic_scope": "1", "upd_stkpc_tp": "1"}),
    ("ka10099", {"mrkt_tp": "0"}),
])
def test_describe_lists_every_column_the_frame_has(api_id, fields):
    import kiwoom_nb

    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        got = set(api.frame(api_id, **fields).columns)
    listed = {name for name, _ in kiwoom_nb.describe(api_id).columns}
    added = {c for c in got if c.endswith("_dir") or c == "code"}  # the parser's own columns beside Kiwoom's
    assert got - added <= listed, got - added - listed


# -- paging against a server that repeats itself -------------------------------------------------------------------

def test_a_next_key_answered_for_the_page_asked_with_it_stops_paging_with_a_warning(caplog):
    import httpx

    from test_real_answers import KEYS

    asked = []
    rows = [{"dt": f"202611{d:02d}", "cur_prc": "100", "open_pric": "100", "high_pric": "100", "low_pric": "100",
             "trde_qty": "1", "trde_prica": "1"} for d in range(30, 0, -1)]

    def kiwoom(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/oauth2"):
            return httpx.Response(200, json={"token": "REVIEW-TOKEN-0123456789abcdef", "token_type": "bearer",
                                             "expires_dt": "20991231235959", "return_code": 0, "return_msg": "ok"})
        asked.append(request.headers.get("next-key", ""))
        more = "Y" if len(asked) < 10 else "N"  # a bound for the old code, which followed it for ever
        return httpx.Response(200, json={"stk_cd": "005930", "stk_dt_pole_chart_qry": rows, "return_code": 0},
                              headers={"api-id": "ka10081", "cont-yn": more, "next-key": "SAME"})

    with Client(*KEYS, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(kiwoom), pace=None) as api:
        with caplog.at_level("WARNING", logger="kiwoom_nb"):
            frame = api.frame("ka10081", stk_cd="005930", base_dt="20261130", upd_stkpc_tp="1")
    assert asked == ["", "SAME"] and len(frame) == 60
    assert "ka10081 answered next-key 'SAME' for the page asked with it; stopped after 2 pages" in caplog.text


def test_candles_stop_when_a_page_brings_nothing_older(caplog):
    import httpx

    from test_real_answers import KEYS

    asked = []
    rows = [{"dt": f"202611{d:02d}", "cur_prc": "100", "open_pric": "100", "high_pric": "100", "low_pric": "100",
             "trde_qty": "1", "trde_prica": "1"} for d in range(30, 0, -1)]

    def kiwoom(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/oauth2"):
            return httpx.Response(200, json={"token": "REVIEW-TOKEN-0123456789abcdef", "token_type": "bearer",
                                             "expires_dt": "20991231235959", "return_code": 0, "return_msg": "ok"})
        asked.append(request.headers.get("next-key", ""))
        more = "Y" if len(asked) < 10 else "N"  # a bound for the old code, which followed it for ever
        return httpx.Response(200, json={"stk_cd": "005930", "stk_dt_pole_chart_qry": rows, "return_code": 0},
                              headers={"api-id": "ka10081", "cont-yn": more, "next-key": f"KEY{len(asked)}"})

    with Client(*KEYS, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(kiwoom), pace=None) as api:
        with caplog.at_level("WARNING", logger="kiwoom_nb"):
            api.candles("005930", "D", start="2020-01-01", end="2026-11-30")
    assert asked == ["", "KEY1"]
    assert "ka10081 page 2 of 005930 brought nothing older than 2026-11-01; stopped" in caplog.text


# -- watch ---------------------------------------------------------------------------------------------------------

def test_watch_registers_a_stock_named_twice_once(fake):
    from kiwoom_nb.live._stream import Stream

    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
    try:
        live.watch(["005930", "삼성전자", " 005930 ", "000660"], "0B")  # returns once Kiwoom acked the REG
    finally:
        live.close()
    assert [d["item"] for f in fake.ws.received("REG") for d in f.data["data"]] == [["005930", "000660"]]
