"""Issue 30, item 2: candles() takes no wrong input silently. It says when it returns less than asked (the server's
history starts after ``start``), refuses a start after the end and dates that read two ways, and takes pandas' and
yfinance's interval names. Nothing is sent for a refused call."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from kiwoom_nb import Client, RequestError
from kiwoom_nb.testing import FakeKiwoom
from support import CANARY


def client_of(fake: FakeKiwoom) -> Client:
    return Client(*CANARY["production"], transport=fake.transport, pace=None)


def charts(fake: FakeKiwoom) -> list:
    return [r for r in fake.requests if r.path.endswith("/chart")]


def test_a_start_before_the_servers_history_says_where_it_starts(capsys):
    fake = FakeKiwoom(keys=dict(CANARY), page_size=100)
    with client_of(fake) as api:
        df = api.candles("005930", "D", start="2000-01-01", end="2026-12-01")
    first = df.index.min().strftime("%Y-%m-%d")
    err = capsys.readouterr().err
    assert err == f"005930: history starts {first}; nothing earlier on this server\n"
    assert df.attrs["history_starts"] == first
    assert len(charts(fake)) == df.attrs["pages"] > 1  # every page the server had was fetched


def test_a_start_the_history_reaches_says_nothing(capsys):
    fake = FakeKiwoom(keys=dict(CANARY), page_size=20)
    with client_of(fake) as api:
        df = api.candles("005930", "D", start="2026-11-01", end="2026-12-01")
    assert capsys.readouterr().err == "" and "history_starts" not in df.attrs


def test_several_stocks_record_each_ones_history(capsys):
    fake = FakeKiwoom(keys=dict(CANARY), page_size=50)
    with client_of(fake) as api:
        df = api.candles(["005930", "000660"], "W", start="1990-01-01")
    err = capsys.readouterr().err.splitlines()
    assert sorted(df.attrs["history_starts"]) == ["000660", "005930"]
    assert err == [f"{code}: history starts {df.attrs['history_starts'][code]}; nothing earlier on this server"
                   for code in ("005930", "000660")]


def test_start_after_end_is_one_error_line_and_nothing_is_sent():
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api, pytest.raises(RequestError) as refused:
        api.candles("005930", "D", start="2026-06-30", end="2026-01-01")
    assert str(refused.value) == "start=2026-06-30 is after end=2026-01-01: nothing to fetch; swap them"
    assert charts(fake) == []


@pytest.mark.parametrize("value", ["01-02-2024", "02/01/2024", "1/2/24", "Jan 2 2024", "2024", "yesterday", "2024-13-01",
                                   True, 3.5])
def test_a_date_that_reads_two_ways_or_none_is_refused(value):
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api, pytest.raises(RequestError, match="year first, like '2026-01-02'") as refused:
        api.candles("005930", "D", start=value)
    assert "\n" not in str(refused.value) and charts(fake) == []


@pytest.mark.parametrize("value", ["2026-11-02", "20261102", 20261102, "2026/11/02", "2026-11-02 09:00",
                                   "2026-11-02T09:00:00", date(2026, 11, 2), datetime(2026, 11, 2),
                                   pd.Timestamp("2026-11-02"), np.datetime64("2026-11-02")])
def test_iso_yyyymmdd_date_datetime_and_timestamp_are_taken(value):
    fake = FakeKiwoom(keys=dict(CANARY), page_size=10)
    with client_of(fake) as api:
        df = api.candles("005930", "D", start=value, end="2026-12-01")
    assert df.index.min() == pd.Timestamp("2026-11-02")


@pytest.mark.parametrize("alias, api_id, scope", [
    ("1d", "ka10081", None), ("1wk", "ka10082", None), ("1mo", "ka10083", None), ("1y", "ka10094", None),
    ("5min", "ka10080", "5"), ("1h", "ka10080", "60"), ("1min", "ka10080", "1"), ("daily", "ka10081", None),
    ("D", "ka10081", None), ("5m", "ka10080", "5"), ("5t", "ka10079", "5"), ("1M", "ka10083", None),
    ("1m", "ka10080", "1"), ("1H", "ka10080", "60")])
def test_pandas_and_yfinance_interval_names_are_taken(alias, api_id, scope):
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        df = api.candles("005930", alias)
    [sent] = charts(fake)
    assert sent.api_id == api_id and sent.body.get("tic_scope") == scope
    assert df.attrs["api_id"] == api_id


# -- issue 30, item 5: the progress bar says when it waits for pacing ---------------------------------------------

@pytest.mark.parametrize("pace, shown", [(5.0, True), (None, False)])
def test_the_progress_bar_says_when_it_waits_for_pacing(capsys, pace, shown):
    fake = FakeKiwoom(keys=dict(CANARY), page_size=20)
    with Client(*CANARY["production"], transport=fake.transport, pace=pace, progress="text") as api:
        api.candles("005930", "D", start="2026-06-01", end="2026-12-01")
        api.frame("ka10081", stk_cd="005930", base_dt="20261201", upd_stkpc_tp="1", pages=3)
    err = capsys.readouterr().err
    assert "candles ka10081" in err and "ka10081:" in err  # both bars were shown
    assert ("paced 5/s" in err) is shown, err[-400:]
    assert (err.count("paced 5/s") >= 2) is shown


def test_an_interval_that_reads_two_ways_is_refused():
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api, pytest.raises(RequestError, match="write 5min for minutes or 5t for ticks"):
        api.candles("005930", "5T")
    assert charts(fake) == []
