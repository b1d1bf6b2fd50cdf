"""Every TR's fields known (issue 20, items 2 and 3): kiwoom_nb.describe / %kiwoom ka10081? show them, and a
request is checked against them before anything is sent."""

from __future__ import annotations


import pytest
from IPython.testing.globalipapp import start_ipython
from support import CANARY, in_threads

import kiwoom_nb
from kiwoom_nb import Client, KiwoomError, RequestError

CHART = {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}


def sent(fake, api_id: str) -> int:
    return len([r for r in fake.requests if r.api_id == api_id])


@pytest.fixture
def api(fake):
    with Client(*CANARY["production"], transport=fake.transport) as client:
        yield client


def test_describe_lists_the_request_fields_required_first_with_korean_names_and_codes():
    help_ = kiwoom_nb.describe("ka10081")
    assert (help_.api_id, help_.name, help_.category, help_.path) == ("ka10081", "주식일봉차트조회요청", "차트",
                                                                      "/api/dostk/chart")
    assert help_.required == ["stk_cd", "base_dt", "upd_stkpc_tp"]
    adjusted = help_.fields[2]
    assert (adjusted.name, adjusted.korean, adjusted.required, adjusted.codes) == (
        "upd_stkpc_tp", "수정주가구분", True, {"0": "미적용", "1": "적용"})
    text = repr(help_)
    assert text.splitlines()[0].startswith("ka10081 주식일봉차트조회요청 [차트] /api/dostk/chart")
    assert "upd_stkpc_tp  수정주가구분  required  0 미적용, 1 적용" in text
    markup = help_._repr_html_()
    assert "<td style=\"text-align:left\">stk_cd *</td>" in markup and "수정주가구분" in markup

    us = kiwoom_nb.describe("usa06012")  # US stocks too; required first, whatever the guide's order
    assert us.required == ["stex_tp"] and us.fields[0].codes["ND"] == "NASDAQ"
    assert [f.required for f in us.fields] == sorted((f.required for f in us.fields), reverse=True)


def test_describe_of_an_unknown_api_id_suggests_close_ones():
    with pytest.raises(KiwoomError) as unknown:
        kiwoom_nb.describe("ka1008")
    assert str(unknown.value) == ("ka1008 is not in kiwoom_nb's TR table; did you mean ka10008 (주식외국인종목별매매동향), "
                                  "ka10018 (고저가근접요청), ka10028 (시가대비등락률요청)?")


def test_missing_required_fields_are_named_with_korean_names_and_nothing_is_sent(api, fake):
    with pytest.raises(RequestError) as missing:
        api.call("ka10081", stk_cd="005930")
    message = str(missing.value)
    assert message.startswith("ka10081 (주식일봉차트조회요청): missing base_dt (기준일자), upd_stkpc_tp (수정주가구분)")
    assert "nothing was sent" in message and "\n" not in message
    for fetch in (lambda: api.frame("ka10081", stk_cd="005930"), lambda: api.rows("ka10081"),
                  lambda: list(api.pages("ka10081", stk_cd="005930"))):
        with pytest.raises(RequestError):
            fetch()
    assert sent(fake, "ka10081") == 0


def test_an_unknown_field_names_the_closest_valid_ones(api, fake):
    with pytest.raises(RequestError) as unknown:
        api.call("ka10081", stk_code="005930", base_dt="20261201", upd_stkpc_tp="1")
    assert "no field stk_code (did you mean stk_cd (종목코드)?)" in str(unknown.value)
    assert "missing stk_cd (종목코드)" in str(unknown.value)
    assert sent(fake, "ka10081") == 0


def test_a_value_outside_the_codes_lists_the_allowed_ones(api, fake):
    with pytest.raises(RequestError) as bad:
        api.call("ka10081", **{**CHART, "upd_stkpc_tp": "2"})
    assert "upd_stkpc_tp=2 is not one of 0 미적용, 1 적용" in str(bad.value)
    assert sent(fake, "ka10081") == 0


def test_check_false_sends_as_is_and_kiwoom_answers(api, fake):
    with pytest.raises(RequestError) as refused:
        api.call("ka10081", stk_cd="005930", check=False)
    assert refused.value.code == 1511 and sent(fake, "ka10081") == 1  # the fake checks as Kiwoom does


def test_a_path_outside_the_catalogue_is_not_checked(api, fake):
    with pytest.raises(KiwoomError):  # the fake knows no such path: what matters is that it was sent
        api.call("ka10081", "/api/dostk/newer", stk_cd="005930", new_field="1")
    assert sent(fake, "ka10081") == 1


def test_valid_requests_pass_the_checks_from_many_threads(api, fake):
    errors = in_threads(lambda: api.frame("ka10081", pages=1, **CHART), [()] * 4)[1]
    assert errors == [] and sent(fake, "ka10081") == 4


def test_the_magic_shows_help_for_a_trailing_question_mark_and_find_shows_required_fields(capsys):
    shell = start_ipython() or __import__("IPython").get_ipython()
    shell.run_line_magic("load_ext", "kiwoom_nb")
    try:
        for cell in ("%kiwoom ka10081?", "%kiwoom --help ka10081", "help_ = %kiwoom ka10081?"):
            result = shell.run_cell(cell)
            assert result.error_in_exec is None, cell
            shown = result.result if result.result is not None else shell.user_ns["help_"]
            assert isinstance(shown, type(kiwoom_nb.describe("ka10081"))) and shown.api_id == "ka10081", cell
        out = repr(shell.run_cell("%kiwoom --find 주식일봉").result)
        assert "ka10081" in out and "required: stk_cd= base_dt= upd_stkpc_tp=" in out
    finally:
        shell.run_line_magic("unload_ext", "kiwoom_nb")
    assert "pinfo" in shell.transform_cell("%kiwoom ka10081?")  # unloaded: IPython's own meaning again
