"""Answers that read well (issue 20, item 5): Korean labels on every frame, --ko, one-row answers shown
vertically with nothing behind a cut."""

from __future__ import annotations

import pandas as pd
import pytest
from support import CANARY

from kiwoom_nb import Client, KiwoomError

CHART = {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}


@pytest.fixture
def api(fake):
    fake.clock.set("2026-12-01 15:40")  # after the close of the day the fake's hand-picked prices are true
    with Client(*CANARY["production"], transport=fake.transport) as client:
        yield client


def test_every_frame_carries_its_korean_labels(api):
    quote = api.frame("ka10001", stk_cd="005930")
    assert quote.attrs["labels"]["cur_prc"] == "현재가" and quote.attrs["labels"]["cur_prc_dir"] == "현재가 방향"
    assert set(quote.attrs["labels"]) <= set(quote.columns)
    chart = api.frame("ka10081", pages=1, **CHART)
    assert chart.attrs["labels"]["dt"] == "일자" and list(chart.columns)[0] == "cur_prc"
    assert api.to_frame().attrs["labels"]["open_pric"] == "시가"


def test_labels_ko_renames_the_columns(api):
    chart = api.frame("ka10081", pages=1, labels="ko", **CHART)
    assert {"현재가", "일자", "시가"} <= set(chart.columns) and "cur_prc" not in chart.columns
    with pytest.raises(KiwoomError, match="labels='ko'"):
        api.frame("ka10081", pages=1, labels="en", **CHART)


def test_a_one_row_answer_reads_down_the_page():
    from kiwoom_nb._frame import one_row

    with Client(*CANARY["production"], transport=__import__("kiwoom_nb").testing.FakeKiwoom(
            keys={"production": CANARY["production"], "mock": CANARY["mock"]}, clock="2026-12-01 15:40").transport) as api:
        quote = one_row(api.frame("ka10001", stk_cd="005930"))
    text = repr(quote)
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines()[1:]}
    assert lines["cur_prc"] == ["현재가", "160,400"] and lines["stk_nm"] == ["종목명", "삼성전자"]
    assert lines["stk_cd"] == ["종목코드", "005930"]  # a code is no number: no separator, its zeros kept
    assert "…" not in text and "..." not in text and len(lines) == quote.shape[1]
    page = quote._repr_html_()
    assert "<td>160,400</td>" in page and '<table style="white-space:nowrap"' in page  # issue 30: 1,000s; no wrap
    day = next(c for c in quote.columns if c.endswith("_dt"))
    assert lines[day][-1] == quote[day].iloc[0].strftime("%Y-%m-%d")  # a date, not 2026-10-15 00:00:00
    assert f"<td>{quote[day].iloc[0]:%Y-%m-%d}</td>" in page
    assert quote["cur_prc"].iloc[0] == 160400 and type(quote[["cur_prc"]]).__name__ == "DataFrame"


def answer(api_id: str, data: dict) -> "Answer":
    from kiwoom_nb._api import Answer

    return Answer({**data, "return_code": 0, "return_msg": "정상적으로 처리되었습니다"}, api_id=api_id, cont=False,
                  next_key="")


def test_a_us_quote_has_decimal_prices_whose_sign_is_a_direction(api):
    """usa20100 as the guide shows it: "+201.4700" with pred_pre_sig 2 (up), a 52-week low of "-145.5000"."""
    quote = api.to_frame([answer("usa20100", {
        "stk_cd": "NVDA", "stk_nm": "엔비디아", "cur_prc": "+201.4700", "pred_pre_sig": "2", "pred_pre": "+1.4300",
        "flu_rt": "+0.71", "52wk_lwst_pric": "-145.5000", "52wk_lwst_pric_dt": "20250624", "acc_trde_qty": "461734",
        "curr_unit": "USD", "base_exrt": "1520.80", "trd_susp_tp": "0"})])
    row = quote.iloc[0]
    assert (row["cur_prc"], row["cur_prc_dir"]) == (201.47, 1)
    assert (row["52wk_lwst_pric"], row["52wk_lwst_pric_dt"]) == (145.5, pd.Timestamp("2025-06-24"))
    assert row["pred_pre"] == 1.43 and row["flu_rt"] == 0.71 and row["acc_trde_qty"] == 461734
    assert (row["stk_cd"], row["pred_pre_sig"], row["trd_susp_tp"], row["curr_unit"]) == ("NVDA", "2", "0", "USD")
    assert quote.attrs["labels"]["52wk_lwst_pric"] == "52주 최저가" and quote.attrs["labels"]["cur_prc_dir"]


def test_the_catalogue_names_decide_where_a_fields_name_says_nothing(api):
    """Account numbers keep their zeros (계좌번호), clock times stay "093015" (시간), sel_1bid is a price (호가)."""
    account = api.to_frame([answer("ka00001", {"acctNo": "0012345678"})])
    assert account["acctNo"][0] == "0012345678" and account.attrs["labels"] == {"acctNo": "계좌번호"}
    book = api.to_frame([answer("ka10007", {"sel_1bid": "-160500", "buy_1bid": "+160400"})])
    assert (book["sel_1bid"][0], book["sel_1bid_dir"][0], book["buy_1bid_dir"][0]) == (160500, -1, 1)
    assert book.attrs["labels"]["sel_1bid_dir"] == "매도1호가 방향"
    assert api.to_frame([answer("ka10004", {"bid_req_base_tm": "093015"})])["bid_req_base_tm"][0] == "093015"
    tick = api.to_frame([answer("ka10003", {"cntr_infr": [{"tm": "090001", "cur_prc": "+160400"},
                                                          {"tm": "153000", "cur_prc": "-160300"}]})])
    assert tick["tm"].tolist() == ["090001", "153000"] and tick["cur_prc"].tolist() == [160400, 160300]
    assert tick.attrs["labels"]["tm"] == "시간"
