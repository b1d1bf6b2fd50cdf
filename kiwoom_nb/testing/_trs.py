"""The TR side of the fake Kiwoom (kiwoom_nb.testing.FakeKiwoom): /api/dostk/* answered the way Kiwoom answers.

Stdlib only. Token checks, api-id / path checks from the shipped TR table, a per-api-id rate limit,
required fields, mock-unsupported TRs, deterministic daily candles over many pages, holdings, orders.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .._trs import lookup
from ._replies import _answer

if TYPE_CHECKING:
    from . import FakeKiwoom
    from ._replies import _Reply

_OK = "정상적으로 처리되었습니다"
_INPUT = "입력 값 오류입니다"
_AUTH = "인증에 실패했습니다"
_RATE = "허용된 요청 개수를 초과하였습니다"

#: The stocks the fake knows (anything else is 1902), with the latest close and the close before it.
STOCKS = {"005930": ("삼성전자", 160400, 169100), "000660": ("SK하이닉스", 571000, 556000),
          "035420": ("NAVER", 251500, 251500)}

#: Required request fields per TR (a missing one is 1511).
REQUIRED = {
    "ka10001": ("stk_cd",),
    "ka10081": ("stk_cd", "base_dt", "upd_stkpc_tp"),
    "ka10099": ("mrkt_tp",),
    "kt00018": ("qry_tp", "dmst_stex_tp"),
    "kt10000": ("dmst_stex_tp", "stk_cd", "ord_qty", "trde_tp"),
    "kt10001": ("dmst_stex_tp", "stk_cd", "ord_qty", "trde_tp"),
}

#: TRs the fake refuses in mock trading with 8104 unless FakeKiwoom(mock_unsupported=...) says otherwise.
MOCK_UNSUPPORTED = frozenset({"ka10068", "ka10069", "ka20068", "ka90012"})


def _error(status: int, return_code: int, text: str) -> tuple[int, dict[str, Any]]:
    return status, {"return_code": return_code, "return_msg": text}


def answer(fake: "FakeKiwoom", environment: str, path: str, headers: dict[str, str], body: Any) -> "_Reply":
    """The reply to one TR request (already recorded by FakeKiwoom.handle)."""

    api_id = headers.get("api-id", "")
    status, payload, more = _decide(fake, environment, path, api_id, headers, body)
    reply = _answer(status, payload, "json", api_id)
    if more:
        reply.headers.update({"cont-yn": "Y", "next-key": more})
    return reply


def _decide(fake: "FakeKiwoom", environment: str, path: str, api_id: str, headers: dict[str, str],
            body: Any) -> tuple[int, dict[str, Any], str]:
    if not api_id:
        return (*_error(200, 2, f"{_INPUT}[1501:API ID가 없습니다]"), "")
    tr = lookup(api_id)
    if tr is None or not api_id.startswith(("ka", "kt")):
        return (*_error(200, 2, f"{_INPUT}[1505:존재하지 않는 API ID입니다 API ID={api_id}]"), "")
    if tr.path != path:
        return (*_error(200, 2, f"{_INPUT}[1504:해당 URL에서는 지원하지 않는 API ID입니다 API ID={api_id}]"), "")
    if not isinstance(body, dict):
        return (*_error(200, 2, f"{_INPUT}[1501:JSON 형식이 아닙니다]"), "")
    with fake._lock:
        refused = _check_token(fake, environment, headers)
        if refused:
            return (*refused, "")
        if environment == "mock" and api_id in fake.mock_unsupported:
            return (*_error(200, 2, f"{_INPUT}[8104:모의투자에서는 지원하지 않는 API입니다]"), "")
        limit = fake.rate_limit.get(api_id, fake.rate_limit.get("*")) if isinstance(fake.rate_limit, dict) \
            else fake.rate_limit
        if limit:
            window = fake._windows.setdefault(api_id, [])
            now = time.monotonic()
            window[:] = [t for t in window if now - t < 1.0]
            if len(window) >= limit:
                fake.rate_refusals += 1
                return (*_error(429, 5, f"{_RATE}[1700:{_RATE} 유량={limit:g}, API ID={api_id}]"), "")
            window.append(now)
        for name in REQUIRED.get(api_id, ()):
            if not str(body.get(name, "")).strip():
                return (*_error(200, 2, f"{_INPUT}[1511:필수 입력 값에 값이 존재하지 않습니다 필드={name}]"), "")
        code = str(body.get("stk_cd", "")).split("_")[0]
        if "stk_cd" in REQUIRED.get(api_id, ()) and code not in STOCKS:
            return (*_error(200, 2, f"{_INPUT}[1902:종목 정보가 없습니다 종목코드={code}]"), "")
        if api_id == "ka10081":
            return _candles(fake, body, headers)
        if api_id == "ka10001":
            return 200, _stock_info(code, body), ""
        if api_id == "ka10099":
            return 200, _stock_list(), ""
        if api_id == "kt00018":
            return 200, _holdings(), ""
        if api_id in ("kt10000", "kt10001"):
            fake.orders.append(fake.requests[-1])
            verb = "매수" if api_id == "kt10000" else "매도"
            return 200, {"ord_no": f"{len(fake.orders):07d}", "dmst_stex_tp": body.get("dmst_stex_tp", "KRX"),
                         "return_code": 0, "return_msg": f"{verb}주문이 완료되었습니다"}, ""
        answer: dict[str, Any] = {tr.list_key: []} if tr.list_key else {}
        return 200, {**answer, "return_code": 0, "return_msg": _OK}, ""


def _check_token(fake: "FakeKiwoom", environment: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
    authorization = headers.get("authorization", "")
    if not authorization:
        return _error(200, 2, f"{_INPUT}[1514:authorization 헤더가 없습니다]")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value:
        return _error(200, 2, f"{_INPUT}[1516:authorization 헤더 형식이 올바르지 않습니다]")
    issued = next((t for t in fake.tokens if t.value == value), None)
    if issued is not None and fake._revoke_countdown is not None and not issued.revoked:
        fake._revoke_countdown -= 1
        if fake._revoke_countdown <= 0:  # revoke_after(n): this request finds its token revoked
            fake._revoke_countdown = None
            issued.revoked = True
    if issued is None or issued.revoked or issued.expires_at <= datetime.now(timezone.utc):
        return _error(200, 3, f"{_AUTH}[8005:Token이 유효하지 않습니다]")
    if issued.environment != environment:
        return _error(200, 3, f"{_AUTH}[8031:투자구분(실전/모의)이 달라서 Token을 사용할수 없습니다]")
    return None


def _signed(value: int, reference: int) -> str:
    """A price the way Kiwoom sends it: + above the reference (previous close), - below, bare when equal."""
    return f"+{value}" if value > reference else f"-{value}" if value < reference else str(value)


def _change(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def candles(stk_cd: str, base_dt: str, count: int) -> list[dict[str, str]]:
    """``count`` deterministic daily candles of ``stk_cd``, newest first, on weekdays up to ``base_dt``."""
    code = stk_cd.split("_")[0]
    _, close, previous = STOCKS.get(code, ("", 50000, 50000))
    closes = [close, previous]
    seed = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16)
    while len(closes) < count + 1:
        seed = (seed * 1103515245 + 12345) % 2**31
        step = (seed % 41 - 20) * max(closes[-1] // 1000, 1)
        closes.append(max(closes[-1] - step, 100))
    try:
        day = datetime.strptime(base_dt, "%Y%m%d").date()
    except ValueError:
        day = date(2026, 12, 1)
    rows = []
    for i in range(count):
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        cur, ref = closes[i], closes[i + 1]
        spread = max(cur // 100, 1)
        open_, high, low = (cur + ref) // 2, max(cur, ref) + spread, min(cur, ref) - spread
        qty = 1_000_000 + (cur * 7 + i * 13) % 9_000_000
        rows.append({
            "cur_prc": _signed(cur, ref), "trde_qty": str(qty), "trde_prica": str(qty * cur // 1_000_000),
            "dt": day.strftime("%Y%m%d"), "open_pric": _signed(open_, ref), "high_pric": _signed(high, ref),
            "low_pric": _signed(low, ref), "pred_pre": _change(cur - ref),
            "pred_pre_sig": "2" if cur > ref else "5" if cur < ref else "3",
            "trde_tern_rt": f"+{(qty % 300) / 100:.2f}",
        })
        day -= timedelta(days=1)
    return rows


def _candles(fake: "FakeKiwoom", body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    stk_cd, base_dt = str(body["stk_cd"]), str(body["base_dt"])
    offset = 0
    if headers.get("cont-yn", "").upper() == "Y":
        key = headers.get("next-key", "")
        expected = fake._next_keys.get(key)
        if expected is None or expected[0] != (stk_cd, base_dt):
            return (*_error(200, 2, f"{_INPUT}[1517:next-key 형식이 올바르지 않습니다]"), "")
        offset = expected[1]
    every = candles(stk_cd, base_dt, fake.candles)
    rows = every[offset:offset + fake.page_size]
    end = offset + len(rows)
    more = ""
    if end < len(every):
        more = f"{stk_cd.split('_')[0]}{every[end]['dt']}{end:08d}"[:50]
        fake._next_keys[more] = ((stk_cd, base_dt), end)
    fake.served.append({"api_id": "ka10081", "rows": rows, "next_key": more,
                        "cont_yn": headers.get("cont-yn", ""), "next_key_in": headers.get("next-key", "")})
    return 200, {"stk_cd": stk_cd, "stk_dt_pole_chart_qry": rows, "return_code": 0, "return_msg": _OK}, more


def _stock_info(code: str, body: dict[str, Any]) -> dict[str, Any]:
    name, cur, ref = STOCKS[code]
    return {
        "stk_cd": str(body.get("stk_cd")), "stk_nm": name, "setl_mm": "12", "fav": "0100", "cap": "0000014780",
        "flo_stk": "5969783", "oyr_hgst": _signed(cur + cur // 10, ref), "oyr_lwst": _signed(cur // 2, ref),
        "250hgst": _signed(cur + cur // 10, ref), "250hgst_pric_dt": "20261015", "250hgst_pric_pre_rt": "-11.58",
        "per": "18.23", "eps": "8799", "open_pric": _signed((cur + ref) // 2, ref), "high_pric": _signed(max(cur, ref), ref),
        "low_pric": _signed(min(cur, ref) - 100, ref), "base_pric": str(ref), "cur_prc": _signed(cur, ref),
        "pre_sig": "2" if cur > ref else "5" if cur < ref else "3", "pred_pre": _change(cur - ref),
        "flu_rt": f"{(cur - ref) * 100 / ref:+.2f}", "trde_qty": "0035487451", "return_code": 0, "return_msg": _OK,
    }


def _stock_list() -> dict[str, Any]:
    rows = [{"code": code, "name": name, "listCount": "0000005969783", "regDay": "19750611",
             "lastPrice": f"{ref:08d}", "marketCode": "0", "marketName": "거래소", "nxtEnable": "Y"}
            for code, (name, _, ref) in STOCKS.items()]
    return {"list": rows, "return_code": 0, "return_msg": _OK}


def _holdings() -> dict[str, Any]:
    """kt00018: zero-padded signed amounts in the summary and in a list of holdings."""
    return {
        "tot_pur_amt": "000000017598258", "tot_evlt_amt": "000000017401370", "tot_evlt_pl": "-00000000196888",
        "tot_prft_rt": "-1.12", "prsm_dpst_aset_amt": "000000100000000",
        "acnt_evlt_remn_indv_tot": [
            {"stk_cd": "A005930", "stk_nm": "삼성전자", "evltv_prft": "-00000000087000", "prft_rt": "-5.14",
             "pur_pric": "000000000169100", "pred_close_pric": "000000000169100", "cur_prc": "-000000000160400",
             "rmnd_qty": "000000000000010", "pur_amt": "000000001691000", "evlt_amt": "000000001604000"},
            {"stk_cd": "A000660", "stk_nm": "SK하이닉스", "evltv_prft": "-00000000109888", "prft_rt": "-0.69",
             "pur_pric": "000000000530461", "pred_close_pric": "000000000556000", "cur_prc": "+000000000571000",
             "rmnd_qty": "000000000000030", "pur_amt": "000000015907258", "evlt_amt": "000000015797370"},
        ],
        "return_code": 0, "return_msg": _OK,
    }


__all__ = ["MOCK_UNSUPPORTED", "REQUIRED", "STOCKS", "answer", "candles"]
