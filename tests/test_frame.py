"""frame(): DataFrames of the fake's candles, holdings and quotes, by the documented numeric rules."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from kiwoom_nb import Client, KiwoomError
from kiwoom_nb._frame import convert, is_price
from kiwoom_nb.testing import DEMO_KEYS, FakeKiwoom

CHART = dict(stk_cd="005930", base_dt="20261201", upd_stkpc_tp="1")


@pytest.fixture
def api():
    fake = FakeKiwoom(page_size=25, candles=100, clock="2026-12-01 15:40")  # after the close of its hand-picked day
    with Client(*DEMO_KEYS["production"], transport=fake.transport, pace=None) as client:
        client.fake = fake
        yield client


def test_candles_follow_the_rules(api):
    df = api.frame("ka10081", **CHART)
    raw = [row for page in api.fake.served for row in page["rows"]]

    assert len(df) == 100 and df.attrs["pages"] == 4
    assert raw[0]["cur_prc"] == "160400" and raw[0]["pred_pre"] == "-8700"  # daily prices unsigned, as recorded
    assert df["cur_prc"].iloc[0] == 160400
    assert df["pred_pre"].iloc[0] == -8700  # a change keeps its sign
    minute = api.frame("ka10080", stk_cd="005930", tic_scope="1", upd_stkpc_tp="1", pages=1)
    assert minute["cur_prc"].iloc[0] == 160400  # a direction marker, not a negative price (-160400)
    assert minute["cur_prc_dir"].iloc[0] == -1  # the direction is kept
    assert df["dt"].iloc[0] == pd.Timestamp("2026-12-01")
    assert str(df["cur_prc"].dtype) == "int64" and str(df["trde_tern_rt"].dtype) == "float64"
    assert df["pred_pre_sig"].iloc[0] == "5"  # a code, not a number
    assert (df["cur_prc"] > 0).all() and (df["low_pric"] <= df["high_pric"]).all()
    assert df.attrs["summary"] == {"stk_cd": "005930"}


def test_holdings_zero_padded_amounts(api):
    df = api.frame("kt00018", qry_tp="1", dmst_stex_tp="KRX")
    summary = df.attrs["summary"]

    assert summary["tot_pur_amt"] == 17598258  # "000000017598258"
    assert df["stk_cd"].tolist() == ["A005930", "A000660"]
    assert df["evltv_prft"].iloc[0] == -87000  # "-00000000087000": a loss keeps its sign
    assert df["cur_prc"].tolist() == [160400, 571000]  # "000000160400": 12 wide, unsigned, as recorded; the market's
    assert (df["evlt_amt"] == df["cur_prc"] * df["rmnd_qty"]).all()  # valued at the market's prices
    assert (df["evltv_prft"] == df["evlt_amt"] - df["pur_amt"]).all()
    assert summary["tot_evlt_pl"] == df["evltv_prft"].sum() and summary["tot_evlt_amt"] == df["evlt_amt"].sum()
    assert df["rmnd_qty"].tolist() == [10, 30]


def test_flat_answer_keeps_identifiers_as_strings(api):
    df = api.frame("ka10001", stk_cd="005930")

    assert len(df) == 1
    assert df["stk_cd"].iloc[0] == "005930"
    day = api.call("ka10081", **CHART)["stk_dt_pole_chart_qry"][0]  # the day's volume, as the chart has it
    assert df["trde_qty"].iloc[0] == int(day["trde_qty"]) > 0  # zero-padded: "00…"
    assert df["flu_rt"].iloc[0] == pytest.approx(-5.14)
    assert pd.Timestamp("2025-12-01") < df["250hgst_pric_dt"].iloc[0] <= pd.Timestamp("2026-12-01")  # a date
    assert df["250hgst_pric_pre_rt"].iloc[0] < 0  # a rate beside a price keeps its sign (below the year's high)
    assert df["pre_sig"].iloc[0] == "5"


def test_numeric_false_is_exactly_what_kiwoom_sent(api):
    df = api.frame("ka10081", numeric=False, **CHART)

    assert df.to_dict("records") == [row for page in api.fake.served for row in page["rows"]]
    assert "cur_prc_dir" not in df.columns


def test_rules_on_edge_values():
    frame = pd.DataFrame({
        "ord_no": ["0000139", "0000140"],  # identifiers stay strings
        "acnt_no": ["1234567890", "1234567891"],
        "sel_fpr_bid": ["-71000", "+71100"],  # a quote: price-like
        "flu_rt": ["+1.43", ""],  # missing stays missing
        "trde_qty": ["0001", ""],
        "cntr_tm": ["20261201093000", "20261201093100"],
        "stk_infr": ["", "관리"],  # text stays text
    })
    out = convert(frame)

    assert out["ord_no"].tolist() == ["0000139", "0000140"] and out["acnt_no"].iloc[0] == "1234567890"
    assert out["sel_fpr_bid"].tolist() == [71000, 71100] and out["sel_fpr_bid_dir"].tolist() == [-1, 1]
    assert out["flu_rt"].iloc[0] == pytest.approx(1.43) and pd.isna(out["flu_rt"].iloc[1])
    assert str(out["trde_qty"].dtype) == "Int64" and out["trde_qty"].iloc[0] == 1 and pd.isna(out["trde_qty"].iloc[1])
    assert out["cntr_tm"].iloc[0] == pd.Timestamp("2026-12-01 09:30:00", tz="Asia/Seoul")  # Korea time
    assert out["stk_infr"].tolist() == ["", "관리"]
    assert is_price("250lwst") and is_price("pred_close_pric") and not is_price("pred_pre")


BLOCK_PANDAS = """
import sys
sys.modules["pandas"] = None  # import pandas now raises ImportError, as if it were not installed
import kiwoom_nb
from kiwoom_nb.testing import FakeKiwoom, DEMO_KEYS
fake = FakeKiwoom()
with kiwoom_nb.Client(*DEMO_KEYS["production"], transport=fake.transport) as api:
    try:
        api.frame("ka10001", stk_cd="005930")
    except kiwoom_nb.KiwoomError as exc:
        print("ERROR", exc)
    print("CALL", api.call("ka10001", stk_cd="005930")["stk_cd"])
    print("SENT", len([r for r in fake.requests if r.path.startswith("/api/")]))
"""


def test_missing_pandas_is_one_line_saying_what_to_install():
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(BLOCK_PANDAS)], capture_output=True, text=True,
                          timeout=60)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ERROR pandas is not installed: pip install pandas tqdm (from the clone: pip install -e '.[pandas]')")
    assert lines[1:] == ["CALL 005930", "SENT 1"]  # nothing sent for the frame; the client still works


def test_several_lists_need_list_key():
    from kiwoom_nb._frame import rows_of

    with pytest.raises(KiwoomError, match="list_key="):
        rows_of({"a": [], "b": []})
    assert rows_of({"a": [{"x": "1"}], "b": []}, "a") == [{"x": "1"}]
