"""Names and codes (issue 21, item 3): the day's stock lists cached in the user's cache directory, code("삼성전자"),
names in stk_cd, and a joinable 6-digit code column beside the A005930 of account TRs. Against the fake Kiwoom."""

from __future__ import annotations

import json
import os
import stat

import pytest
from support import CANARY, in_threads, logged_in

from kiwoom_nb import Client, KiwoomError, UnknownStockError, _codes

KEYS, MOCK_KEYS = CANARY["production"], CANARY["mock"]


@pytest.fixture
def api(fake):
    with Client(*KEYS, transport=fake.transport, pace=None) as client:
        yield client


def lists(fake, api_id=None):
    """The stock-list requests the fake received (ka10099, usa10099), as (api-id, body)."""
    return [(r.api_id, r.body) for r in fake.requests
            if r.api_id in ("ka10099", "usa10099") and (api_id is None or r.api_id == api_id)]


def sent(fake, api_id):
    return [r.body for r in fake.requests if r.api_id == api_id]


def as_a_new_process():
    _codes._memory.clear()  # what a new process lacks: the lists it read today; the files stay


# -- code(name) and the day's cache ---------------------------------------------------------------------------------

def test_code_of_a_name_asks_for_the_lists_once_a_day(fake, api):
    assert api.code("삼성전자") == "005930"
    assert lists(fake) == [("ka10099", {"mrkt_tp": "0"}), ("ka10099", {"mrkt_tp": "10"})]

    assert api.code("삼성전자") == "005930" and api.code("에코프로") == "086520" and api.code("naver") == "035420"
    assert api.code("005930") == "005930"  # a code is its own answer
    assert len(lists(fake)) == 2  # the second call made no request

    as_a_new_process()
    with Client(*KEYS, transport=fake.transport, pace=None) as later:  # a fresh client, the same Korea day
        assert later.code("SK하이닉스") == "000660"
    assert len(lists(fake)) == 2  # read from the file


def test_the_next_korea_day_fetches_the_lists_again(fake, api, monkeypatch):
    monkeypatch.setattr(_codes, "today", lambda: "20261201")
    assert api.code("삼성전자") == "005930"
    monkeypatch.setattr(_codes, "today", lambda: "20261202")
    assert api.code("삼성전자") == "005930"
    as_a_new_process()
    assert api.code("삼성전자") == "005930"

    assert len(lists(fake)) == 4  # two per day, whatever the process


def test_today_is_the_korea_date():
    from datetime import datetime, timedelta, timezone

    korea = datetime.now(timezone.utc) + timedelta(hours=9)
    assert _codes.today() in (korea.strftime("%Y%m%d"), (korea + timedelta(seconds=5)).strftime("%Y%m%d"))


def test_the_cache_files_are_the_user_s_own_and_hold_no_secret(fake, api, tmp_path):
    api.codes()
    api.codes("us")

    folder = tmp_path / "cache" / "kiwoom_nb" / "codes"  # platformdirs' user cache dir (XDG_CACHE_HOME, conftest)
    files = sorted(folder.iterdir())
    assert [f.name.rsplit("-", 1)[-1] for f in files] == ["kosdaq.json", "kospi.json", "us.json"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    secrets = (*KEYS, *(t.value for t in fake.tokens))
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        text = file.read_text(encoding="utf-8")
        assert not [s for s in secrets if s in text]
        assert json.loads(text)["date"] == _codes.today()


@pytest.mark.parametrize("content", ["{not json", '{"date": "19990101", "market": "kospi", "rows": []}',
                                     '{"rows": 3}', ""])
def test_a_corrupt_or_stale_cache_file_is_fetched_again_never_an_error(fake, api, content):
    api.code("삼성전자")
    path = _codes._path(api, "kospi")
    path.write_text(content, encoding="utf-8")
    as_a_new_process()

    assert api.code("삼성전자") == "005930"
    assert [body for _, body in lists(fake)][2:] == [{"mrkt_tp": "0"}]  # only the broken one again
    assert json.loads(path.read_text(encoding="utf-8"))["date"] == _codes.today()


def test_production_and_mock_keep_separate_lists(fake, api):
    api.code("삼성전자")
    with Client(*MOCK_KEYS, mock=True, transport=fake.transport, pace=None) as mock:
        assert mock.code("삼성전자") == "005930"

    assert [r.environment for r in fake.requests if r.api_id == "ka10099"] == ["production"] * 2 + ["mock"] * 2
    assert _codes._path(api, "kospi") != _codes._path(mock, "kospi")


def test_an_unknown_name_is_one_line_with_the_closest_names(fake, api):
    with pytest.raises(UnknownStockError) as caught:
        api.code("삼성전자우선")
    assert str(caught.value) == ("no stock named '삼성전자우선': closest 삼성전자우 (005935), 삼성전자 (005930); "
                                 "pass the code or the exact name")

    with pytest.raises(UnknownStockError, match="no stock named 'xyzzy'; kiwoom_nb.codes"):
        api.code("xyzzy")


def test_an_ambiguous_name_is_one_line_naming_each(fake, api):
    path = _codes._path(api, "kospi")  # a day's list where two stocks share a name
    rows = [{"code": "111110", "name": "같은이름", "market": "kospi"}, {"code": "222220", "name": "같은이름",
                                                                    "market": "kospi"}]
    _codes._write(path, {"date": _codes.today(), "market": "kospi", "rows": rows})

    with pytest.raises(UnknownStockError) as caught:
        api.call("ka10001", stk_cd="같은이름")

    assert str(caught.value) == "'같은이름' names 2 stocks: 같은이름 (111110), 같은이름 (222220); pass the code"
    assert sent(fake, "ka10001") == []


def test_us_names_tickers_and_english_names(fake, api):
    assert api.code("애플", market="us") == "AAPL"
    assert api.code("aapl", market="us") == "AAPL" and api.code("Coca-Cola Co", market="us") == "KO"
    assert lists(fake) == [("usa10099", {"stex_tp": "%"})]
    with pytest.raises(UnknownStockError, match="no US stock named '애플컴퓨터': closest 애플 \\(AAPL\\)"):
        api.code("애플컴퓨터", market="us")


def test_codes_is_a_frame_and_the_us_one_has_the_exchange_code(fake, api):
    domestic = api.codes()
    assert list(domestic.columns) == ["code", "name", "market"]
    assert set(domestic["market"]) == {"kospi", "kosdaq"}
    assert domestic.set_index("code").loc["005930", "name"] == "삼성전자"
    assert list(api.codes("kosdaq")["market"].unique()) == ["kosdaq"]

    us = api.codes(market="US").set_index("code")
    assert {"stex_tp", "name_en"} <= set(us.columns)
    assert (us.loc["AAPL", "stex_tp"], us.loc["KO", "stex_tp"], us.loc["SPY", "stex_tp"]) == ("ND", "NY", "NA")
    with pytest.raises(KiwoomError, match="market='nyse'"):
        api.codes("nyse")


def test_codes_does_not_replace_what_last_holds(fake, api):
    api.call("ka10001", stk_cd="005930")
    api.codes()
    assert [a.api_id for a in api.last] == ["ka10001"]


# -- names in stk_cd ------------------------------------------------------------------------------------------------

def test_a_name_in_stk_cd_is_sent_as_its_code(fake, api):
    assert api.call("ka10001", stk_cd="삼성전자")["stk_nm"] == "삼성전자"
    frame = api.frame("ka10081", stk_cd="NAVER", base_dt="20261201", upd_stkpc_tp="1", pages=1)
    api.call("usa20100", stex_tp="ND", stk_cd="애플")

    assert sent(fake, "ka10001") == [{"stk_cd": "005930"}]
    assert sent(fake, "ka10081")[0]["stk_cd"] == "035420" and len(frame) > 0
    assert sent(fake, "usa20100") == [{"stex_tp": "ND", "stk_cd": "AAPL"}]


def test_a_code_in_stk_cd_is_sent_without_a_lookup(fake, api):
    for code in ("005930", "005930_NX", "00088K"):
        api.call("ka10001", stk_cd=code)
    with pytest.raises(UnknownStockError, match="종목코드=A005930"):  # sent as written: Kiwoom judges it
        api.call("ka10001", stk_cd="A005930")
    api.call("usa20100", stex_tp="ND", stk_cd="BRK.B")

    assert lists(fake) == []
    assert [b["stk_cd"] for b in sent(fake, "ka10001")] == ["005930", "005930_NX", "00088K", "A005930"]


def test_an_unknown_name_in_stk_cd_sends_nothing(fake, api):
    with pytest.raises(UnknownStockError) as caught:
        api.frame("ka10001", stk_cd="삼성전자우선")

    assert "\n" not in str(caught.value) and "closest 삼성전자우 (005935)" in str(caught.value)
    assert sent(fake, "ka10001") == []


# -- threads --------------------------------------------------------------------------------------------------------

def test_threads_asking_for_codes_at_once_share_one_fetch_and_one_whole_file(fake, api):
    results, errors = in_threads(lambda: api.codes()["code"].tolist(), [()] * 6)

    assert errors == [] and len(results) == 6 and all(r == results[0] for r in results)
    assert len(lists(fake)) == 2
    folder = _codes._path(api, "kospi").parent
    assert sorted(p.name.rsplit("-", 1)[-1] for p in folder.iterdir()) == ["kosdaq.json", "kospi.json"]  # no temp


def test_writers_in_threads_leave_one_whole_file(tmp_path):
    path = tmp_path / "codes" / "production-kospi.json"
    versions = [{"date": "20261201", "market": "kospi", "rows": [{"code": f"{i:06d}", "name": "x" * 5000}] * 50}
                for i in range(8)]

    def write(data):
        for _ in range(20):
            _codes._write(path, data)

    assert in_threads(write, [(v,) for v in versions])[1] == []

    assert json.loads(path.read_text(encoding="utf-8")) in versions
    assert os.listdir(path.parent) == [path.name] and stat.S_IMODE(path.stat().st_mode) == 0o600


# -- account frames get a joinable code ------------------------------------------------------------------------------

def test_an_account_frame_gets_a_six_digit_code_that_joins(fake, api):
    holdings = api.frame("kt00018", qry_tp="1", dmst_stex_tp="KRX")
    assert holdings["stk_cd"].tolist() == ["A005930", "A000660"]  # as Kiwoom sent it
    assert holdings["code"].tolist() == ["005930", "000660"]
    assert list(holdings.columns).index("code") == list(holdings.columns).index("stk_cd") + 1

    import pandas as pd

    closes = pd.concat([api.frame("ka10081", stk_cd=code, base_dt="20261201", upd_stkpc_tp="1", pages=1)
                        .head(1).assign(code=code) for code in ("005930", "000660")])  # like candles of each
    joined = holdings.merge(closes[["code", "cur_prc"]], on="code", suffixes=("", "_close"))
    assert joined["code"].tolist() == ["005930", "000660"] and (joined["cur_prc_close"] > 0).all()
    quote = api.frame("ka10001", stk_cd="005930")
    assert "code" not in quote.columns  # a plain 005930 needs no second column


# -- in a notebook --------------------------------------------------------------------------------------------------

@pytest.mark.kernel
def test_module_level_code_and_names_in_the_magic_use_the_login(start_kernel, fake):
    kernel = logged_in(start_kernel)
    shown = kernel.ok("import kiwoom_nb\n"
                      "print(kiwoom_nb.code('삼성전자'), kiwoom_nb.code('테슬라', market='us'), "
                      "len(kiwoom_nb.codes()), kiwoom_nb.codes('us').set_index('code').loc['KO', 'stex_tp'])").stdout
    assert shown.split() == ["005930", "TSLA", "15", "NY"], shown
    kernel.ok("df = %kiwoom ka10001 stk_cd=SK하이닉스")

    assert [r.body for r in fake.requests if r.api_id == "ka10001"] == [{"stk_cd": "000660"}]
    assert len([r for r in fake.requests if r.api_id == "ka10099"]) == 2
