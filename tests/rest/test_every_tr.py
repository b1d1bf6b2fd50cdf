"""The fake serves them all (issue 20, item 6): every TR of the table, domestic and US, answers through
kiwoom_nb.Client in its documented shape, checks its required fields like Kiwoom (1511) and records orders."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from kiwoom_nb import Client, RequestError
from kiwoom_nb.rest._api import _korean_columns
from kiwoom_nb.rest._catalogue import fields_of
from kiwoom_nb.rest._frame import is_price
from kiwoom_nb.rest._trs import is_order, lookup, table
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing._trs import HANDMADE

#: The account's orders (미체결, 체결; US: 당일 주문체결 확인): the market's order book, empty until an order is placed
ORDER_LISTS = ("ka10075", "kt00007", "ust21510")

EVERY = sorted(api_id for api_id, tr in table().items() if tr.market)
ORDERS = [api_id for api_id in EVERY if is_order(api_id, lookup(api_id).path)]
DATES = {"YYYYMMDD": "20261201", "YYYYMM": "202612", "YYYY": "2026"}
#: TRs whose list is empty in the fake, as Kiwoom's was recorded for an account holding nothing (no open orders, no
#: foreign-currency deposits); tests/fixtures/recorded/ka10075.json, kt00001.json.
EMPTY = frozenset({"ka10075", "kt00001"})


def plausible(field, market: str) -> str:
    """A value for a request field, from the catalogue: its first allowed code, a date in its format, a stock code
    where it names a stock, else something of its kind."""
    korean = field.korean.replace(" ", "")
    if field.codes:
        return next(iter(field.codes))
    if field.examples:
        return next(iter(field.examples))
    if field.format:
        return DATES[field.format]
    if field.name == "stk_cd" or re.search(r"종목(코드|번호)", korean):
        return "AAPL" if market == "us" else "005930"
    if re.search(r"단가|가격", korean) or field.name.endswith("uv"):
        return "185.23" if market == "us" else "160400"
    if "번호" in korean:
        return "0000001"
    if "코드" in korean:
        return "001"
    return "1"


def required_body(api_id: str) -> dict[str, str]:
    """The required fields; an order's price too, which its first order type (보통, 지정가: a limit) needs."""
    market = lookup(api_id).market
    return {f.name: plausible(f, market) for f in fields_of(api_id).request
            if f.required or f.name == "ord_uv" and api_id in ORDERS}


@pytest.fixture
def clients(fake):
    """Production for queries, mock trading (모의투자) for orders: the order guard lets those through unconfirmed."""
    fake.rate_limit = None
    production = Client(*fake.keys["production"], base_url=fake.url, pace=None)
    mock = Client(*fake.keys["mock"], mock=True, base_url=fake.mock_url, pace=None)
    yield {False: production, True: mock}
    production.close()
    mock.close()


def test_the_table_has_every_rest_tr_of_the_guide():
    assert len(EVERY) == 304
    assert sum(lookup(a).market == "us" for a in EVERY) == 121 and all(lookup(a).path.startswith("/api/us/")
                                                                       for a in EVERY if a.startswith("us"))
    assert {"kt10000", "kt10001", "kt10002", "kt10003", "ust20001"} <= set(ORDERS)


def test_every_tr_answers_through_the_client_as_a_frame(fake, clients):
    wrong = []
    for api_id in EVERY:
        tr, body, order = lookup(api_id), required_body(api_id), api_id in ORDERS
        api = clients[order]
        before = len(fake.requests)
        frame = api.frame(api_id, **body)
        answers = api.last
        received = [r for r in fake.requests[before:] if r.path.startswith("/api/")]  # not the token's au10001
        expected_rows = sum(len(a[tr.list_key]) for a in answers) if tr.list_key else 1
        expected_rows = expected_rows or (1 if api_id == "kt00001" else 0)  # its 69 flat fields beside an empty list
        korean = list(frame.rename(columns=_korean_columns(frame)).columns)  # what labels="ko" shows
        problems = [
            *(f"return_code {a['return_code']}: {a['return_msg']}" for a in answers if a["return_code"] != 0),
            *(["not received as sent"] if not received or any(
                (r.api_id, r.path, r.body, r.environment) != (api_id, tr.path, body, "mock" if order else "production")
                for r in received) else []),
            *([f"{len(frame)} frame rows for {expected_rows} answered"] if len(frame) != expected_rows else []),
            *([f"columns twice: {sorted(c for c in frame.columns if list(frame.columns).count(c) > 1)}"]
              if not frame.columns.is_unique else []),
            *([f"Korean columns twice: {sorted({c for c in korean if korean.count(c) > 1})}"]
              if len(set(korean)) != len(korean) else []),
        ]
        if api_id in EMPTY or api_id in ORDER_LISTS:  # recorded: an account that holds nothing answers an empty list
            problems += [f"{len(answers[0][tr.list_key])} rows in {tr.list_key}"] if answers[0][tr.list_key] else []
        elif tr.list_key and not (1 if api_id in HANDMADE else 3) <= len(answers[0][tr.list_key]) <= fake.page_size:
            problems.append(f"{len(answers[0][tr.list_key])} rows in {tr.list_key}")
        if api_id not in HANDMADE:  # the made-up answer has the documented shape
            documented = {f.name for f in fields_of(api_id).response if not f.list_key}
            problems += [f"answer lacks {name}" for name in sorted(documented - set(answers[0]))]
            listed = {f.name for f in fields_of(api_id).response if f.list_key}
            added = {c for c in frame.columns if c.endswith("_dir")} | ({"code"} if "code" not in listed else set())
            if listed and api_id not in EMPTY and set(frame.columns) - added != listed:  # <price>_dir, and code beside an A005930 stk_cd
                problems.append(f"frame columns {sorted(frame.columns)} are not {sorted(listed)}")
        numbered = any(f.name == "ord_no" for f in fields_of(api_id).response)  # ust31302 (환전) has no ord_no
        if order and not ((answers[0].get("ord_no") or not numbered) and fake.orders and fake.orders[-1] is received[-1]):
            problems.append("an order without ord_no, or not in fake.orders")
        if problems:
            wrong.append(f"{api_id}: {'; '.join(problems)}")
    assert wrong == [], "\n".join(wrong)
    assert [r.api_id for r in fake.orders] == ORDERS


def test_a_missing_required_field_is_1511_naming_it_for_every_tr(fake, clients):
    wrong = []
    for api_id in EVERY:
        body, api = required_body(api_id), clients[api_id in ORDERS]
        for name in body:
            try:
                api.call(api_id, check=False, **{k: v for k, v in body.items() if k != name})
            except RequestError as refused:
                if refused.code != 1511 or not refused.return_msg.endswith(f"필드={name}]"):
                    wrong.append(f"{api_id} without {name}: {refused.return_msg}")
            else:
                wrong.append(f"{api_id} without {name}: answered")
            if fake.requests[-1].api_id != api_id or name in fake.requests[-1].body:
                wrong.append(f"{api_id} without {name}: not received as sent")
        empty = next(iter(body), None)
        if empty is not None:  # an empty value is missing too
            with pytest.raises(RequestError, match=f"1511:.*필드={empty}]"):
                api.call(api_id, check=False, **{**body, empty: " "})
    assert wrong == []
    assert fake.orders == []  # a refused order never counts as placed


def test_us_paths_are_routed_and_checked_like_domestic_ones(fake, clients):
    api = clients[False]
    us = required_body("usa10098")
    assert api.call("usa10098", **us)["return_code"] == 0  # /api/us/stkinfo
    with pytest.raises(RequestError, match="1504"):
        api.call("usa10098", "/api/dostk/stkinfo", check=False, **us)
    with pytest.raises(RequestError, match="1504"):
        api.call("ka10001", "/api/us/stkinfo", stk_cd="005930", check=False)
    assert [r.path for r in fake.requests if r.api_id in ("usa10098", "ka10001")] == [
        "/api/us/stkinfo", "/api/dostk/stkinfo", "/api/us/stkinfo"]


# -- the made-up values fit their fields ----------------------------------------------------------------------------

SAMPLES = ["ka10027", "ka10060", "ka10170", "kt00005", "ka10076", "ka90003", "usa06016", "usa20540", "usa21680",
           "ust21070", "ust21160", "ust20001", "ust31301"]
DOMESTIC_PRICE = re.compile(r"[+-]?\d+")
US_PRICE = re.compile(r"[+-]?\d+\.\d{4}")


def made_up(api_id: str, body: dict[str, str] | None = None) -> dict:
    fake = FakeKiwoom(clock="2026-12-01 15:40")  # after the close of the day the hand-picked prices are true
    api = Client(*fake.keys["mock" if api_id in ORDERS else "production"], mock=api_id in ORDERS,
                 transport=fake.transport, pace=None)
    with api:
        return dict(api.call(api_id, check=False, **(required_body(api_id) if body is None else body)))


def fit_problems(api_id: str, answer: dict) -> list[str]:
    spec, market = fields_of(api_id), lookup(api_id).market
    problems = []
    rows = {"": [answer]}
    for field in spec.response:
        if field.type == "LIST":
            rows[field.name] = answer[field.name]
    for field in spec.response:
        if field.type == "LIST":
            continue
        for row in rows[field.list_key]:
            value = row.get(field.name)
            where = f"{api_id} {field.name} ({field.korean})={value!r}"
            if not isinstance(value, str):
                problems.append(f"{where}: missing or not a string")
                continue
            if field.length and len(value) > field.length:
                problems.append(f"{where}: longer than {field.length}")
            name = field.name.lower()
            if (name == "dt" or name.endswith("_dt")) and "일수" not in field.korean and value not in ("", "00000000"):  # none (recorded)
                pattern = {8: "%Y%m%d", 6: "%Y%m", 4: "%Y"}.get(len(value), "?")
                try:
                    datetime.strptime(value, pattern)
                except ValueError:
                    problems.append(f"{where}: not a date")
            clock = value[:8] if ":" in value else value[:6]  # kt00007's ord_tm is HH:MM:SS, as recorded
            if name.endswith("_tm") and value and not re.fullmatch(r"([01]\d|2[0-3]):?[0-5]\d:?[0-5]\d", clock):
                problems.append(f"{where}: not HHMMSS")
            if is_price(name) and not (US_PRICE if market == "us" else DOMESTIC_PRICE).fullmatch(value):
                problems.append(f"{where}: not a {market} price")
            if name.endswith("qty") and not value.isdigit():
                problems.append(f"{where}: not a quantity")
            if name.endswith("_sig") and value not in ("1", "2", "3", "4", "5"):
                problems.append(f"{where}: not a direction code")
    return problems


@pytest.mark.parametrize("api_id", SAMPLES)
def test_made_up_values_fit_their_fields(api_id):
    answer = made_up(api_id)
    spec = fields_of(api_id)

    assert fit_problems(api_id, answer) == []
    for field in spec.response:
        if field.type == "LIST":
            assert 3 <= len(answer[field.name]) <= 20
            documented = {f.name for f in spec.response if f.list_key == field.name}
            assert all(set(row) == documented for row in answer[field.name])
    assert made_up(api_id) == answer  # the same request, the same answer (in every process: sha256, no random)


def test_made_up_values_fit_their_fields_in_every_tr():
    wrong = []
    for api_id in EVERY:
        if api_id not in HANDMADE:
            wrong += fit_problems(api_id, made_up(api_id))
    assert wrong == []


def test_made_up_values_follow_the_request_and_kiwoom_conventions():
    chart = made_up("ka10080", {"stk_cd": "000660", "tic_scope": "1", "upd_stkpc_tp": "1"})
    rows = chart["stk_min_pole_chart_qry"]
    latest = rows[0]  # SK하이닉스's close and change, as ka10001 has them; the sign of a price is a direction
    assert (latest["cur_prc"], latest["pred_pre"], latest["pred_pre_sig"]) == ("+571000", "+15000", "2")
    for row in rows:
        direction = {"2": "+", "5": "-", "3": ""}[row["pred_pre_sig"]]
        assert row["cur_prc"] == direction + row["cur_prc"].lstrip("+-")
        assert row["pred_pre"] == (direction + row["pred_pre"].lstrip("+-") if direction else "0")
        assert int(row["low_pric"].lstrip("+-")) <= int(row["cur_prc"].lstrip("+-")) <= int(row["high_pric"].lstrip("+-"))
        assert abs(int(row["cur_prc"].lstrip("+-")) - 571000) <= 571000 // 10

    ranking = made_up("ka10027", required_body("ka10027"))["pred_pre_flu_rt_upper"]
    names = {row["stk_cd"]: row["stk_nm"] for row in ranking}
    assert names.get("005930", "삼성전자") == "삼성전자" and len(names) > 1  # no stock asked: several, named

    us = made_up("usa20540", required_body("usa20540"))["result_list"]
    assert all(re.fullmatch(r"[A-Z]+", row["stk_cd"]) and US_PRICE.fullmatch(row["cur_prc"]) for row in us)

    account = made_up("kt00005", required_body("kt00005"))  # domestic account answers: zero-padded to the length
    widths = {f.name: f.length for f in fields_of("kt00005").response if not f.list_key and f.type != "LIST"}
    padded = [name for name, value in account.items() if name in widths and re.fullmatch(r"-?0\d+", str(value))]
    assert padded and all(len(account[name]) == widths[name] for name in padded)

    other = made_up("ka10027", {**required_body("ka10027"), "mrkt_tp": "101"})
    assert other != made_up("ka10027", required_body("ka10027"))  # another request, other data
