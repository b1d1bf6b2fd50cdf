"""The store in terminal IPython through a pty (issue 32): %kiwoom_candles keeps and says so in one line,
kiwoom_nb.update ends with its summary, store.info lists what is kept, --no-store keeps nothing more."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
pexpect = pytest.importorskip("pexpect")

from test_terminal import PROMPT, exit_ipython, terminal_ipython  # noqa: E402

IPYTHON = Path(sys.executable).with_name("ipython")
pytestmark = pytest.mark.skipif(not IPYTHON.exists(), reason="IPython's terminal script is not installed")


def test_the_store_in_terminal_ipython(fake, kernel_env, tmp_path):
    store = tmp_path / "store"
    env = {**kernel_env, "KIWOOM_STORE": str(store)}
    with terminal_ipython(env) as child:
        for line in ("%kiwoom_login", "import kiwoom_nb",
                     "df = %kiwoom_candles 005930 --from 2026-11-01",
                     "df = %kiwoom_candles 005930 --from 2026-11-01",
                     'done = kiwoom_nb.update(["005930", "000660"], "D", start="2026-11-01")',
                     'print("KEPT", sorted(kiwoom_nb.store.info()["code"]))',
                     "df = %kiwoom_candles 035420 --from 2026-11-01 --no-store",
                     'print("KEPT", sorted(kiwoom_nb.store.info()["code"]))'):
            child.sendline(line)
            child.expect(PROMPT)
        shown = exit_ipython(child)
    assert "005930: 0 rows from the store, 1 page fetched" in shown  # the first fetch kept what it got
    assert "005930: " in shown and shown.count("rows from the store") >= 2
    assert "update D: " in shown and "0 failed" in shown
    assert shown.count("KEPT ['000660', '005930']") == 2  # 035420 with --no-store: nothing kept
    assert sorted(p.parent.name for p in store.rglob("part.parquet")) == ["code=000660", "code=005930"]
