"""The fake Kiwoom's made-up stocks: which codes exist, their names, the prices every path is pinned to (``_market``),
and the answers written from the market's numbers: ka10001, ka10099, kt00018. Knows no market of its own: the
caller hands one in (``_market`` imports this module for the anchors).

Stdlib only, deterministic: the same code gives the same answer in every process (sha256, not hash()).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

_OK = "정상적으로 처리되었습니다"

#: Stocks with hand-picked data (name, close on 2026-12-01, the close before it: ``_market.ANCHOR``); the tests and the
#: demo rely on them.
STOCKS = {"005930": ("삼성전자", 160400, 169100), "000660": ("SK하이닉스", 571000, 556000),
          "035420": ("NAVER", 251500, 251500)}

#: The fake's stock list (ka10099): code -> (name, market code: 0 KOSPI, 10 KOSDAQ). Names for kiwoom_nb.code();
#: 삼성전자우 beside 삼성전자 makes a near miss. Codes outside it still have made-up data (:func:`stock`).
LISTED = {"005930": ("삼성전자", "0"), "005935": ("삼성전자우", "0"), "000660": ("SK하이닉스", "0"),
          "035420": ("NAVER", "0"), "005380": ("현대차", "0"), "051910": ("LG화학", "0"), "006400": ("삼성SDI", "0"),
          "207940": ("삼성바이오로직스", "0"), "035720": ("카카오", "0"), "068270": ("셀트리온", "0"),
          "247540": ("에코프로비엠", "10"), "086520": ("에코프로", "10"), "196170": ("알테오젠", "10"),
          "028300": ("HLB", "10"), "263750": ("펄어비스", "10")}

#: Codes the fake documents as unlisted: they answer 1902, like a code Kiwoom does not know.
UNLISTED = frozenset({"000000", "999999"})

#: A well-formed stock code: six characters, a digit first (KRX's newer codes carry letters, e.g. 00088K),
#: optionally with Kiwoom's market suffix _NX (NXT) or _AL (SOR).
_CODE = re.compile(r"(\d[0-9A-Z]{5})(?:_NX|_AL)?")


def _number(code: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()[:12], 16)


def stock(stk_cd: str) -> tuple[str, int, int] | None:
    """(name, close on 2026-12-01, the close before) of ``stk_cd`` (suffix allowed), or None when it is not listed.

    Any well-formed code outside :data:`STOCKS` and :data:`UNLISTED` is listed, with made-up data.
    """
    found = _CODE.fullmatch(str(stk_cd))
    if found is None or found.group(1) in UNLISTED:
        return None
    code = found.group(1)
    if code in STOCKS:
        return STOCKS[code]
    close = 1000 + _number(code, "close") % 300_000 // 100 * 100  # 1,000 to 300,900 won, on a 100-won tick
    previous = close + (_number(code, "previous") % 11 - 5) * (close // 100 // 100 * 100 or 100)
    name = LISTED[code][0] if code in LISTED else f"가상종목{code}"
    return name, close, max(previous, 100)


def _signed(value: int, reference: int) -> str:
    """A price the way Kiwoom sends it: + above the reference (previous close), - below, bare when equal."""
    return f"+{value}" if value > reference else f"-{value}" if value < reference else str(value)


def _change(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def stock_info(stk_cd: str, market: Any) -> dict[str, Any]:
    """ka10001 for a listed ``stk_cd``: every field at the top level, its prices the market's (a ``_market.Market``)
    at its clock."""
    name = stock(stk_cd)[0]  # type: ignore[index]  # the caller checked it is listed
    code = stk_cd.split("_")[0]
    q = market.quote(code)
    cur, ref = q["price"], q["previous"]
    path, last, _ = market.days(code)
    year = [path.bar(k) for k in range(max(last - 249, 0), last + 1)]
    high250 = max(year, key=lambda b: b.high) if year else None
    hi = max(high250.high if high250 else cur, q["high"])
    lo = min([b.low for b in year] + [cur, q["low"]])
    return {
        "stk_cd": stk_cd, "stk_nm": name, "setl_mm": "12", "fav": "0100", "cap": "0000014780",
        "flo_stk": "5969783", "oyr_hgst": _signed(hi, ref), "oyr_lwst": _signed(lo, ref),
        "250hgst": _signed(hi, ref), "250hgst_pric_dt": (high250.at.strftime("%Y%m%d") if high250 else ""),
        "250hgst_pric_pre_rt": f"{(cur - hi) * 100 / hi:+.2f}",
        "per": "18.23", "eps": "8799", "open_pric": _signed(q["open"], ref), "high_pric": _signed(q["high"], ref),
        "low_pric": _signed(q["low"], ref), "base_pric": str(ref), "cur_prc": _signed(cur, ref),
        "pre_sig": "2" if cur > ref else "5" if cur < ref else "3", "pred_pre": _change(cur - ref),
        "flu_rt": f"{(cur - ref) * 100 / ref:+.2f}", "trde_qty": str(q["volume"]).zfill(10), "return_code": 0,
        "return_msg": _OK,
    }


def stock_list(mrkt_tp: str, market: Any) -> dict[str, Any]:
    """ka10099: the stocks of :data:`LISTED` in market ``mrkt_tp`` (0 KOSPI, 10 KOSDAQ; the others are empty): their
    listing dates and previous closes are the market's (a ``_market.Market``)."""
    quote = market.quote
    rows = [{"code": code, "name": name, "listCount": "0000005969783",
             "regDay": market.listed(code).strftime("%Y%m%d"),
             "lastPrice": f"{quote(code)['previous']:08d}", "marketCode": market_code,
             "marketName": "거래소" if market_code == "0" else "코스닥", "nxtEnable": "Y"}
            for code, (name, market_code) in LISTED.items() if market_code == str(mrkt_tp).strip()]
    return {"list": rows, "return_code": 0, "return_msg": _OK}


def holdings() -> dict[str, Any]:
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


__all__ = ["LISTED", "STOCKS", "UNLISTED", "holdings", "stock", "stock_info", "stock_list"]
