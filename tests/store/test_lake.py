"""The store as an open dataset (issue 32): plain pyarrow.dataset reads it without kiwoom_nb, DuckDB views per interval
(store.sql), store.info from the footers, store.clear, and the notebook's --no-store and KiwoomMagics.store_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import kiwoom_nb
from kiwoom_nb import RequestError
from test_store import AFTER_CLOSE, client_of, fake_at, parquet_files

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


@pytest.fixture
def kept(tmp_path):
    """A store holding 005930 and 000660 daily (adjusted and not) and 005930 weekly, and what candles answered."""
    fake = fake_at(AFTER_CLOSE)
    root = tmp_path / "store"  # a folder of its own: tmp_path also holds the test's cache dir (the shared pace's file)
    with client_of(fake, progress=None) as api:
        daily = api.candles(["005930", "000660"], "D", start="2026-10-01", store=root)
        api.candles("005930", "D", start="2026-11-01", adjusted=False, store=root)
        api.candles("005930", "W", start="2026-06-01", store=root)
    return root, daily


def test_plain_pyarrow_dataset_reads_the_store_without_kiwoom_nb(kept):
    root, daily = kept
    script = f"""
import json, sys
import pyarrow as pa
import pyarrow.dataset as ds
keys = pa.schema([(name, pa.string()) for name in ("server", "interval", "adjusted", "code")])  # 005930 stays text
dataset = ds.dataset({str(root)!r}, format="parquet", partitioning=ds.partitioning(keys, flavor="hive"))
table = dataset.to_table(filter=(ds.field("interval") == "D") & (ds.field("adjusted") == "true")
                         & (ds.field("code") == "005930"))
frame = table.to_pandas()
print(json.dumps({{"kiwoom_nb": any(m.startswith("kiwoom_nb") for m in sys.modules), "columns": table.column_names,
                  "rows": table.num_rows, "last": str(frame["date"].max()), "close": float(frame["close"].iloc[-1]),
                  "compression": dataset.files[0] and __import__("pyarrow.parquet").parquet.ParquetFile(
                      dataset.files[0]).metadata.row_group(0).column(0).compression}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["kiwoom_nb"] is False
    assert seen["columns"] == ["date", "open", "high", "low", "close", "volume", "value", "server", "interval",
                               "adjusted", "code"]
    kept_rows = kiwoom_nb.store.read("005930", "D", store=root)
    assert seen["rows"] == len(kept_rows) and seen["last"] == "2026-12-01 00:00:00"
    assert seen["close"] == daily.loc[("005930", "2026-12-01"), "close"] and seen["compression"] == "ZSTD"


def test_store_sql_runs_duckdb_over_a_view_per_interval(kept):
    pytest.importorskip("duckdb")
    root, daily = kept
    answer = kiwoom_nb.store.sql("SELECT code, count(*) AS n, max(close) AS top FROM candles_d WHERE adjusted = 'true' "
                                 "AND date >= '2026-10-01' GROUP BY code ORDER BY code", store=root)
    assert list(answer["code"]) == ["000660", "005930"]  # codes stay strings: leading zeros kept
    for code, n, top in answer.itertuples(index=False):
        assert n == len(daily.loc[code]) and top == daily.loc[code, "close"].max()
    weeks = kiwoom_nb.store.sql("SELECT count(*) AS n FROM candles_w", store=root)
    assert weeks["n"][0] == len(kiwoom_nb.store.read("005930", "W", store=root))
    with pytest.raises(RequestError, match="candles_d, candles_w") as wrong:
        kiwoom_nb.store.sql("SELECT * FROM candles_x", store=root)
    assert "\n" not in str(wrong.value)


def test_store_info_lists_what_is_kept_from_the_footers(kept):
    root, _ = kept
    info = kiwoom_nb.store.info(store=root)
    assert list(info.columns) == ["code", "interval", "adjusted", "first", "last", "rows", "bytes", "server"]
    rows = {(r.code, r.interval, r.adjusted): r for r in info.itertuples()}
    assert set(rows) == {("005930", "D", True), ("000660", "D", True), ("005930", "D", False), ("005930", "W", True)}
    one = rows[("005930", "D", True)]
    frame = kiwoom_nb.store.read("005930", "D", store=root)
    assert (one.rows, pd.Timestamp(one.first), pd.Timestamp(one.last)) == (len(frame), frame.index.min(),
                                                                             frame.index.max())
    assert one.bytes > 0 and one.server == "api.kiwoom.com"


def test_store_clear_removes_codes_or_an_interval_or_everything(kept):
    root, _ = kept
    assert kiwoom_nb.store.clear(["000660"], store=root) == 1
    assert set(kiwoom_nb.store.info(store=root)["code"]) == {"005930"}
    assert kiwoom_nb.store.clear(interval="W", store=root) == 1
    assert set(kiwoom_nb.store.info(store=root)["interval"]) == {"D"}
    assert kiwoom_nb.store.clear(store=root) == 2
    assert parquet_files(root) == [] and kiwoom_nb.store.info(store=root).empty
    with pytest.raises(RequestError, match="nothing kept"):
        kiwoom_nb.store.read("005930", "D", store=root)


def test_no_store_in_the_magic_and_store_path_in_config(tmp_path):
    from IPython.testing.globalipapp import start_ipython

    from kiwoom_nb.notebook._candles_magic import parse_candles_line, run_candles

    assert parse_candles_line("005930 --no-store")["no-store"] is True
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        run_candles(api, parse_candles_line("005930 --from 2026-11-01 --no-store"))
        assert parquet_files(tmp_path) == []
        ip = start_ipython() or __import__("IPython").get_ipython()  # None once another test started it
        ip.run_line_magic("load_ext", "kiwoom_nb")
        try:
            ip.run_line_magic("config", f"KiwoomMagics.store_path = {str(tmp_path / 'configured')!r}")
            run_candles(api, parse_candles_line("005930 --from 2026-11-01"))
        finally:
            ip.run_line_magic("config", "KiwoomMagics.store_path = ''")
    assert [p.parent.name for p in parquet_files(tmp_path / "configured")] == ["code=005930"]
    assert kiwoom_nb.store.location() != tmp_path / "configured"


def test_store_read_of_several_codes_is_what_candles_answered(kept):
    root, daily = kept
    both = kiwoom_nb.store.read(["005930", "000660"], "D", start="2026-10-01", store=root)
    pd.testing.assert_frame_equal(both, daily, check_freq=False, check_index_type=False)
    (root / "server=api.kiwoom.com" / "interval=D" / "adjusted=true" / "code=000660" / "part.parquet").write_bytes(b"x")
    with pytest.raises(RequestError, match="000660 D: nothing kept"):  # moved aside with its line, then missing
        kiwoom_nb.store.read(["005930", "000660"], "D", store=root)
