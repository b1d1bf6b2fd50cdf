"""Issue 30, item 4 (and the mistyped TR id of item 2): what a new user finds by Tab, --help, describe() and --find.
"""

from __future__ import annotations

import re

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.testing.globalipapp import start_ipython
from support import CANARY

import kiwoom_nb
from kiwoom_nb import Client, RequestError


@pytest.fixture
def shell():
    shell = start_ipython() or __import__("IPython").get_ipython()
    shell.run_line_magic("load_ext", "kiwoom_nb")
    yield shell
    shell.run_line_magic("unload_ext", "kiwoom_nb")


def test_tab_after_the_module_lists_its_public_names(shell):
    shell.run_cell("import kiwoom_nb")
    with provisionalcompleter():
        offered = {c.text for c in shell.Completer.completions("kiwoom_nb.", len("kiwoom_nb."))}

    assert {"Client", "Stream", "stream", "client", "code", "describe", "find_trs", "login", "KiwoomError"} <= offered
    assert not offered & {"Any", "annotations", "_panel_login"}
    assert set(dir(kiwoom_nb)) == set(kiwoom_nb.__all__) | {"__version__"}


def test_kiwoom_help_prints_the_usage_with_every_option(shell, capsys):
    result = shell.run_cell("%kiwoom --help")
    out = capsys.readouterr().out

    assert result.error_in_exec is None and result.result is None
    assert out.startswith("Call a Kiwoom TR") and "Usage: %kiwoom API_ID" in out
    from kiwoom_nb._tr_magic import OPTIONS

    for option in (*OPTIONS, "--ko", "--pages", "--find"):
        assert re.search(rf"^\s+{option}\b", out, re.M), option
    assert out.strip() == __import__("inspect").getdoc(type(shell.magics_manager.registry["KiwoomMagics"]).kiwoom)


def test_describe_shows_the_columns_of_the_answer_beside_the_request():
    help_ = kiwoom_nb.describe("ka10081")

    assert ("dt", "일자") in help_.columns and ("cur_prc", "현재가") in help_.columns
    assert ("stk_cd", "종목코드") not in help_.columns  # the request's echo, not a column of the rows
    text = repr(help_)
    assert "answer: a row per stk_dt_pole_chart_qry item (columns):" in text
    assert re.search(r"^  open_pric +시가$", text, re.M)
    page = help_._repr_html_()
    assert 'class="kiwoom-columns"' in page and "<td style=\"text-align:left\">trde_qty</td>" in page
    flat = kiwoom_nb.describe("ka10001")
    assert ("stk_nm", "종목명") in flat.columns and "answer: one row (columns):" in repr(flat)


@pytest.mark.parametrize("word,expected", [
    ("daily", "ka10081"), ("minute", "ka10080"), ("order", "kt10000"), ("balance", "kt00018"),
    ("us", "usa06012"), ("daily chart", "ka10081"), ("us daily chart", "usa06012"), ("weekly", "ka10082"),
    ("condition", "ka30005"), ("fills", "kt00007"), ("unfilled", "ka10075")])
def test_find_trs_takes_english_words(word, expected):
    found = [tr.api_id for tr in kiwoom_nb.find_trs(word)]

    assert expected in found, found


def test_find_trs_us_means_the_us_market_and_english_narrows():
    assert {tr.market for tr in kiwoom_nb.find_trs("us")} == {"us"}
    assert [tr.api_id for tr in kiwoom_nb.find_trs("us daily chart")] == ["usa06012"]
    assert "ka10081" not in [tr.api_id for tr in kiwoom_nb.find_trs("minute")]


def test_find_shows_a_table_in_a_notebook_and_aligned_text_at_a_terminal(shell):
    found = shell.run_cell("%kiwoom --find condition").result
    data = {"text/html": found._repr_html_(), "text/plain": repr(found)}  # what a notebook / a terminal shows

    assert "<table" in data["text/html"] and ">ka30005</td>" in data["text/html"]
    assert "condition search) runs on the WebSocket" in data["text/plain"]  # where condition search really is
    lines = data["text/plain"].splitlines()
    assert any(line.startswith("ka30005   ELW조건검색요청") for line in lines)


def test_a_mistyped_tr_id_suggests_the_closest_with_their_names(fake):
    with pytest.raises(kiwoom_nb.KiwoomError, match=r"did you mean ka10001 \(주식기본정보요청\)"):
        kiwoom_nb.describe("ka1001")
    with Client(*CANARY["production"], transport=fake.transport) as api:
        with pytest.raises(RequestError, match=r"ka1001 is not in kiwoom_nb's TR table; did you mean ka10001 "
                                               r"\(주식기본정보요청\)") as caught:
            api.call("ka1001", stk_cd="005930")
    assert "\n" not in str(caught.value)
    assert not [r for r in fake.requests if r.api_id]  # nothing was sent


def test_the_magic_says_it_too(shell, fake, monkeypatch):
    with pytest.raises(kiwoom_nb.KiwoomError, match=r"did you mean kt10000 \(주식 매수주문\)"):
        kiwoom_nb.describe("kt1000")
    result = shell.run_cell("%kiwoom ka1001?")
    assert "ka10001 (주식기본정보요청)" in str(result.error_in_exec)
