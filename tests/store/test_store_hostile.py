"""The store against a hostile user and filesystem (a review of issue 32): the interval names candles() takes also
read and clear what it kept, odd start/end and an empty code list get one line, DuckDB views survive a quote in the
store's path and a stray folder in it, and a folder where a code's file should be is moved aside like a corrupt file."""

from __future__ import annotations

import pytest

import kiwoom_nb
from kiwoom_nb import RequestError
from test_candles import chart_requests
from test_store import AFTER_CLOSE, client_of, fake_at, parquet_files

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


@pytest.fixture
def kept(tmp_path):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        daily = api.candles(["005930", "000660"], "D", start="2026-10-01", store=tmp_path)
    return tmp_path, daily


@pytest.mark.parametrize("alias", ["1d", "day", "daily", "d"])
def test_read_and_clear_take_the_interval_names_candles_takes(kept, alias):
    root, daily = kept
    pd.testing.assert_frame_equal(kiwoom_nb.store.read("005930", alias, start="2026-10-01", store=root),
                                  daily.loc["005930"], check_freq=False)
    assert kiwoom_nb.store.clear(["005930"], interval=alias, store=root) == 1  # not a silent 0
    assert [p for p in parquet_files(root) if "code=005930" in str(p)] == []


def test_read_and_clear_refuse_an_unknown_interval_in_one_line(kept):
    root, _ = kept
    for call in (lambda: kiwoom_nb.store.read("005930", "fortnight", store=root),
                 lambda: kiwoom_nb.store.clear(interval="fortnight", store=root)):
        with pytest.raises(RequestError, match="interval='fortnight'") as refused:
            call()
        assert "\n" not in str(refused.value)
    assert len(parquet_files(root)) == 2  # nothing cleared


def test_read_of_no_codes_is_one_line(kept):
    with pytest.raises(RequestError, match="needs a code") as refused:
        kiwoom_nb.store.read([], "D", store=kept[0])
    assert "\n" not in str(refused.value)


def test_read_takes_a_zoned_start_with_a_plain_end_and_refuses_them_swapped(kept):
    root, daily = kept
    start = pd.Timestamp("2026-10-05 09:00", tz="Asia/Seoul")
    got = kiwoom_nb.store.read("005930", "D", start=start, end="2026-11-02", store=root)
    expected = daily.loc["005930"]
    pd.testing.assert_frame_equal(got, expected["2026-10-05":"2026-11-02"], check_freq=False)
    utc = pd.Timestamp("2026-10-04 23:00", tz="UTC")  # 08:00 on the 5th in Seoul: the 5th's bar, not the 4th's
    pd.testing.assert_frame_equal(kiwoom_nb.store.read(["005930"], "D", start=utc, store=root).loc["005930"],
                                  expected["2026-10-05":], check_freq=False)
    with pytest.raises(RequestError, match="is after end"):
        kiwoom_nb.store.read("005930", "D", start="2026-11-02", end=start, store=root)


def test_sql_works_in_a_store_whose_path_has_a_quote(tmp_path):
    root = tmp_path / "o'brien's store"
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        daily = api.candles("005930", "D", start="2026-11-01", store=root)
    answer = kiwoom_nb.store.sql("SELECT count(*) AS n FROM candles_d WHERE date >= '2026-11-01'", store=root)
    assert answer["n"].tolist() == [len(daily)]


def test_a_stray_folder_in_the_store_neither_breaks_sql_nor_runs_as_sql(kept):
    root, daily = kept
    stray = root / "server=x" / "interval=d AS SELECT 1; DROP VIEW candles_d; --" / "adjusted=true" / "code=1"
    stray.mkdir(parents=True)
    (stray / "part.parquet").write_bytes(b"")
    answer = kiwoom_nb.store.sql("SELECT count(*) AS n FROM candles_d", store=root)
    assert answer["n"].tolist() == [len(kiwoom_nb.store.read(["005930", "000660"], "D", store=root))]


def test_a_folder_where_a_codes_file_should_be_is_moved_aside_and_fetched_again(kept, capsys):
    root, daily = kept
    path = next(p for p in parquet_files(root) if "code=005930" in str(p))
    path.unlink()
    path.mkdir()
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        again = api.candles(["005930", "000660"], "D", start="2026-10-01", store=root)
    pd.testing.assert_frame_equal(again, daily, check_freq=False)
    lines = [line for line in capsys.readouterr().err.splitlines() if "could not be read" in line]
    assert len(lines) == 1 and lines[0].startswith("005930: the stored file could not be read")
    assert path.is_file() and {r.body["stk_cd"] for r in chart_requests(fake)} == {"005930"}


def test_a_read_racing_a_clear_in_another_kernel_says_nothing_is_kept(kept, monkeypatch, capsys):
    """store.clear() in another kernel between the read's look and its open: the code is gone, not corrupt."""
    import pyarrow.parquet as pq

    root, _ = kept
    opened = pq.read_table

    def cleared_first(path, *args, **kwargs):
        kiwoom_nb.store.clear(["005930"], store=root)  # what the other kernel does at that moment
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(pq, "read_table", cleared_first)
    with pytest.raises(RequestError, match="nothing kept"):
        kiwoom_nb.store.read("005930", "D", store=root)
    assert "could not be read" not in capsys.readouterr().err and not (root / ".aside").exists()


def test_a_rebase_noticed_by_the_older_pages_does_not_glue_two_price_bases_together(tmp_path, capsys):
    """A split on the server, then (the same evening, so no newer page is due) a start before the first kept bar: the
    older pages overlap the first kept bar, and their prices say the history was re-based."""
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        api.candles("005930", "D", start="2026-10-01", store=tmp_path)
        fake.market.rebase("005930", 0.5)  # a 2-for-1 split
        df = api.candles("005930", "D", start="2026-06-01", store=tmp_path)
        fresh = api.candles("005930", "D", start="2026-06-01", store=False)
    pd.testing.assert_frame_equal(df, fresh, check_freq=False)  # not the old prices after October, halved before
    assert "005930: the server's adjusted prices changed" in capsys.readouterr().err
    kept = kiwoom_nb.store.read("005930", "D", start="2026-06-01", store=tmp_path)
    pd.testing.assert_frame_equal(kept, fresh, check_freq=False)


def test_a_corrupt_file_does_not_fail_a_whole_sql_query(kept, capsys):
    """A truncated file fails DuckDB's scan of the whole view: it is moved aside with one line, as a read does, and
    the query answers from the rest."""
    root, daily = kept
    path = next(p for p in parquet_files(root) if "code=005930" in str(p))
    path.write_bytes(path.read_bytes()[:100])
    answer = kiwoom_nb.store.sql("SELECT code, count(*) AS n FROM candles_d GROUP BY code", store=root)
    assert answer["code"].tolist() == ["000660"]
    assert answer["n"].tolist() == [len(kiwoom_nb.store.read("000660", "D", store=root))]
    lines = [line for line in capsys.readouterr().err.splitlines() if "could not be read" in line]
    assert len(lines) == 1 and lines[0].startswith("005930: the stored file could not be read")


@pytest.mark.parametrize("call, match", [
    (lambda root: kiwoom_nb.store.read(5930, "D", store=root), "codes=5930"),
    (lambda root: kiwoom_nb.store.read(None, "D", store=root), "codes=None"),
    (lambda root: kiwoom_nb.store.clear(5930, store=root), "codes=5930"),
    (lambda root: kiwoom_nb.store.read("005930", "D", start="yesterday-ish", store=root), "start='yesterday-ish'"),
    (lambda root: kiwoom_nb.store.read("005930", "D", end=[1], store=root), "end=\\[1\\]"),
    (lambda root: kiwoom_nb.store.read("005930", "D", adjusted="false", store=root), "adjusted='false'"),
    (lambda root: kiwoom_nb.store.info(store=123), "store=123"),  # not silently the default store
    (lambda root: kiwoom_nb.store.clear(store=123), "store=123"),
    (lambda root: kiwoom_nb.store.sql(None, store=root), "pass a query"),
    (lambda root: kiwoom_nb.store.sql("  ", store=root), "pass a query"),
])
def test_bad_arguments_to_read_clear_info_sql_get_one_line_and_change_nothing(kept, call, match):
    root, _ = kept
    before = sorted(p.stat().st_mtime_ns for p in parquet_files(root))
    with pytest.raises(RequestError, match=match) as refused:
        call(root)
    assert "\n" not in str(refused.value)
    assert sorted(p.stat().st_mtime_ns for p in parquet_files(root)) == before


def test_without_start_the_store_answers_every_kept_bar_and_the_newest_agree_with_the_network(tmp_path):
    """Decided (docs/candles.md): with the store, a call without start returns every kept bar plus what is new, where
    the network alone gives its newest page; the rows both have are the same."""
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        kept = api.candles("005930", "D", start="2026-01-05", store=tmp_path)  # an earlier update kept the year
        df = api.candles("005930", "D", store=tmp_path)
        fresh = api.candles("005930", "D", store=False)
    assert df.index[0] <= kept.index[0] and df.index[-1] == fresh.index[-1]  # the page that reached start is kept whole
    both = df.index.intersection(fresh.index)
    assert len(both) > 1
    pd.testing.assert_frame_equal(df.loc[both], fresh.loc[both], check_freq=False)
