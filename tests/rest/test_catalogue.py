"""The TR table (trs.tsv) and the field catalogue (fields.json), both generated from Kiwoom's guide by
scripts/kiwoom-guide.py, agree with each other and with the guide's counts; the order guard follows them."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from support import before_and_after

from kiwoom_nb.rest import _catalogue
from kiwoom_nb.rest._trs import ORDER_CATEGORIES, fields_of, find_trs, is_order, lookup, table

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kiwoom_nb"


def test_the_catalogue_and_the_table_have_the_same_api_ids():
    assert _catalogue.api_ids() == sorted(table()) == list(table())


def test_every_list_key_of_the_table_is_a_list_in_the_catalogue():
    for api_id, tr in table().items():
        response = fields_of(api_id).response
        lists = [f.name for f in response if f.type == "LIST"]
        if tr.list_key:
            assert tr.list_key in lists, api_id
            assert any(f.list_key == tr.list_key for f in response), api_id  # with its columns
        else:
            assert lists == [], api_id
        assert {f.list_key for f in response} <= {"", *lists}, api_id


def test_the_guide_counts_domestic_and_us_trs():
    markets = [tr.market for tr in table().values()]
    assert (markets.count("domestic"), markets.count("us"), markets.count("")) == (183, 121, 2)
    assert len(table()) == 306
    assert {"ka01300", "ka01301"} <= set(table()) and "ka10009" not in table()
    for tr in table().values():
        prefix = {"domestic": "/api/dostk/", "us": "/api/us/", "": "/oauth2/"}[tr.market]
        assert tr.path.startswith(prefix) and "websocket" not in tr.path, tr
    assert lookup("usa06012").market == "us" and lookup("usa06012").path == "/api/us/chart"
    assert [tr.api_id for tr in find_trs("미국 환전")] == ["ust31300", "ust31301", "ust31302"]


def test_the_generated_files_record_their_source():
    head = [line for line in (PACKAGE / "data" / "trs.tsv").read_text("utf-8").splitlines() if line.startswith("#")]
    about = _catalogue.about()
    assert [line[2:] for line in head] == about
    sha = re.search(r"guide sha256 ([0-9a-f]{64}); retrieved \d{4}-\d{2}-\d{2}", about[1]).group(1)
    assert json.loads((PACKAGE / "data" / "fields.json").read_text("utf-8"))["guide_sha256"] == sha
    assert "scripts/kiwoom-guide.py" in about[0]


def test_ka10081_request_fields():
    fields = fields_of("ka10081")
    base_dt = next(f for f in fields.request if f.name == "base_dt")

    assert (base_dt.korean, base_dt.required, base_dt.length, base_dt.format) == ("기준일자", True, 8, "YYYYMMDD")
    assert fields.required == ["stk_cd", "base_dt", "upd_stkpc_tp"]
    assert fields.request[2].codes == {"0": "미적용", "1": "적용"}  # the guide says "0 or 1": meanings borrowed
    assert fields.labels()["cur_prc"] == "현재가"
    assert {f.list_key for f in fields.response if f.name == "cur_prc"} == {"stk_dt_pole_chart_qry"}
    assert fields_of(" ka10081 ") is fields and fields_of("ka99999") is None


@pytest.mark.parametrize(("api_id", "name", "codes"), [
    ("ka10099", "mrkt_tp", {"0": "코스피", "10": "코스닥"}),  # one code a line, spaces around the colon
    ("ka10027", "mrkt_tp", {"000": "전체", "001": "코스피", "101": "코스닥"}),
    ("ka10027", "stex_tp", {"1": "KRX", "2": "NXT", "3": "통합"}),  # "3.통합" in the guide
    ("ust20000", "stex_tp", {"NA": "AMEX", "ND": "NASDAQ", "NY": "NYSE"}),
    ("ust20000", "trde_tp", {"00": "지정가", "03": "시장가"}),  # "03시장가": a missing colon
    ("ust31302", "exch_tp", {"1": "원화(KRW)->달러(USD)", "2": "달러(USD)->원화(KRW)"}),
])
def test_code_lists_are_parsed_into_data(api_id, name, codes):
    field = next(f for f in fields_of(api_id).request if f.name == name)
    assert codes.items() <= field.codes.items()
    assert field.examples == {}


def test_open_ended_lists_are_examples_not_codes():
    """Stock and sector codes named in passing do not restrict the value (a check must not refuse 005930)."""
    for api_id, fields in ((i, fields_of(i)) for i in table()):
        for f in fields.request:
            if f.name in ("stk_cd", "inds_cd"):
                assert f.codes == {}, (api_id, f)


@pytest.mark.parametrize("api_id", ["ust20000", "ust20001", "ust20002", "ust20003", "ust31302",
                                    "kt10000", "kt10006", "kt50000"])
def test_orders_and_exchange_are_gated(api_id):
    assert is_order(api_id)
    assert is_order(api_id, path=lookup(api_id).path)


@pytest.mark.parametrize("api_id", ["ka10001", "ka10081", "usa06012", "ust21110", "ust31300", "ust31301",
                                    "ust31490", "kt00001", "kt50020"])
def test_quotes_accounts_and_enquiries_are_not(api_id):
    assert not is_order(api_id)
    assert not is_order(api_id, path=lookup(api_id).path)


@pytest.mark.parametrize(("api_id", "path"), [
    ("xx12345", "/api/us/ordr"),
    ("ka99999", "/api/dostk/ordr"),
    ("ka99999", "api/dostk/crdordr/"),
    ("ust39999", "https://api.kiwoom.com/api/us/exchange?x=1"),
    ("ka10001", "/api/dostk/ordr"),  # a known quote sent to an order path: gated all the same
])
def test_any_api_id_sent_to_an_order_path_is_gated(api_id, path):
    assert is_order(api_id, path)
    assert is_order(api_id, path=path)


def test_unknown_api_ids_are_gated_by_prefix():
    for api_id in ("kt19999", "kt59999", "ust20099", "ust39999", "UST20000X"):
        assert is_order(api_id), api_id
    for api_id in ("ka99999", "usa99999", "ust21999"):
        assert not is_order(api_id) and not is_order(api_id, path="/api/us/stkinfo"), api_id


def test_every_order_category_tr_is_gated_but_the_quantity_enquiry():
    for api_id, tr in table().items():
        if tr.category in ORDER_CATEGORIES:
            assert is_order(api_id) == (api_id != "ust31490"), api_id


def test_the_catalogue_is_not_read_at_import_or_load_ext():
    code = (
        "import sys\n"
        "import kiwoom_nb\n"
        "from kiwoom_nb.rest import _trs\n"
        "_trs.table(); _trs.is_order('kt10000', path='/api/us/ordr'); _trs.find_trs('일봉')\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "start_ipython().run_line_magic('load_ext', 'kiwoom_nb')\n"
        "print('before', 'kiwoom_nb.rest._catalogue' in sys.modules)\n"
        "_trs.fields_of('ka10081')\n"
        "from kiwoom_nb.rest import _catalogue\n"
        "print('after', 'kiwoom_nb.rest._catalogue' in sys.modules, len(_catalogue._catalogue), len(_catalogue._fields))\n"
    )
    said = before_and_after(code, ROOT)
    assert said == ["before False", "after True 306 1"]


def test_no_kiwoom_prose_is_shipped():
    """Facts only: names, codes and short meanings; no description sentence of the guide."""
    texts = []
    for line in (PACKAGE / "data" / "trs.tsv").read_text("utf-8").splitlines():
        if not line.startswith("#"):
            texts += line.split("\t")
    for api_id in _catalogue.api_ids():
        fields = fields_of(api_id)
        for f in fields.request:
            texts += [f.name, f.korean, f.type, f.format, *f.codes, *f.codes.values(), *f.examples,
                      *f.examples.values()]
        for f in fields.response:
            texts += [f.name, f.korean, f.list_key, f.type]
    assert max(map(len, texts)) <= 80
    hangul = [t for t in texts if re.search("[가-힣]", t)]
    assert max(map(len, hangul)) <= 40, max(hangul, key=len)
    assert not [t for t in hangul if re.search(r"니다|바랍|하세요|\. ", t)]  # sentence endings


# -- the generator's code-list parser, on descriptions written here (not Kiwoom's) ----------------------------------

@pytest.fixture(scope="module")
def guide():
    spec = importlib.util.spec_from_file_location("kiwoom_guide", ROOT / "scripts" / "kiwoom-guide.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("text", "codes", "closed"), [
    ("1:하나, 2:둘", {"1": "하나", "2": "둘"}, True),
    ("하나:1, 둘:2", {"1": "하나", "2": "둘"}, True),
    ("A : 가, B : 나\nC : 다", {"A": "가", "B": "나", "C": "다"}, True),
    ("0:전부 1:일부,2:없음", {"0": "전부", "1": "일부", "2": "없음"}, True),
    ("1:가, 2:나 3.다", {"1": "가", "2": "나", "3": "다"}, True),
    ("X,Y,Z", {"X": "", "Y": "", "Z": ""}, True),
    ("0 or 1 and more words", {"0": "", "1": ""}, True),
    ("0:전체, 5,10,20(1만단위) 이상", {"0": "전체", "5": "5만 이상", "10": "10만 이상", "20": "20만 이상"}, True),
    ("000:전체, xx00000 참고", {"000": "전체"}, False),
    ("9:하나뿐", {"9": "하나뿐"}, False),
    ("단위: 원", {}, False),
    ("YYYYMMDD", {}, False),
])
def test_the_generator_reads_code_lists(guide, text, codes, closed):
    assert guide.parse_codes("x_tp", text) == (codes, closed)
