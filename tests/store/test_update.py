"""kiwoom_nb.update and the store shared by processes (issue 32): one bar and one summary line, refused codes in
attrs["failed"]; two processes updating overlapping universes at once lose no rows; SIGKILL in the middle leaves a
readable store and a re-run fetches only the codes not done."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import kiwoom_nb
from test_candles import chart_requests, pages_needed
from test_store import AFTER_CLOSE, client_of, fake_at, parquet_files

pd = pytest.importorskip("pandas")
ds = pytest.importorskip("pyarrow.dataset")

ROOT = Path(__file__).resolve().parents[2]
#: A script that runs one process's updates against its own fake (the fake's data is the same in every process).
SCRIPT = """
import sys
sys.path[:0] = [{tests!r}, {store!r}, {rest!r}]
from test_store import AFTER_CLOSE, client_of, fake_at
fake = fake_at(AFTER_CLOSE, page_size={page_size})
api = client_of(fake, progress=None)
{body}
"""


def run_script(tmp_path: Path, name: str, body: str, page_size: int = 20) -> subprocess.Popen:
    tests = ROOT / "tests"
    path = tmp_path / f"{name}.py"
    path.write_text(SCRIPT.format(tests=str(tests), store=str(tests / "store"), rest=str(tests / "rest"),
                                  page_size=page_size, body=textwrap.dedent(body)), "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_update_brings_a_universe_with_one_summary_and_the_refused_codes_in_attrs(tmp_path, capsys):
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake) as api:
        done = api.update(["005930", "999999", "000660"], "D", start="2026-10-01", store=tmp_path)
        sent = len(chart_requests(fake))
        capsys.readouterr()
        again = api.update(["005930", "999999", "000660"], "D", start="2026-10-01", store=tmp_path)
    body = {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}
    assert list(done["code"]) == ["005930", "000660"] and list(done.attrs["failed"]) == ["999999"]
    assert "1902" in done.attrs["failed"]["999999"]
    assert sent == 1 + 2 * pages_needed(fake, "ka10081", body, "20261001")  # 999999: one refused request
    assert (again["pages"] == 0).all() and len(chart_requests(fake)) == sent + 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == 'update D: 2 up to date, 0 fetched (0 pages), 1 failed — see .attrs["failed"]'


def test_two_processes_updating_overlapping_universes_lose_no_rows(tmp_path):
    root = tmp_path / "store"
    early = [f"{100000 + i:06d}" for i in range(8)]
    a = run_script(tmp_path, "a", f"api.update({early[:6]!r}, 'D', start='2026-06-01', store={str(root)!r})")
    b = run_script(tmp_path, "b", f"""
        for code in {early[2:]!r}:
            api.candles(code, 'D', start='2025-09-01', end='2026-03-31', store={str(root)!r})
        """)
    for process in (a, b):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        for code in early:
            kept = kiwoom_nb.store.read(code, "D", store=root)
            assert kept.index.is_unique and kept.index.is_monotonic_increasing
            first = "2025-09-01" if code in early[2:] else "2026-06-01"
            last = "2026-12-01" if code in early[:6] else "2026-03-31"
            fresh = api.candles(code, "D", start=first, end=last, store=False)
            pd.testing.assert_frame_equal(kept.loc[first:last], fresh, check_freq=False)  # the union, no gap


def test_sigkill_in_the_middle_of_update_leaves_a_readable_store_and_a_rerun_resumes(tmp_path):
    root = tmp_path / "store"
    codes = [f"{200000 + i:06d}" for i in range(40)]
    process = run_script(tmp_path, "killed", f"api.update({codes!r}, 'D', start='2022-01-01', store={str(root)!r})",
                         page_size=10)
    deadline = time.monotonic() + 60
    while len(parquet_files(root)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    done = {p.parent.name.split("=", 1)[1] for p in parquet_files(root)}
    assert 3 <= len(done) < len(codes)

    table = ds.dataset(root, format="parquet", partitioning="hive").to_table()  # every file whole, no temporary one
    assert table.num_rows == sum(len(kiwoom_nb.store.read(c, "D", store=root)) for c in done)

    fake = fake_at(AFTER_CLOSE, page_size=10)
    with client_of(fake, progress=None) as api:
        result = api.update(codes, "D", start="2022-01-01", store=root)
    sent = {r.body["stk_cd"] for r in chart_requests(fake)}
    assert sent == set(codes) - done  # nothing fetched again for the codes done before the kill
    assert len(chart_requests(fake)) == sum(
        pages_needed(fake, "ka10081", {"stk_cd": c, "base_dt": "20261201", "upd_stkpc_tp": "1"}, "20220103")
        for c in set(codes) - done)
    assert list(result["code"]) == codes and result.attrs["failed"] == {}


def test_without_pyarrow_candles_keep_nothing_with_one_line_and_sql_names_duckdb(tmp_path):
    """A Python where pyarrow and duckdb cannot be imported (sys.modules[name] = None makes ``import name`` fail)."""
    store = str(tmp_path / "store")
    script = tmp_path / "bare.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.modules["pyarrow"] = sys.modules["duckdb"] = None
        sys.path[:0] = [{str(ROOT / "tests")!r}]
        import kiwoom_nb
        from kiwoom_nb.testing import FakeKiwoom
        from support import CANARY
        fake = FakeKiwoom(keys=dict(CANARY), clock="{AFTER_CLOSE}")
        api = kiwoom_nb.Client(*CANARY["production"], transport=fake.transport, pace=None)
        df = api.candles("005930", "D", start="2026-11-01", store={store!r})
        print("rows", len(df))
        try:
            kiwoom_nb.store.sql("SELECT 1", store={store!r})
        except kiwoom_nb.RequestError as exc:
            print("sql:", exc)
        """), "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.match(r"rows [1-9]\d*\n", done.stdout) and "sql: store.sql needs duckdb: pip install 'kiwoom_nb[pandas]'" in done.stdout
    assert done.stderr.strip().splitlines() == ["kiwoom_nb: no candle store without pyarrow and filelock (pip install "
                                                "'kiwoom_nb[pandas]'); fetching everything"]
    assert not (tmp_path / "store").exists()


def test_sigkill_between_writing_and_replacing_leaves_no_temporary_file_behind_after_the_rerun(tmp_path):
    """kill -9 in the os.replace window: the code in flight is lost, and its half-done temporary file goes with the
    next write of that code (it would otherwise stay in the store for good)."""
    root = tmp_path / "store"
    body = f"""
    import os, signal
    real = os.replace
    def killed(source, target):  # the whole temporary file is written: die before it replaces the kept one
        if str(source).endswith(".tmp") and "code=000660" in str(source):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(source, target)
    os.replace = killed
    api.update(["005930", "000660"], "D", start="2026-06-01", store={str(root)!r})
    """
    process = run_script(tmp_path, "killed_in_replace", body)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert [p.name for p in root.rglob("*.tmp")] != []  # what the kill left
    assert {p.parent.name for p in parquet_files(root)} == {"code=005930"}

    fake = fake_at(AFTER_CLOSE)
    with client_of(fake, progress=None) as api:
        result = api.update(["005930", "000660"], "D", start="2026-06-01", store=root)
        fresh = api.candles("000660", "D", start="2026-06-01", store=False)
    assert {r.body["stk_cd"] for r in chart_requests(fake)} == {"000660"} and result.attrs["failed"] == {}
    assert list(root.rglob("*.tmp")) == []
    pd.testing.assert_frame_equal(kiwoom_nb.store.read("000660", "D", start="2026-06-01", store=root), fresh,
                                  check_freq=False)
