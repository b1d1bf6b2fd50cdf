"""The candle store (issue 32) against the fake Kiwoom: a re-run sends nothing, an update fetches only the newest page
(and a start before the first kept bar only the older part), only finished bars are kept, a re-based adjusted history
is noticed, each server has its own store, a corrupt file is moved aside, and bad input sends and writes nothing.
Requests are counted against the minimum the fake's own data gives (tests/rest/test_candles.py's pages_needed)."""

from __future__ import annotations

import pytest

import kiwoom_nb
from kiwoom_nb import Client, RequestError
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing.market._clock import Clock
from support import CANARY
from test_candles import chart_requests, pages_needed

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

AFTER_CLOSE = "2026-12-01 18:30"  # the fake's clock: 2026-12-01 is over (KRX, after the after-hours session)
NEXT_EVENING = "2026-12-02 18:30"


def fake_at(when: str, page_size: int = 20) -> FakeKiwoom:
    return FakeKiwoom(keys=dict(CANARY), page_size=page_size, clock=Clock(when, speed=0))


def client_of(fake: FakeKiwoom, progress: str | None = "text", mock: bool = False) -> Client:
    api = Client(*CANARY["mock" if mock else "production"], mock=mock, transport=fake.transport, pace=None,
                 progress=progress)
    api.clock = fake.clock.now  # the market clock the store judges finished bars by: the fake's
    return api


def parquet_files(root) -> list:
    return sorted(p for p in root.rglob("*.parquet") if ".aside" not in p.parts)


def test_a_rerun_is_answered_from_the_store_with_no_request(tmp_path, capsys):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        first = api.candles(["005930", "000660"], "D", start="2026-06-01", store=tmp_path)
        sent = len(chart_requests(fake))
        body = {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}
        assert sent == 2 * pages_needed(fake, "ka10081", body, "20260601")
        capsys.readouterr()
        again = api.candles(["005930", "000660"], "D", start="2026-06-01", store=tmp_path)
    assert len(chart_requests(fake)) == sent  # the re-run: 0 requests
    pd.testing.assert_frame_equal(again, first, check_freq=False)
    rows = len(again)
    assert capsys.readouterr().err.splitlines()[-1] == f"005930 000660: {rows:,} rows from the store, 0 pages fetched (0 new days)"
    assert again.index.get_level_values("date").max() == pd.Timestamp("2026-12-01")


def test_after_a_new_day_only_the_newest_page_is_fetched_and_the_answer_is_the_servers(tmp_path, capsys):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        api.candles("005930", "D", start="2026-03-01", store=tmp_path)
        sent = len(chart_requests(fake))
        fake.clock.set(NEXT_EVENING)
        capsys.readouterr()
        df = api.candles("005930", "D", start="2026-03-01", store=tmp_path)
        new = chart_requests(fake)[sent:]
        fresh = api.candles("005930", "D", start="2026-03-01", store=False)
    assert len(new) == 1 and new[0].body["stk_cd"] == "005930"  # the newest page holds the last kept bar
    pd.testing.assert_frame_equal(df, fresh, check_freq=False)
    assert "1 page fetched (1 new day)" in capsys.readouterr().err


def test_a_start_before_the_first_kept_bar_fetches_only_the_older_part(tmp_path):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        api.candles("000660", "D", start="2026-10-01", store=tmp_path)
        kept = kiwoom_nb.store.read("000660", "D", store=tmp_path)  # whole pages: back a little before the start
        sent = len(chart_requests(fake))
        df = api.candles("000660", "D", start="2026-01-05", store=tmp_path)
        older = chart_requests(fake)[sent:]
        fresh = api.candles("000660", "D", start="2026-01-05", store=False)
    first = kept.index.min().strftime("%Y%m%d")
    body = {"stk_cd": "000660", "base_dt": first, "upd_stkpc_tp": "1"}
    assert [r.body for r in older] == [body] * len(older)  # from the first kept bar back, never the newest again
    assert len(older) == pages_needed(fake, "ka10081", body, "20260105")
    pd.testing.assert_frame_equal(df, fresh, check_freq=False)


def test_todays_growing_bar_is_answered_but_never_kept(tmp_path):
    fake = fake_at("2026-12-02 11:00")  # a session in progress
    with client_of(fake) as api:
        df = api.candles("005930", "D", start="2026-11-01", store=tmp_path)
        kept = kiwoom_nb.store.read("005930", "D", store=tmp_path)
        assert df.index.max() == pd.Timestamp("2026-12-02")  # today's bar so far, merged into the answer
        assert kept.index.max() == pd.Timestamp("2026-12-01")  # the store holds finished days only
        fake.clock.set("2026-12-02 14:00")  # later the same day: the growing bar is fetched again, still not kept
        sent = len(chart_requests(fake))
        later = api.candles("005930", "D", start="2026-11-01", store=tmp_path)
    assert len(chart_requests(fake)) == sent + 1
    assert later.loc["2026-12-02", "volume"] > df.loc["2026-12-02", "volume"]
    assert kiwoom_nb.store.read("005930", "D", store=tmp_path).index.max() == pd.Timestamp("2026-12-01")


def test_minutes_keep_finished_session_days_only(tmp_path):
    fake = fake_at("2026-12-02 10:00", page_size=200)
    with client_of(fake) as api:
        df = api.candles("005930", "5m", start="2026-12-01", store=tmp_path)
    kept = kiwoom_nb.store.read("005930", "5m", store=tmp_path)
    assert str(kept.index.tz) == "Asia/Seoul" and df.index.max().date().isoformat() == "2026-12-02"
    assert kept.index.max() == pd.Timestamp("2026-12-01 15:25", tz="Asia/Seoul")


def test_a_rebased_adjusted_history_is_dropped_and_fetched_again_with_one_line(tmp_path, capsys):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        api.candles("005930", "D", start="2026-09-01", store=tmp_path)
        raw = api.candles("005930", "D", start="2026-09-01", adjusted=False, store=tmp_path)
        fake.market.rebase("005930", 0.5)  # a 2-for-1 split: the adjusted history halves
        fake.clock.set(NEXT_EVENING)
        capsys.readouterr()
        df = api.candles("005930", "D", start="2026-09-01", store=tmp_path)
        err = capsys.readouterr().err
        fresh = api.candles("005930", "D", start="2026-09-01", store=False)
    assert "005930: the server's adjusted prices changed" in err and "fetched again" in err
    pd.testing.assert_frame_equal(df, fresh, check_freq=False)
    kept = kiwoom_nb.store.read("005930", "D", store=tmp_path)
    pd.testing.assert_frame_equal(kept.loc["2026-09-01":], fresh.loc[:"2026-12-02"], check_freq=False)
    unadjusted = kiwoom_nb.store.read("005930", "D", adjusted=False, store=tmp_path)  # kept apart, untouched
    pd.testing.assert_frame_equal(unadjusted.loc["2026-09-01":], raw, check_freq=False)


def test_each_server_has_its_own_store(tmp_path):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as production, client_of(fake, mock=True) as mock:
        production.candles("005930", "D", start="2026-11-01", store=tmp_path)
        mock.candles("005930", "D", start="2026-11-01", store=tmp_path)
    info = kiwoom_nb.store.info(store=tmp_path)
    assert sorted(info["server"]) == ["api.kiwoom.com", "mockapi.kiwoom.com"]
    assert set(info["code"]) == {"005930"} and (info["rows"] > 0).all()
    with pytest.raises(RequestError, match="several servers") as which:
        kiwoom_nb.store.read("005930", "D", store=tmp_path)
    assert "\n" not in str(which.value)
    assert len(kiwoom_nb.store.read("005930", "D", server="mockapi.kiwoom.com", store=tmp_path)) > 0


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_file_is_moved_aside_with_one_line_and_fetched_again(tmp_path, capsys, damage):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        first = api.candles(["005930", "000660"], "D", start="2026-10-01", store=tmp_path)
        path = next(p for p in parquet_files(tmp_path) if "code=005930" in str(p))
        data = path.read_bytes()
        path.write_bytes(b"not parquet at all" if damage == "garbage" else data[: len(data) // 2])
        capsys.readouterr()
        again = api.candles(["005930", "000660"], "D", start="2026-10-01", store=tmp_path)
    lines = [line for line in capsys.readouterr().err.splitlines() if "could not be read" in line]
    assert len(lines) == 1 and lines[0].startswith("005930: the stored file could not be read")
    pd.testing.assert_frame_equal(again, first, check_freq=False)  # the whole read did not fail
    assert len(list((tmp_path / ".aside").iterdir())) == 1
    assert len(kiwoom_nb.store.read("005930", "D", start="2026-10-01", store=tmp_path)) == len(first.loc["005930"])


@pytest.mark.parametrize("call, match", [
    (lambda api, root: api.candles("005930", "2d", store=root), "interval='2d'"),
    (lambda api, root: api.candles("005930", "D", "2026-06-01", "2026-01-01", store=root), "is after end"),
    (lambda api, root: api.candles("005930", "D", store=root / "file" / "store"), "is not writable"),
    (lambda api, root: api.update(["005930"], "fortnight", store=root), "interval='fortnight'"),
])
def test_bad_input_gets_one_line_sends_nothing_and_writes_nothing(tmp_path, call, match):
    (tmp_path / "file").write_text("a file, not a folder")
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        with pytest.raises(RequestError, match=match) as refused:
            call(api, tmp_path)
    assert "\n" not in str(refused.value)
    assert chart_requests(fake) == [] and parquet_files(tmp_path) == []


def test_a_code_the_market_does_not_know_writes_nothing(tmp_path):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        with pytest.raises(RequestError, match="1902") as refused:
            api.candles("999999", "D", start="2026-11-01", store=tmp_path)
        df = api.candles(["005930", "999999"], "D", start="2026-11-01", store=tmp_path)
    assert "\n" not in str(refused.value)
    assert list(df.attrs["failed"]) == ["999999"]
    assert [p.parent.name for p in parquet_files(tmp_path)] == ["code=005930"]


def test_store_false_reads_and_writes_nothing(tmp_path):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        api.candles("005930", "D", start="2026-11-01", store=False)
        sent = len(chart_requests(fake))
        api.candles("005930", "D", start="2026-11-01", store=False)
    assert len(chart_requests(fake)) == 2 * sent and parquet_files(tmp_path) == []


def test_the_default_store_is_the_user_data_dir_unless_kiwoom_store_says(tmp_path, monkeypatch):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        api.candles("005930", "D", start="2026-11-01")
        assert parquet_files(tmp_path / "data" / "kiwoom_nb" / "store")  # XDG_DATA_HOME (conftest): the data dir
        monkeypatch.setenv("KIWOOM_STORE", str(tmp_path / "team"))
        api.candles("005930", "D", start="2026-11-01")
    assert [p.parent.name for p in parquet_files(tmp_path / "team")] == ["code=005930"]
    assert kiwoom_nb.store.location() == tmp_path / "team"


def test_the_summary_line_stays_quiet_without_a_progress_bar(tmp_path, capsys):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:  # nbclient, papermill, nbval: no bar, no line
        api.candles("005930", "D", start="2026-11-01", store=tmp_path)
        api.candles("005930", "D", start="2026-11-01", store=tmp_path)
    assert capsys.readouterr().err == ""


def test_threads_sharing_a_client_and_a_code_lose_no_rows(tmp_path):
    from support import in_threads

    fake = fake_at(AFTER_CLOSE)
    starts = ["2026-01-05", "2026-04-01", "2026-07-01", "2026-10-01"]
    with client_of(fake, progress=None) as api:
        frames, errors = in_threads(lambda start: api.candles("005930", "D", start=start, store=tmp_path),
                                    [(start,) for start in starts])
        assert errors == []
        fresh = api.candles("005930", "D", start="2026-01-05", store=False)
    for start, frame in zip(starts, frames):
        pd.testing.assert_frame_equal(frame, fresh.loc[start:], check_freq=False)
    kept = kiwoom_nb.store.read("005930", "D", start="2026-01-05", store=tmp_path)
    pd.testing.assert_frame_equal(kept, fresh, check_freq=False)


def test_us_daily_candles_are_kept_by_new_yorks_day(tmp_path):
    fake = fake_at("2026-12-02 10:30")  # Korea time: 20:30 of 2026-12-01 in New York, after extended hours
    with client_of(fake) as api:
        first = api.candles("AAPL", "D", start="2026-10-01", exchange="ND", store=tmp_path)
        sent = len(chart_requests(fake))
        again = api.candles("AAPL", "D", start="2026-10-01", exchange="ND", store=tmp_path)
        fake.clock.set("2026-12-02 23:30")  # 09:30 in New York: the session of 2026-12-02 opens
        live = api.candles("AAPL", "D", start="2026-10-01", exchange="ND", store=tmp_path)
    assert len(chart_requests(fake)) == sent + 1  # the re-run sent nothing; the open session one page
    pd.testing.assert_frame_equal(again, first, check_freq=False)
    assert first.index.max() == pd.Timestamp("2026-12-01")
    assert kiwoom_nb.store.read("AAPL", "D", store=tmp_path).index.max() == pd.Timestamp("2026-12-01")
    assert len(live) >= len(first)
