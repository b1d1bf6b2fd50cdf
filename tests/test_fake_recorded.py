"""The fake answers in the shapes Kiwoom's servers were recorded sending (issue 29, item 2).

Each file of tests/fixtures/recorded/ is an answer in a recorded shape (keys, widths, signs, labels) with the project's
own values. For every one, the fake is asked the same question over loopback, and its answer must have the same keys,
the same list key, and values of the same form: read off the fixture's value by :func:`form` (zero-padded to a width,
unsigned, signed, double-signed, decimals, a date, a time, a label ...), never a copy of it.
"""

from __future__ import annotations

import json
import re
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import kiwoom_nb
from kiwoom_nb._catalogue import fields_of
from kiwoom_nb._trs import lookup

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
FIXTURES = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(RECORDED.glob("*.json"))}
REST = sorted(k for k, v in FIXTURES.items() if "api_id" in v)
REAL = sorted(k for k, v in FIXTURES.items() if v.get("frame", {}).get("trnm") == "REAL")

#: What the fake is asked for each recorded REST TR (the recordings' questions, in the fake's days).
BODIES = {"ka10001": {"stk_cd": "005930"}, "ka10004": {"stk_cd": "005930"}, "ka10007": {"stk_cd": "005930"},
          "ka10075": {"all_stk_tp": "0", "trde_tp": "0", "stex_tp": "0"},
          "ka10080": {"stk_cd": "005930", "tic_scope": "1", "upd_stkpc_tp": "1"},
          "ka10081": {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"},
          "ka10094": {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}, "ka10099": {"mrkt_tp": "0"},
          "ka20005": {"inds_cd": "001", "tic_scope": "1"}, "ka20006": {"inds_cd": "001", "base_dt": "20261201"},
          "ka90003": {"trde_upper_tp": "1", "amt_qty_tp": "1", "mrkt_tp": "P00101", "stex_tp": "1"},
          "kt00001": {"qry_tp": "3"}, "kt00007": {"qry_tp": "1", "stk_bond_tp": "0", "sell_tp": "0",
                                                  "dmst_stex_tp": "KRX"},
          "kt00018": {"qry_tp": "1", "dmst_stex_tp": "KRX"}}
#: real-time type -> the item it is registered for (the recordings' items)
ITEMS = {"0B": "005930", "0D": "005930", "0G": "069500", "0I": "MGD", "0J": "001"}


#: FIDs that are times of day (HHMMSS)
CLOCKS = {"20", "21", "1890", "1891", "1892"}


def form(key: str, value: object) -> str:
    """The form of one recorded value, as a regex the fake's value of the same key must match."""
    if not isinstance(value, str):
        return r".*" if value is None else re.escape(json.dumps(value))
    if value == "":
        return r".*"  # a blank where nothing applies; the fake may fill it
    if value == " 0":
        return r" 0|[+-]?\d+"
    if re.fullmatch(r"\d\d:\d\d:\d\d", value):
        return r"\d\d:\d\d:\d\d"
    if re.fullmatch(r"[AQJ][0-9][0-9A-Z]{5}", value):
        return r"[AQJ][0-9][0-9A-Z]{5}"  # a code with its per-row prefix
    digits = re.fullmatch(r"([+-]{0,2})(\d+)(?:\.(\d+))?", value)
    if digits is None:
        if re.fullmatch(r"[A-Z]{2,4}", value):
            return re.escape(value)  # KRX
        return r"(?![+-]?[\d.]+$).+"  # text stays text (names, labels)
    sign, whole, decimals = digits.groups()
    tail = rf"\.\d{{{len(decimals)}}}" if decimals is not None else ""
    if decimals is None and len(whole) > 1 and whole.startswith("0"):
        width = len(whole) + len(sign)
        return rf"\d{{{width}}}|-\d{{{width - 1}}}"  # zero-padded: a loss keeps the width
    if decimals is None and len(whole) in (6, 8, 14) and (re.search(r"(tm|dt|date|Day)$", key) or key in CLOCKS):
        return rf"\d{{{len(whole)}}}"  # dates and times: their width
    if set(whole + (decimals or "")) == {"0"}:
        return rf"[+-]{{0,2}}\d+{tail}"  # a zero: the fake's value may have moved either way
    if sign == "":
        return rf"-?\d+{tail}" if decimals is not None else r"0|[1-9]\d*"  # unsigned, not zero-padded (cap "7781")
    return rf"[+-]{{0,{len(sign)}}}\d+{tail}" if decimals is not None else rf"[+-]{{0,{len(sign)}}}[1-9]\d*|0"


def family(key: str) -> str:
    """Keys that differ by a level number share their forms (sel_3th_pre_req_pre, sel_4th_pre_req_pre); FIDs don't."""
    return key if key.isdigit() else re.sub(r"\d+", "#", key)


def forms(rows: list[dict]) -> dict[str, set[str]]:
    made: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.items():
            made.setdefault(family(key), set()).add(form(key, value))
    return made


def mismatches(got: dict, expected: dict[str, set[str]]) -> list[str]:
    return [f"{key}={value!r} is not {' or '.join(sorted(expected[family(key)]))}" for key, value in got.items()
            if family(key) in expected and not any(re.fullmatch(f, value if isinstance(value, str) else json.dumps(value))
                                                   for f in expected[family(key)])]


def token(fake) -> str:
    return str(kiwoom_nb.issue_token(*fake.keys["production"], base_url=fake.url))


def ask(fake, api_id: str, body: dict) -> httpx.Response:
    with httpx.Client(base_url=fake.url, timeout=10) as http:
        return http.post(lookup(api_id).path, json=body, headers={"api-id": api_id, "authorization": f"Bearer {token(fake)}"})


def test_there_is_a_fixture_for_every_recorded_tr_and_type():
    assert set(REST) == set(BODIES) and set(REAL) == set(ITEMS)
    assert {"ka10171", "ka10172", "ka10173"} <= set(FIXTURES)
    assert all(v["source"].startswith("Kiwoom-Securities/Kiwoom-REST-API:kiwoom_cli_prove/") for v in FIXTURES.values())


@pytest.mark.parametrize("api_id", REST)
def test_the_fake_answers_in_the_recorded_shape(fake, api_id):
    fake.rate_limit = None
    fixture = FIXTURES[api_id]
    recorded, list_key = fixture["body"], fixture["list_key"]
    if api_id == "kt00007":  # the account's orders are the market's (issue 30): place two first, one fills at once
        for kind, price in (("3", ""), ("0", "1000")):
            placed = ask(fake, "kt10000", {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "2", "ord_uv": price,
                                          "trde_tp": kind})
            assert placed.json()["return_code"] == 0
    answer = ask(fake, api_id, BODIES[api_id])
    assert answer.status_code == 200
    body = answer.json()

    assert sorted(body) == sorted(recorded), "the same keys at the top"
    flat = {k: v for k, v in recorded.items() if k != list_key}
    assert mismatches({k: v for k, v in body.items() if k != list_key}, forms([flat])) == []
    if list_key:
        assert lookup(api_id).list_key == list_key and isinstance(body[list_key], list)
        rows = recorded[list_key]
        if not rows:
            assert body[list_key] == [], "nothing held: an empty list, as recorded"
            return
        assert body[list_key], "rows"
        expected = forms(rows)
        for row in body[list_key]:
            assert sorted(row) == sorted(rows[0]), "the same keys in every row"
            assert mismatches(row, expected) == []


def test_account_enquiries_say_what_kiwoom_says(fake):
    fake.rate_limit = None
    said = {api_id: ask(fake, api_id, BODIES[api_id]).json()["return_msg"] for api_id in ("kt00001", "ka10075", "kt00018",
                                                                                            "kt00007")}
    assert said == {"kt00001": "조회가 완료되었습니다.", "ka10075": " 조회가 완료되었습니다.",
                    "kt00018": "조회가 완료되었습니다", "kt00007": "조회가 완료되었습니다"}
    other = ask(fake, "kt00004", {"qry_tp": "0", "dmst_stex_tp": "KRX"}).json()  # not recorded: the plain wording
    assert other["return_code"] == 0 and other["return_msg"] == "조회가 완료되었습니다"
    assert ask(fake, "ka10081", BODIES["ka10081"]).json()["return_msg"] == "정상적으로 처리되었습니다"


def test_double_signs_where_kiwoom_writes_them(fake):
    fake.rate_limit = None
    falls = [r["pred_pre"] for r in ask(fake, "ka20005", BODIES["ka20005"]).json()["inds_min_pole_qry"]
             if r["pred_pre"].startswith("-")]
    assert falls and all(re.fullmatch(r"--\d+", v) for v in falls)  # --53158: direction, then the signed value
    book = ask(fake, "ka10004", BODIES["ka10004"]).json()
    changes = [v for k, v in book.items() if k.endswith("_req_pre")]
    assert any(v.startswith("--") for v in changes) and all(re.fullmatch(r"0|\+\d+|--\d+", v) for v in changes)
    quote = ask(fake, "ka10007", BODIES["ka10007"]).json()
    assert all(re.fullmatch(r"0|\+\d+|--\d+", v) for k, v in quote.items() if k.endswith("_jub_pre"))


def test_program_net_buying_is_bought_less_sold_signed(fake):
    fake.rate_limit = None
    rows = ask(fake, "ka90003", BODIES["ka90003"]).json()["prm_netprps_upper_50"]
    assert all(int(r["prm_netprps_amt"]) == int(r["prm_buy_amt"]) - int(r["prm_sell_amt"]) for r in rows)
    assert any(r["prm_netprps_amt"].startswith("-") for r in rows)  # a net sale, written -1109554 as recorded


def test_minute_bars_carry_the_days_cumulative_quantity(fake):
    fake.rate_limit = None
    rows = ask(fake, "ka10080", BODIES["ka10080"]).json()["stk_min_pole_chart_qry"]
    same_day = [(a, b) for a, b in zip(rows, rows[1:]) if a["cntr_tm"][:8] == b["cntr_tm"][:8]]
    assert same_day and all(int(a["acc_trde_qty"]) - int(b["acc_trde_qty"]) == int(a["trde_qty"]) for a, b in same_day)


def test_daily_and_longer_prices_are_unsigned_and_the_industry_is_001(fake):
    fake.rate_limit = None
    weeks = {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}  # weeks, months: recorded unsigned too
    for api_id, key in (("ka10081", "stk_dt_pole_chart_qry"), ("ka10094", "stk_yr_pole_chart_qry"),
                        ("ka20006", "inds_dt_pole_qry"), ("ka10082", "stk_stk_pole_chart_qry"),
                        ("ka10083", "stk_mth_pole_chart_qry")):
        rows = ask(fake, api_id, BODIES.get(api_id, weeks)).json()[key]
        assert rows
        assert all(re.fullmatch(r"\d+", r[k]) for r in rows for k in ("cur_prc", "open_pric", "high_pric", "low_pric"))
    minute = ask(fake, "ka20005", BODIES["ka20005"]).json()
    assert minute["inds_cd"] == "001" and all(re.fullmatch(r"\d{14}", r["cntr_tm"]) for r in minute["inds_min_pole_qry"])


def test_an_exchange_answer_has_only_the_guides_fields(fake):
    """ust31302 (환전 신청) moves money, so the fake records it as an order; its answer still has no order number."""
    fake.rate_limit = None
    with httpx.Client(base_url=fake.mock_url, timeout=10) as http:
        mock = str(kiwoom_nb.issue_token(*fake.keys["mock"], base_url=fake.mock_url))
        body = http.post("/api/us/exchange", json={"exch_tp": "1", "fc_exmn_amt": "1000"},
                         headers={"api-id": "ust31302", "authorization": f"Bearer {mock}"}).json()
    documented = {f.name for f in fields_of("ust31302").response} | {"return_code", "return_msg"}
    assert body["return_code"] == 0 and set(body) <= documented and "ord_no" not in body
    assert len(fake.orders) == 1


# -- WebSocket -------------------------------------------------------------------------------------------------------

@contextmanager
def socket(fake):
    """A logged-in connection to the fake's WebSocket."""
    from websockets.sync.client import connect

    with connect(fake.ws_url) as ws:
        ws.send(json.dumps({"trnm": "LOGIN", "token": token(fake)}))
        assert json.loads(ws.recv(10))["return_code"] == 0
        yield ws


def until(ws, wanted, what: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv(max(deadline - time.monotonic(), 0.01)))
        found = wanted(frame)
        if found:
            return found
    raise AssertionError(f"no {what} within {timeout} s")


@pytest.mark.parametrize("kind", REAL)
def test_the_fakes_real_time_entries_have_the_recorded_fids(fake, kind):
    recorded = FIXTURES[kind]["frame"]["data"][0]
    with socket(fake) as ws:
        ws.send(json.dumps({"trnm": "REG", "grp_no": "1", "refresh": "1",
                            "data": [{"item": [ITEMS[kind]], "type": [kind]}]}))
        entry = until(ws, lambda f: next((e for e in f.get("data") or [] if f.get("trnm") == "REAL"
                                          and e.get("type") == kind), None), f"{kind} entry")
    assert sorted(entry) == sorted(recorded) and entry["name"] == recorded["name"] and entry["item"] == ITEMS[kind]
    assert sorted(entry["values"], key=int) == sorted(recorded["values"], key=int)
    assert mismatches(entry["values"], forms([recorded["values"]])) == []
    if kind == "0B":
        assert len(entry["values"]) == 43 and entry["values"]["9081"] == "KRX"
        assert re.fullmatch(r"[+-]\d+", entry["values"]["16"])  # the open, signed against the previous close
    if kind == "0D":
        assert len(entry["values"]) == 139


def test_condition_search_frames_have_the_recorded_shape(fake):
    listed, once, live = (FIXTURES[k]["frame"] for k in ("ka10171", "ka10172", "ka10173"))
    cleared = FIXTURES["ka10173"]["clear"]
    with socket(fake) as ws:
        ws.send(json.dumps({"trnm": "CNSRLST"}))
        got = until(ws, lambda f: f if f.get("trnm") == "CNSRLST" else None, "CNSRLST")
        assert sorted(got) == sorted(listed) and all(isinstance(p, list) and len(p) == 2 for p in got["data"])
        ws.send(json.dumps({"trnm": "CNSRREQ", "seq": "0", "search_type": "0", "stex_tp": "K", "cont_yn": "N",
                            "next_key": ""}))
        got = until(ws, lambda f: f if f.get("trnm") == "CNSRREQ" else None, "one-off CNSRREQ")
        assert sorted(got) == sorted(once)  # no return_msg, as recorded
        expected = forms(once["data"])
        assert all(sorted(row) == sorted(once["data"][0]) and mismatches(row, expected) == [] for row in got["data"])
        ws.send(json.dumps({"trnm": "CNSRREQ", "seq": "0", "search_type": "1", "stex_tp": "K"}))
        got = until(ws, lambda f: f if f.get("trnm") == "CNSRREQ" else None, "real-time CNSRREQ")
        assert sorted(got) == sorted(live) and all(sorted(row) == ["jmcode"] for row in got["data"])
        ws.send(json.dumps({"trnm": "CNSRCLR", "seq": "0"}))
        got = until(ws, lambda f: f if f.get("trnm") == "CNSRCLR" else None, "CNSRCLR")
        assert sorted(got) == sorted(cleared) and got["return_msg"] == cleared["return_msg"]
