"""Client.candles and %kiwoom_candles against the fake Kiwoom (issue 21): the frame quants expect, exactly the pages
needed, many stocks where one failure loses nothing else, and an error that ends everything stopping at once."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from kiwoom_nb import AccessDeniedError, Client, KiwoomTimeout, RateLimitError, RequestError
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing.market._charts import rows as chart_rows
from kiwoom_nb.testing.market._shapes import OBSERVED
from support import CANARY, in_threads, logged_in

pd = pytest.importorskip("pandas")

KEYS = CANARY["production"]
CLOSED = "2026-12-01 15:40"  # the fake's clock: after the close of 2026-12-01 (the cases run back from it)
COLUMNS = ["open", "high", "low", "close", "volume"]


def client_of(fake: FakeKiwoom) -> Client:
    return Client(*KEYS, transport=fake.transport, pace=None)


def chart_requests(fake: FakeKiwoom) -> list:
    return [r for r in fake.requests if r.path.endswith("/chart")]


def pages_needed(fake: FakeKiwoom, api_id: str, body: dict, reach: str) -> int:
    """The fewest pages that reach ``reach`` (YYYYMMDD or YYYYMMDDHHMMSS), from the fake's own data: every page up
    to the one holding the first row (newest first) at or before it; all of them when none is."""
    every = chart_rows(api_id, body, fake.candles, fake.market)
    first = next((i for i, row in enumerate(every) if (row.get("dt") or row["cntr_tm"]) <= reach), None)
    return math.ceil(len(every) / fake.page_size) if first is None else first // fake.page_size + 1


CASES = [  # code, interval, start, end, exchange, page size, the TR, the request, the start as the chart writes it
    ("005930", "D", "2026-06-01", "2026-09-30", None, 20, "ka10081",
     {"stk_cd": "005930", "base_dt": "20260930", "upd_stkpc_tp": "1"}, "20260601"),
    ("000660", "W", "20260301", date(2026, 11, 30), None, 10, "ka10082",
     {"stk_cd": "000660", "base_dt": "20261130", "upd_stkpc_tp": "1"}, "20260301"),
    ("035420", "M", date(2026, 1, 1), "2026-11-30", None, 4, "ka10083",
     {"stk_cd": "035420", "base_dt": "20261130", "upd_stkpc_tp": "1"}, "20260101"),
    ("005930", "5m", "2026-11-30", "2026-12-01", None, 30, "ka10080",
     {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1", "tic_scope": "5"}, "20261130000000"),
    ("005930", "tick", datetime(2026, 12, 1, 15, 0), None, None, 50, "ka10079",
     {"stk_cd": "005930", "upd_stkpc_tp": "1", "tic_scope": "1"}, "20261201150000"),
    ("AAPL", "D", "2026-10-01", None, "ND", 15, "usa06012",
     {"stex_tp": "ND", "stk_cd": "AAPL", "upd_stkpc_tp": "1", "exrt_appl_tp": "0", "strt_dt": "20261001"}, "20261001"),
    ("AAPL", "5m", pd.Timestamp("2026-11-30 09:30", tz="America/New_York"), None, "ND", 25, "usa06011",
     {"stex_tp": "ND", "stk_cd": "AAPL", "upd_stkpc_tp": "1", "exrt_appl_tp": "0", "strt_dt": "20261130",
      "tic_scope": "5"}, "20261130093000"),
]


@pytest.mark.parametrize("code, interval, start, end, exchange, page_size, api_id, body, reach", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_candles_are_ascending_in_range_positive_and_fetched_in_the_fewest_pages(
        code, interval, start, end, exchange, page_size, api_id, body, reach):
    fake = FakeKiwoom(keys=dict(CANARY), page_size=page_size, clock=CLOSED)
    with client_of(fake) as api:
        df = api.candles(code, interval, start=start, end=end, exchange=exchange)

    sent = chart_requests(fake)
    assert [r.api_id for r in sent] == [api_id] * len(sent) and all(r.body == body for r in sent)
    assert len(sent) == pages_needed(fake, api_id, body, reach) > 1, (len(sent), reach)
    assert [r.headers["cont-yn"] for r in sent] == ["N"] + ["Y"] * (len(sent) - 1)
    assert [r.headers["next-key"] for r in sent[1:]] == [page["next_key"] for page in fake.served[:-1]]

    intraday = interval not in "DWMY"
    tz = ("America/New_York" if code == "AAPL" else "Asia/Seoul") if intraday else None
    assert list(df.columns) == COLUMNS + ([] if intraday else ["value"])
    assert df.index.name == "date" and str(df.index.tz) == str(tz) and df.index.is_monotonic_increasing
    assert len(df) > 0 and (df > 0).all().all() and not df.isna().any().any()
    assert (df["low"] <= df[["open", "close"]].min(axis=1)).all() and (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    first = pd.Timestamp(start).tz_localize(None) if not intraday else \
        (pd.Timestamp(start) if pd.Timestamp(start).tzinfo else pd.Timestamp(start).tz_localize(tz))
    assert df.index[0] >= first
    if end is not None:
        assert df.index[-1] < pd.Timestamp(end).tz_localize(tz) + pd.Timedelta(days=1)
    assert df.attrs == {"code": code, "interval": interval, "api_id": api_id, "request": body, "pages": len(sent)}

    # every served row in [start, end] is in the frame, its price without Kiwoom's direction sign
    served = [row for page in fake.served for row in page["rows"]]
    stamps = pd.to_datetime([row.get("dt") or row["cntr_tm"] for row in served])
    if tz:
        stamps = stamps.tz_localize(tz)
    wanted: dict = {}
    for stamp, row in zip(stamps, served):  # newest first: of ticks in one second, the first served is the last
        if first <= stamp and stamp in df.index:
            wanted.setdefault(stamp, abs(float(row["cur_prc"])))
    assert wanted == df["close"].groupby(level=0).last().astype(float).to_dict()


def test_without_start_one_page_and_end_is_the_base_day():
    fake = FakeKiwoom(keys=dict(CANARY), page_size=10)
    with client_of(fake) as api:
        df = api.candles("005930", end="2026-11-20", adjusted=False)
    [sent] = chart_requests(fake)
    assert sent.body == {"stk_cd": "005930", "base_dt": "20261120", "upd_stkpc_tp": "0"}
    assert len(df) == 10 and df.index[-1] == pd.Timestamp("2026-11-20") and df.index.tz is None


def test_us_prices_are_dollars_or_won_and_the_exchange_is_needed():
    fake = FakeKiwoom(keys=dict(CANARY), page_size=30)
    with client_of(fake) as api:
        dollars = api.candles("AAPL", "D", "2026-11-01", exchange="nd")
        won = api.candles("AAPL", "D", "2026-11-01", exchange="ND", krw=True)
        with pytest.raises(RequestError, match="exchange='ND'") as missing:  # a ticker not in the US list
            api.candles("ZZZZ", "D", "2026-11-01")
    assert "\n" not in str(missing.value)
    assert [r.body["exrt_appl_tp"] for r in chart_requests(fake)] == ["0", "1"]  # nothing sent without an exchange
    assert dollars["close"].dtype == "float64" and 20 < dollars["close"].iloc[-1] < 600
    assert ((won["close"] / dollars["close"]).round() == 1400).all()


@pytest.mark.parametrize("interval", ["2m", "m", "2d", "fortnight", "2h"])
def test_an_unknown_interval_is_one_line_naming_the_ones_there_are(interval):
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api, pytest.raises(RequestError, match="5m, 10m") as refused:
        api.candles("005930", interval)
    assert "\n" not in str(refused.value) and chart_requests(fake) == []


def test_many_stocks_one_unlisted_the_rest_fetched_and_one_line_says_why(capsys):
    fake = FakeKiwoom(keys=dict(CANARY), page_size=10)
    with client_of(fake) as api:
        df = api.candles(["005930", "999999", "000660"], "D", "2026-11-01", "2026-11-30")
    out = capsys.readouterr()

    assert df.index.names == ["code", "date"] and list(df.index.unique("code")) == ["005930", "000660"]
    for code in ("005930", "000660"):
        one = df.loc[code]
        assert one.index.is_monotonic_increasing and len(one) == 21 and (one > 0).all().all()
        assert one.index[0] == pd.Timestamp("2026-11-02") and one.index[-1] == pd.Timestamp("2026-11-30")
    assert list(df.attrs["failed"]) == ["999999"] and "\n" not in df.attrs["failed"]["999999"]
    assert "1902" in df.attrs["failed"]["999999"]
    assert out.out == "" and out.err.count("\n") == 1
    assert out.err.startswith("2 of 3 stocks fetched; 1 failed: 999999 (1902 ") and 'df.attrs["failed"]' in out.err
    each = pages_needed(fake, "ka10081", {"stk_cd": "005930", "base_dt": "20261130", "upd_stkpc_tp": "1"}, "20261101")
    assert each == 3 and [r.body["stk_cd"] for r in chart_requests(fake)] == ["005930"] * 3 + ["999999"] + ["000660"] * 3


def test_many_stocks_all_fine_print_nothing(capsys):
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        df = api.candles(["005930", "AAPL"], "D", "2026-11-25", "2026-11-30", exchange="ND")
    assert capsys.readouterr().err == "" and df.attrs["failed"] == {}
    assert df.attrs["api_id"] == ["ka10081", "usa06012"] and len(df.loc["AAPL"]) == 4


def failing_at(fake: FakeKiwoom, request: int, failure) -> None:
    """The ``request``-th chart request (1-based) fails with ``failure``: one of the fake's errors, or an exception
    the transport raises before sending it (Ctrl-C arrives as KeyboardInterrupt)."""
    handle, seen = fake.handle, []

    def handled(method, path, headers, raw):
        if path.endswith("/chart"):
            seen.append(path)
            if len(seen) == request:
                if isinstance(failure, str):
                    fake.fail_next(failure)
                else:
                    raise failure
        return handle(method, path, headers, raw)

    fake.handle = handled


@pytest.mark.parametrize("failure, error", [("device_auth", AccessDeniedError), ("hang", KiwoomTimeout),
                                            ("rate_limited", RateLimitError), (KeyboardInterrupt(), KeyboardInterrupt)])
def test_an_error_that_ends_everything_stops_at_once_and_last_keeps_what_was_fetched(failure, error):
    fake = FakeKiwoom(keys=dict(CANARY), page_size=10)
    failing_at(fake, 4, failure)  # the second stock's first page (the first stock takes 3)
    with client_of(fake) as api:
        api.backoff = ()  # a rate-limit refusal is final at once: "the rate limit exhausted"
        with pytest.raises(error):
            api.candles(["005930", "000660", "035420"], "D", "2026-11-01", "2026-11-30")
        last = api.last

    reached = [] if error is KeyboardInterrupt else ["000660"]  # Ctrl-C came before the request left
    assert [r.body["stk_cd"] for r in chart_requests(fake)] == ["005930"] * 3 + reached  # none after it
    assert [a["stk_dt_pole_chart_qry"] for a in last] == [page["rows"] for page in fake.served]
    assert len(last) == 3 and all(a["stk_cd"] == "005930" for a in last)


def test_one_stock_that_fails_raises_its_error():
    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api, pytest.raises(RequestError, match="1902"):
        api.candles("999999", "D", "2026-11-01")


def test_threads_share_one_client():
    fake = FakeKiwoom(keys=dict(CANARY), page_size=10)
    codes = ["005930", "000660", "035420", "051910"]
    with client_of(fake) as api:
        frames, errors = in_threads(lambda code: api.candles(code, "D", "2026-11-01", "2026-11-30", store=False),
                                    [(code,) for code in codes])
        assert errors == []
        got = dict(zip(codes, frames))
        alone = {code: api.candles(code, "D", "2026-11-01", "2026-11-30", store=False) for code in codes}
    assert sorted(got) == sorted(codes)
    for code in codes:
        pd.testing.assert_frame_equal(got[code], alone[code])
    assert len(chart_requests(fake)) == 2 * 3 * len(codes)


def test_the_frame_feeds_mplfinance_without_renaming(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import mplfinance as mpf

    fake = FakeKiwoom(keys=dict(CANARY))
    with client_of(fake) as api:
        df = api.candles("005930", "D", "2026-06-01", "2026-11-30")
    path = tmp_path / "candles.png"
    mpf.plot(df, type="candle", volume=True, savefig=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- %kiwoom_candles in a real kernel ---------------------------------------------------------------------------------


@pytest.mark.kernel
def test_the_magic_fails_in_one_line_without_a_login_and_returns_the_frame_with_one(fake, start_kernel):
    kernel = start_kernel()
    kernel.ok("%load_ext kiwoom_nb")
    refused = kernel.run("df = %kiwoom_candles 005930 --from 2026-11-01")
    assert refused.reply["status"] == "error" and "\n" not in refused.reply["evalue"]
    assert "%kiwoom_login" in refused.reply["evalue"] and chart_requests(fake) == []
    for line in ("%kiwoom_candles", "%kiwoom_candles 005930 --from", "%kiwoom_candles 005930 --weekly"):
        wrong = kernel.run(line)
        assert wrong.reply["status"] == "error" and "%kiwoom_candles" in wrong.reply["evalue"], line

    kernel.ok("%kiwoom_login")
    fake.page_size = 10
    shown = kernel.ok("df = %kiwoom_candles 005930 999999 000660 --from 2026-11-01 --to 2026-11-30\n"
                      "print(df.index.names, sorted(set(df.index.get_level_values('code'))), len(df), "
                      "list(df.columns), list(df.attrs['failed']))")
    assert shown.stdout.splitlines()[-1] == (
        "['code', 'date'] ['000660', '005930'] 42 ['open', 'high', 'low', 'close', 'volume', 'value'] ['999999']")
    assert shown.stderr.count("\n") == 1 and shown.stderr.startswith("2 of 3 stocks fetched; 1 failed: 999999")

    weekly = kernel.ok("w = %kiwoom_candles AAPL --exchange ND --interval 5m --from 2026-12-01 --unadjusted --krw\n"
                       "print(w.index.tz, w.attrs['api_id'], w.attrs['request']['upd_stkpc_tp'], "
                       "w.attrs['request']['exrt_appl_tp'])")
    assert weekly.stdout.splitlines()[-1] == "America/New_York usa06011 0 1"


@pytest.mark.parametrize("api_id", ["ka10079", "ka10080", "ka10081", "ka10082", "ka10083", "ka10094", "usa06010",
                                    "usa06011", "usa06012", "usa06013", "usa06014", "usa06015"])
def test_every_chart_page_has_the_documented_fields_in_kiwoom_formats(api_id):
    from kiwoom_nb.rest._catalogue import fields_of
    from test_every_tr import fit_problems, required_body

    size = 1 if api_id in ("ka10082", "ka10083", "ka10094", "usa06013", "usa06014", "usa06015") else 40
    fake = FakeKiwoom(keys=dict(CANARY), page_size=size)
    body = {**required_body(api_id), "stk_cd": "AAPL" if api_id.startswith("usa") else "005930"}
    with client_of(fake) as api:
        answers = list(api.pages(api_id, max_pages=2, **body))
    listed = {f.name for f in fields_of(api_id).response if f.list_key} | OBSERVED.get(api_id, set())  # + recorded
    stamps = []
    for answer in answers:
        assert fit_problems(api_id, answer) == []
        rows = next(v for v in answer.values() if isinstance(v, list))
        assert len(rows) == size and all(set(row) == listed for row in rows)
        stamps += [row.get("dt") or row["cntr_tm"] for row in rows]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) > 1  # newest first
    assert all("090000" <= s[8:] <= "160000" for s in stamps if len(s) == 14)  # in the session
    assert [r.headers["cont-yn"] for r in chart_requests(fake)] == ["N", "Y"]


def test_a_us_ticker_without_an_exchange_finds_it_in_the_day_s_us_list(fake):
    """AAPL is listed on NASDAQ in the fake's usa10099: candles asks the list once, then sends stex_tp=ND."""
    from kiwoom_nb import Client
    from support import CANARY

    with Client(*CANARY["production"], base_url=fake.url, pace=None) as api:
        df = api.candles("AAPL", "D", start=None)
        again = api.candles("KO", "D", start=None)
    lists = [r for r in fake.requests if r.api_id == "usa10099"]
    charts = [r.body for r in fake.requests if r.api_id == "usa06012"]
    assert len(lists) == 1 and [b["stex_tp"] for b in charts] == ["ND", "NY"], (lists, charts)
    assert len(df) > 0 and len(again) > 0
