"""Issue 22: the FID table of the real-time types (fids.json, generated from Kiwoom's guide by
scripts/kiwoom-guide.py) and kiwoom_nb._fids, which reads it on first use."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import before_and_after

from kiwoom_nb import _catalogue, _fids

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kiwoom_nb"
WHEEL = Path("/tmp/kwcli/kwcli-1.0.3-py3-none-any.whl")  # Kiwoom's kwcli 1.0.3, where a reviewer has it
READABLE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def test_the_table_covers_the_types_the_stream_needs():
    types = _fids.types()
    assert {"0B", "0D", "00", "04", "0s", "1h", "02", "F4", "F5", "FE", "FT"} <= set(types)
    assert (types["0B"], types["0D"], types["00"], types["04"]) == ("주식체결", "주식호가잔량", "주문체결", "잔고")
    assert {code for code in types if _fids.market(code) == "us"} == {"F4", "F5", "FE", "FT", "S2"}
    assert _fids.market("0B") == _fids.market("02") == "domestic" and _fids.market("ZZ") == ""
    assert len(types) == 25  # the guide's 23 quote types, and the condition pushes 02 and S2


@pytest.mark.parametrize(("fid", "name", "korean"), [
    ("10", "cur_prc", "현재가"), ("11", "pred_pre", "전일대비"), ("12", "flu_rt", "등락율"),
    ("13", "acc_trde_qty", "누적거래량"), ("15", "trde_qty", "거래량"), ("16", "open_pric", "시가"),
    ("17", "high_pric", "고가"), ("18", "low_pric", "저가"), ("20", "cntr_tm", "체결시간"),
    ("27", "sel_bid", "(최우선)매도호가"), ("28", "buy_bid", "(최우선)매수호가"),
])
def test_the_core_of_0b(fid, name, korean):
    assert (_fids.names("0B")[fid], _fids.korean("0B")[fid]) == (name, korean)


def test_other_types_read_as_the_tr_answers_do():
    assert _fids.names("0D")["41"] == "sel_bid_1" and _fids.names("0D")["60"] == "buy_bid_10"
    assert _fids.names("0D")["61"] == "sel_req_1" and _fids.korean("0D")["61"] == "매도호가수량1"
    assert _fids.names("FT")["41"] == "sel_bid_1" and _fids.korean("FT")["41"] == "매도1호가"  # one FID, one name
    assert {_fids.names("00")[f] for f in ("9201", "9203", "9001", "302", "913")} == \
        {"acnt_no", "ord_no", "stk_cd", "stk_nm", "ord_stt"}
    assert _fids.names("04")["930"] == "rmnd_qty" and _fids.names("04")["931"] == "buy_uv"
    assert _fids.names("02") == {"841": "seq", "9001": "stk_cd", "843": "ins_del_tp", "20": "cntr_tm",
                                 "907": "sell_tp"}
    assert set(_fids.names("S2")) == set(_fids.names("02"))  # from the guide's US example: the same FIDs
    assert _fids.names("0s") == {"215": "mkt_op_tp", "20": "cntr_tm", "214": "mkt_open_remn_tm"}
    assert _fids.names("FE")["10"] == "cur_prc" and _fids.names("ZZ") == {} == _fids.korean("ZZ")


def test_every_fid_has_a_readable_name_unique_in_its_type():
    for code in _fids.types():
        names = _fids.names(code)
        assert names and set(names) == set(_fids.korean(code)), code
        assert all(fid.isdigit() for fid in names), code
        assert len(set(names.values())) == len(names), code
        for fid, name in names.items():
            assert READABLE.match(name) and not name.endswith("_dir"), (code, fid, name)  # _dir: the frames' own
            assert not name.startswith("fid_") and name != fid, (code, fid, name)
    for code in _fids.types():  # a FID means the same in every type, so it has one name everywhere
        for other in _fids.types():
            shared = set(_fids.names(code)) & set(_fids.names(other))
            assert all(_fids.names(code)[f] == _fids.names(other)[f] for f in shared), (code, other)


@pytest.mark.parametrize(("real_type", "fid", "kind"), [
    ("0B", "10", "price"), ("0B", "27", "price"), ("0B", "16", "price"), ("0D", "41", "price"),
    ("FT", "60", "price"), ("00", "910", "price"), ("1h", "1221", "price"),
    ("0B", "20", "time"), ("0D", "21", "time"), ("00", "908", "time"), ("0s", "214", "time"),
    ("1h", "1224", "time"),
    ("0B", "11", "number"), ("0B", "12", "number"), ("0B", "15", "number"), ("0D", "61", "number"),
    ("04", "930", "number"), ("0B", "228", "number"),
    ("0B", "25", "text"), ("00", "9201", "text"), ("00", "913", "text"), ("02", "843", "text"),
    ("0s", "215", "text"), ("04", "916", "text"), ("0F", "141", "text"), ("0B", "99999", "text"),
    ("ZZ", "10", "text"),
])
def test_kind_says_what_a_frame_does_with_a_value(real_type, fid, kind):
    assert _fids.kind(real_type, fid) == kind


def test_the_table_records_its_source_like_the_catalogue():
    about = _fids.about()
    assert about[0] == _catalogue.about()[0] and about[1] == _catalogue.about()[1]  # same guide, same day
    data = json.loads((PACKAGE / "fids.json").read_text("utf-8"))
    assert data["guide_sha256"] in about[1] and data["format"] == 1
    assert about[3] == "Real-time types: 20 domestic, 5 US."


def test_no_kiwoom_prose_is_shipped():
    """Facts only: type codes, names and FIDs with their Korean names; no description sentence of the guide."""
    data = json.loads((PACKAGE / "fids.json").read_text("utf-8"))
    texts = []
    for code, t in data["types"].items():
        texts += [code, t["name"], t["market"]]
        for fid, (name, korean) in t["fids"].items():
            texts += [fid, name, korean]
    assert set(data) == {"about", "format", "guide_sha256", "fid", "types"}
    hangul = [t for t in texts if re.search("[가-힣]", t)]
    assert max(map(len, texts)) <= 40 and max(map(len, hangul)) <= 25, max(hangul, key=len)
    assert not [t for t in hangul if re.search(r"니다|바랍|하세요|\. |HHmmss|단위:", t)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Kiwoom's kwcli wheel, which ships the guide: the one ``make test-min`` fetched (KIWOOM_NB_KWCLI_WHEEL), the
    reviewer's copy, else fetched from PyPI with this venv's pip (as the script does). Never skipped: without a
    wheel and without pip the check fails saying how to get it."""
    for found in (os.environ.get("KIWOOM_NB_KWCLI_WHEEL"), WHEEL):
        if found and Path(found).is_file():
            return Path(found)
    if importlib.util.find_spec("pip") is None:
        pytest.fail("the guide check needs Kiwoom's kwcli 1.0.3 wheel and this venv has no pip to fetch it: run it "
                    "through `make test-min` (which fetches it into .cache/kwcli), or set KIWOOM_NB_KWCLI_WHEEL")
    folder = tmp_path_factory.mktemp("kwcli")
    subprocess.run([sys.executable, "-m", "pip", "download", "kwcli==1.0.3", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.13", "-d", str(folder), "-q"], check=True, timeout=300)
    return next(folder.glob("kwcli-*.whl"))


def test_the_generator_reproduces_the_files_and_copies_no_description(wheel):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "kiwoom-guide.py"), str(wheel), "--check"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and "up to date" in done.stdout, (done.stdout, done.stderr)
    with zipfile.ZipFile(wheel) as whl:
        guide = json.loads(whl.read("kiwoom/_data/kiwoom_api_spec.json"))
    shipped = (PACKAGE / "fids.json").read_text("utf-8")
    descriptions = {" ".join(f["description"].split()) for entry in guide["apis"].values()
                    if "/websocket" in entry["meta"]["URL"] for f in entry["response"]["body"]}
    copied = [d for d in descriptions if len(d) >= 12 and d in shipped]
    assert copied == []


def test_the_table_is_package_data_of_the_wheel():
    assert '"fids.json"' in (ROOT / "pyproject.toml").read_text("utf-8")
    assert "graft kiwoom_nb" in (ROOT / "MANIFEST.in").read_text("utf-8")  # the sdist (tests/test_wheel.py builds both)


def test_the_table_is_not_read_at_import_or_load_ext():
    code = (
        "import sys\n"
        "import kiwoom_nb\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "start_ipython().run_line_magic('load_ext', 'kiwoom_nb')\n"
        "fids = sys.modules.get('kiwoom_nb._fids')\n"
        "print('before', fids is not None and fids._table is not None)\n"
        "from kiwoom_nb import _fids\n"
        "print('after', _fids._table is not None, _fids.names('0B')['10'], _fids._table is not None)\n"
    )
    said = before_and_after(code, ROOT)
    assert said == ["before False", "after False cur_prc True"]
