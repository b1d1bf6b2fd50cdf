"""Tab in %kiwoom (issue 20, item 4): api-ids, then the TR's fields as ``name=``, then a field's codes, each with
its Korean name where IPython can carry one (>= 8.6: JupyterLab shows it beside the item, terminal IPython in
its menu). Through real kernels, as a frontend asks: complete_request."""

from __future__ import annotations

import pytest

from kiwoom_nb.notebook._tr_magic import complete_tr_line
from support import COMPLETION_NAMES, Kernel

TYPES = "_jupyter_types_experimental"


def offered(kernel: Kernel, code: str) -> dict[str, str]:
    """What Tab at the end of ``code`` offers: text -> the type the frontend shows beside it, in order."""
    reply = kernel.complete(code)
    assert reply["status"] == "ok", reply
    # as read: the word joiners that keep a name on one line in JupyterLab's menu are invisible, no-break spaces spaces
    types = {item["text"]: item["type"].replace("\u2060", "").replace("\u00a0", " ")
             for item in reply["metadata"].get(TYPES, [])}
    return {text: types.get(text, "") for text in reply["matches"]}


def named(items: dict[str, str], names: dict[str, str]) -> None:
    """``items`` offers ``names``' texts, each shown with its name (on IPython >= 8.6)."""
    assert set(names) <= set(items), items
    if COMPLETION_NAMES:
        assert {text: items[text] for text in names} == names


@pytest.mark.kernel
def test_tab_completes_api_ids_fields_and_codes_until_unloaded(start_kernel):
    kernel = start_kernel()
    kernel.ok("kiwoom_value = 1")
    assert "ka10081" not in offered(kernel, "%kiwoom ka1008")  # no extension, no such completion
    kernel.ok("%load_ext kiwoom_nb")
    # the TR table and the catalogue are read at the first Tab, not at %load_ext
    assert kernel.ok("import sys; print(sorted({'kiwoom_nb.rest._trs', 'kiwoom_nb.rest._catalogue'} & set(sys.modules)))"
                     ).stdout == "[]\n"

    reply = kernel.complete("%kiwoom ka1008")
    assert (reply["cursor_start"], reply["cursor_end"]) == (len("%kiwoom "), len("%kiwoom ka1008"))
    api_ids = offered(kernel, "%kiwoom ka1008")
    assert all(text.startswith("ka1008") for text in api_ids)
    named(api_ids, {"ka10080": "주식분봉차트조회요청", "ka10081": "주식일봉차트조회요청"})

    assert list(offered(kernel, "%kiwoom ka10081 stk")) == ["stk_cd="]
    fields = offered(kernel, "df = %kiwoom ka10081 stk_cd=005930 ")  # the assignment form too
    assert list(fields) == ["base_dt=", "upd_stkpc_tp="]  # stk_cd is given already; required ones come first
    named(fields, {"base_dt=": "기준일자 (필수)", "upd_stkpc_tp=": "수정주가구분 (필수)"})
    codes = offered(kernel, "%kiwoom ka10081 stk_cd=005930 upd_stkpc_tp=")
    assert list(codes) == ["0", "1"]
    named(codes, {"0": "미적용", "1": "적용"})
    named(offered(kernel, "x = 1\n%kiwoom ka10081 stk_cd=005930 --pa"), {"--pages": "N or all"})  # second line

    assert "kiwoom_value" in offered(kernel, "kiwoom_v")  # Python completion still works
    assert "import" in offered(kernel, "impor")

    kernel.ok("%unload_ext kiwoom_nb")
    assert "ka10081" not in offered(kernel, "%kiwoom ka1008")
    assert "kiwoom_value" in offered(kernel, "kiwoom_v")


@pytest.mark.parametrize("line, fragment, texts", [
    ("%kiwoom ", "", None),  # every api-id
    ("%kiwoom --pages 3 ka10081 base_dt=20261201 ", "", ["stk_cd=", "upd_stkpc_tp="]),
    ("%kiwoom ka10081 --raw stk_cd=005930 upd_stkpc_tp=1", "1", ["1"]),
    ("%kiwoom --p", "--p", ["--pages", "--path"]),
])
def test_what_tab_offers(line, fragment, texts):
    found, items = complete_tr_line(line)
    assert found == fragment
    if texts is None:
        assert len(items) > 300 and items[0][0] == "au10001"
    else:
        assert [text for text, _ in items] == texts


def test_api_ids_complete_whatever_the_case_typed():
    fragment, items = complete_tr_line("%kiwoom KA1001")
    assert fragment == "KA1001" and "ka10010" in dict(items) and all(text.startswith("ka1001") for text, _ in items)


@pytest.mark.parametrize("line", [
    "print(1)", "%kiwoom", "%kiwoom_login --v", "%kiwoom --find 일", "%kiwoom ka10081 --pages ", "%kiwoom nosuch1 ",
])
def test_tab_leaves_other_lines_to_ipython(line):
    assert complete_tr_line(line) is None


def test_tab_offers_the_values_the_guide_names_where_it_lists_no_codes():
    from kiwoom_nb.rest._trs import fields_of, table

    api_id, field = next((a, f) for a in table() for f in (fields_of(a).request if fields_of(a) else ())
                         if f.examples and not f.codes)
    fragment, items = complete_tr_line(f"%kiwoom {api_id} {field.name}=")
    assert fragment == "" and [text for text, _ in items] == list(field.examples)
