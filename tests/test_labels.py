"""Answers that read well (issue 20, item 5): Korean labels on every frame, --ko, one-row answers shown
vertically with nothing behind a cut."""

from __future__ import annotations

import pytest
from support import CANARY

from kiwoom_nb import Client, KiwoomError

CHART = {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}


@pytest.fixture
def api(fake):
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
            keys={"production": CANARY["production"], "mock": CANARY["mock"]}).transport) as api:
        quote = one_row(api.frame("ka10001", stk_cd="005930"))
    text = repr(quote)
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:]}
    assert lines["cur_prc"] == ["현재가", "160400"] and lines["stk_nm"] == ["종목명", "삼성전자"]
    assert "…" not in text and "..." not in text and len(lines) == quote.shape[1]
    assert "<td>160400</td>" in quote._repr_html_()
    assert quote["cur_prc"].iloc[0] == 160400 and type(quote[["cur_prc"]]).__name__ == "DataFrame"
