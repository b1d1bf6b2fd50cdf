"""Issue 29, item 3: every answer in tests/fixtures/recorded/ (the project's own values in the shapes Kiwoom's servers
really send; see that folder's README) goes through the parser as a user meets it: ``Client.frame`` over HTTP,
``candles`` for the charts, the stream's frame code for real-time entries and condition hits.

What each must show: numbers numeric with their signs right (double signs too), codes as text with their zeros and a
``code`` column beside account codes, dates as dates (``00000000`` and blanks missing), no column name twice
(``labels="ko"`` too), and the flat fields of an answer visible. The expectations are worked out here from the raw
strings, not from the parser's own helpers.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest

from kiwoom_nb import Client
from kiwoom_nb._stream import Event
from kiwoom_nb._stream_frame import events_frame, hits_frame

ROOT = Path(__file__).resolve().parent
#: the fixtures; KIWOOM_NB_RECORDED checks another checkout's folder with these tests
FOLDER = Path(os.environ.get("KIWOOM_NB_RECORDED") or ROOT / "fixtures" / "recorded")
FILES = sorted(FOLDER.glob("*.json"))
NUMBER = re.compile(r"([+-]?)([+-]?)(\d+(?:\.\d+)?)")
STATUS = {"return_code", "return_msg", "returnCode", "returnMsg"}
#: names that hold codes, identifiers, labels or clock readings: never numbers, whatever their digits
NOT_NUMBERS = re.compile(r"(?:^|_)(?:cd|no|nm|id|tp|sig|yn|code|name|tm|time|dt|date)$|day$|code$|name$|^seq$",
                         re.IGNORECASE)
DATES = re.compile(r"(?:^|_)(?:dt|date)$|day$", re.IGNORECASE)
CHARTS = {"ka10080": "1m", "ka10081": "D", "ka10094": "Y"}  # the recorded charts candles() asks for


def test_the_folder_holds_the_recorded_answers():
    """No silent pass: without the fixtures every check below would have nothing to run on."""
    names = {path.stem for path in FILES}
    assert FILES, f"no fixtures in {FOLDER}: tests/fixtures/recorded/*.json must hold the recorded shapes"
    assert {"ka10007", "ka10080", "ka20005", "kt00001", "kt00018", "0B", "0D"} <= names, sorted(names)


def load(path: Path) -> dict:
    data = json.loads(path.read_text("utf-8"))
    assert data.get("source"), f"{path.name} does not say which recording its shape follows"
    return data


REST = [path for path in FILES if "api_id" in load(path)]
REAL_TIME = [path for path in FILES if path not in REST]


def test_every_fixture_is_a_rest_answer_or_a_real_time_frame():
    for path in FILES:
        data = load(path)
        assert ("api_id" in data and "body" in data) or ("type" in data and "frame" in data), path.name


# -- what a raw value means, worked out here ------------------------------------------------------------------------

def read(value: str) -> tuple[float, int] | None:
    """(signed value, direction) of a Kiwoom number: the first sign is the direction, the rest the signed value."""
    found = NUMBER.fullmatch(value.strip())
    if not found:
        return None
    first, second, digits = found.groups()
    number = float(digits)
    return (-number if (second or first) == "-" else number), (1 if first == "+" else -1 if first == "-" else 0)


def numeric_fields(rows: list[dict]) -> dict[str, list[str]]:
    """Fields whose every non-blank value reads as a number and whose name says nothing else."""
    fields: dict[str, list[str]] = {}
    for row in rows:
        for name, value in row.items():
            if isinstance(value, str):
                fields.setdefault(name, []).append(value)
    return {name: values for name, values in fields.items()
            if not NOT_NUMBERS.search(name) and any(v.strip() for v in values)
            and all(read(v) for v in values if v.strip()) and not all(len(v) == 6 and v.isdigit() for v in values)}


def check_numbers(frame: pd.DataFrame, rows: list[dict], where: str) -> int:
    checked = 0
    labels = frame.attrs.get("labels", {})
    for name, values in numeric_fields(rows).items():
        if re.search(r"(?:코드|번호|구분|여부|부호|일자|일|날짜|시간|시각)$", labels.get(name, "")):
            continue  # the catalogue calls it a code, a date or a time
        column = frame[name]
        assert pd.api.types.is_numeric_dtype(column), f"{where}: {name} stayed {column.dtype} ({values[:3]})"
        direction = f"{name}_dir" in frame.columns
        for i, raw in enumerate(values):
            expected = read(raw)
            got = column.iloc[i]
            if expected is None:
                assert pd.isna(got), f"{where}: {name}[{i}] {raw!r} -> {got!r}, not missing"
                continue
            value, sign = expected
            if direction:
                assert got == pytest.approx(abs(value)) and frame[f"{name}_dir"].iloc[i] == sign, \
                    f"{where}: price {name}[{i}] {raw!r} -> {got!r} / {frame[f'{name}_dir'].iloc[i]}"
            else:
                assert got == pytest.approx(value) or got == pytest.approx(abs(value)) and sign == 0, \
                    f"{where}: {name}[{i}] {raw!r} -> {got!r}"
                if raw.strip()[:2] in ("--", "+-", "-+", "++"):
                    assert got == pytest.approx(value), f"{where}: double sign {name}[{i}] {raw!r} -> {got!r}"
        checked += 1
    return checked


def check_dates(frame: pd.DataFrame, rows: list[dict], where: str) -> None:
    for name in {n for row in rows for n in row}:
        values = [row.get(name) for row in rows]
        if not all(isinstance(v, str) for v in values):
            continue
        if DATES.search(name) and all(re.fullmatch(r"\d{8}", v.strip()) or not v.strip() for v in values) \
                and any(v.strip() for v in values):
            column = frame[name]
            assert pd.api.types.is_datetime64_any_dtype(column), f"{where}: date {name} stayed {column.dtype}"
            for raw, got in zip(values, column):
                if raw.strip() in ("", "00000000"):
                    assert pd.isna(got), f"{where}: {name} {raw!r} -> {got!r}, not missing"
                else:
                    assert got == pd.Timestamp(raw.strip()), f"{where}: {name} {raw!r} -> {got!r}"
        if re.search(r"(?:^|_)tm$", name) and all(re.fullmatch(r"\d{14}", v) for v in values):
            column = frame[name]
            assert str(getattr(column.dt, "tz", None)) == "Asia/Seoul", f"{where}: {name} is {column.dtype}"
            assert [t.strftime("%Y%m%d%H%M%S") for t in column] == values


def check_codes(frame: pd.DataFrame, rows: list[dict], where: str) -> None:
    for name in ("stk_cd", "inds_cd", "code", "ord_no"):
        values = [row[name] for row in rows if name in row]
        if values and name in frame.columns:
            assert frame[name].tolist() == values, f"{where}: {name} changed: {frame[name].tolist()[:3]}"
    sent = [row["stk_cd"] for row in rows if "stk_cd" in row]
    if any(re.fullmatch(r"[AJQ][0-9A-Z]{6}", v) for v in sent):
        assert "code" in frame.columns, f"{where}: no code column beside {sent[:3]}"
        for raw, code in zip(sent, frame["code"]):
            fits = re.fullmatch(r"[AJQ]?([0-9A-Z]{6})", raw)
            assert code == (fits.group(1) if fits else raw), f"{where}: {raw!r} -> code {code!r}"


def unique(frame: pd.DataFrame, where: str) -> None:
    columns = list(map(str, frame.columns))
    assert len(columns) == len(set(columns)), f"{where}: {sorted(c for c in columns if columns.count(c) > 1)} twice"


# -- REST answers through the client -------------------------------------------------------------------------------

def serving(api_id: str, body: dict, headers: dict | None = None) -> httpx.MockTransport:
    """Kiwoom for one answer: a token, then ``body`` for ``api_id`` (its own headers, the last page)."""
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"token": "RECORDED-TOKEN-0123456789", "token_type": "bearer",
                                             "expires_dt": "20991231235959", "return_code": 0, "return_msg": "ok"})
        if request.url.path == "/oauth2/revoke":
            return httpx.Response(200, json={"return_code": 0, "return_msg": "ok"})
        assert request.headers["api-id"] == api_id
        return httpx.Response(200, json=body, headers={"api-id": api_id, "cont-yn": "N", "next-key": ""})

    return httpx.MockTransport(handle)


def rest(recorded: dict) -> tuple[str, dict, list[dict], dict]:
    body = recorded["body"]
    key = recorded.get("list_key")
    rows = body[key] if key else [body]
    flat = {k: v for k, v in body.items() if not isinstance(v, list) and k not in STATUS}
    return recorded["api_id"], body, rows, flat


@pytest.mark.parametrize("path", REST, ids=[p.stem for p in REST])
def test_rest_answers_parse_right(path):
    recorded = load(path)
    api_id, body, rows, flat = rest(recorded)
    with Client("RECORDED-APPKEY-0001", "RECORDED-SECRET-0001", base_url="http://127.0.0.1:9",
                transport=serving(api_id, body), pace=None) as api:
        frame = api.frame(api_id, check=False)
        korean = api.frame(api_id, check=False, labels="ko")
    where = f"{api_id} ({recorded['source'].rsplit('/', 2)[-2]})"

    unique(frame, where)
    unique(korean, where + ' labels="ko"')
    assert not STATUS & set(frame.columns), f"{where}: the status became a column"
    if rows:
        assert len(frame) == len(rows)
        check_numbers(frame, rows, where)
        check_dates(frame, rows, where)
        check_codes(frame, rows, where)
    if recorded.get("list_key"):  # the scalars beside the list: in the summary, the same rules
        summary = frame.attrs.get("summary", {})
        assert set(flat) <= set(summary), f"{where}: flat fields missing from the summary"
        for name, raw in flat.items():
            parsed = read(raw) if isinstance(raw, str) and not NOT_NUMBERS.search(name) else None
            if parsed and re.fullmatch(r"\d+", raw):  # zero-padded totals stay integers
                assert isinstance(summary[name], int) and summary[name] == int(raw), f"{where}: {name} {summary[name]!r}"
    if flat and (not rows or not recorded.get("list_key")):  # a flat answer, or flat fields beside an empty list
        assert len(frame) == 1 and set(flat) <= set(frame.columns), f"{where}: flat fields not visible"
        check_numbers(frame, [flat], where + " (flat)")
        check_dates(frame, [flat], where + " (flat)")


@pytest.mark.parametrize("api_id", sorted(CHARTS))
def test_recorded_charts_make_candles(api_id):
    path = FOLDER / f"{api_id}.json"
    assert path.exists(), f"{path} is missing"
    recorded = json.loads(path.read_text("utf-8"))
    rows = recorded["body"][recorded["list_key"]]
    with Client("RECORDED-APPKEY-0001", "RECORDED-SECRET-0001", base_url="http://127.0.0.1:9",
                transport=serving(api_id, recorded["body"]), pace=None) as api:
        frame = api.candles(recorded["body"].get("stk_cd", "005930"), CHARTS[api_id], end="2026-12-31")

    unique(frame, api_id)
    assert list(frame.columns)[:5] == ["open", "high", "low", "close", "volume"]
    assert len(frame) == len(rows) and frame.index.is_monotonic_increasing
    assert all(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)
    assert (frame[["open", "high", "low", "close"]] > 0).all().all()
    oldest_first = rows[::-1]
    assert frame["volume"].tolist() == [int(r["trde_qty"]) for r in oldest_first]  # the bar's own, not acc_trde_qty
    assert frame["close"].tolist() == [abs(int(r["cur_prc"])) for r in oldest_first]
    if api_id == "ka10080":
        assert str(frame.index.tz) == "Asia/Seoul"
        assert [t.strftime("%Y%m%d%H%M%S") for t in frame.index] == [r["cntr_tm"] for r in oldest_first]


# -- real-time entries and condition searches ---------------------------------------------------------------------

@pytest.mark.parametrize("path", REAL_TIME, ids=[p.stem for p in REAL_TIME])
def test_real_time_entries_parse_right(path):
    recorded = load(path)
    kind, frame_sent = recorded["type"], recorded["frame"]
    where = f"{kind} ({recorded['source'].rsplit('/', 1)[-1]})"
    if kind == "ka10171":  # the saved conditions: (seq, name) pairs, text
        assert all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
                   for p in frame_sent["data"])
        return
    if kind == "ka10173":  # watch_condition: the hits' codes, prefix stripped row by row
        from kiwoom_nb._frame import short_code

        codes = [short_code(r["jmcode"]) for r in frame_sent["data"]]
        assert all(re.fullmatch(r"[0-9A-Z]{6}", c) for c in codes), codes
        assert frame_sent.get("return_code") == 0 and recorded["clear"]["return_code"] == 0
        return
    if kind == "ka10172":  # a one-off search: hits_frame
        rows = frame_sent["data"]
        out = hits_frame(rows)
        unique(out, where)
        assert out["stk_cd"].tolist() == [r["9001"] for r in rows]
        assert out["code"].tolist() == [r["9001"][1:] for r in rows] and out["code"].map(len).eq(6).all()
        assert pd.api.types.is_numeric_dtype(out["cur_prc"]) and (out["cur_prc"] > 0).all()
        assert out["cur_prc"].tolist() == [int(r["10"]) for r in rows]
        return
    assert frame_sent["trnm"] == "REAL", f"{where}: no parser check for this fixture"
    entries = [e for e in frame_sent["data"] if e.get("type") == kind]
    assert entries, f"{where}: no {kind} entry"
    events = [Event(kind, e["item"], e["values"], datetime.now().astimezone()) for e in entries]
    out = events_frame(kind, events)
    unique(out, where)
    assert out["item"].tolist() == [e["item"] for e in entries]

    from kiwoom_nb import _fids

    names = _fids.names(kind)
    checked = 0
    for fid in entries[0]["values"]:
        raws = [e["values"].get(fid, "") for e in entries]
        name = names.get(fid, fid)
        assert name in out.columns, f"{where}: FID {fid} is not a column"
        how = _fids.kind(kind, fid)
        if how in ("price", "number") and all(read(r) for r in raws if r.strip()):
            column = out[name]
            assert pd.api.types.is_numeric_dtype(column), f"{where}: FID {fid} {name} stayed {column.dtype}"
            for raw, got in zip(raws, column):
                value, sign = read(raw)
                if how == "price":
                    assert got == pytest.approx(abs(value)), f"{where}: FID {fid} {raw!r} -> {got!r}"
                    if sign:
                        assert out[f"{name}_dir"].iloc[0] == sign
                else:
                    assert got == pytest.approx(value), f"{where}: FID {fid} {raw!r} -> {got!r}"
            checked += 1
        elif how == "time" and fid in ("567", "568") and all(r == "000000" for r in raws):
            assert out[name].isna().all(), f"{where}: FID {fid} 000000 is {out[name].tolist()}, not missing"
        elif how == "text" and all(r.isdigit() for r in raws):
            assert out[name].tolist() == raws, f"{where}: FID {fid} text lost its zeros"
    assert checked, f"{where}: no numeric FID checked"
