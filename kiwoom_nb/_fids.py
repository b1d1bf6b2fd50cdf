"""STAND-IN, to be replaced at merge by branch 22-fids (kiwoom_nb/_fids.py backed by kiwoom_nb/fids.json).

Same functions as the real table, covering a handful of FIDs of 0B / 0D / 00 / 04 / 02 only, so the stream's
frames can be built and tested meanwhile. An FID not listed keeps its number as the column name.
"""

from __future__ import annotations

__all__ = ["kind", "korean", "market", "names", "types"]

_COMMON = {"10": "cur_prc", "11": "pred_pre", "12": "flu_rt", "13": "acc_trde_qty", "15": "trde_qty",
           "16": "open_pric", "17": "high_pric", "18": "low_pric", "20": "cntr_tm", "25": "pred_pre_sig",
           "27": "sel_bid", "28": "buy_bid", "9001": "stk_cd", "302": "stk_nm"}
_NAMES = {
    "0B": dict(_COMMON),
    "0D": {"21": "bid_req_base_tm", "41": "sel_1th_pre_bid", "51": "buy_1th_pre_bid", "61": "sel_1th_pre_req",
           "71": "buy_1th_pre_req", "121": "tot_sel_req", "125": "tot_buy_req", "13": "acc_trde_qty"},
    "00": {**_COMMON, "9201": "acnt_no", "9203": "ord_no", "913": "ord_stt", "900": "ord_qty", "901": "ord_pric",
           "902": "oso_qty", "905": "io_tp_nm", "908": "ord_tm", "910": "cntr_pric", "911": "cntr_qty"},
    "04": {**_COMMON, "9201": "acnt_no", "930": "poss_qty", "931": "pur_pric", "933": "ord_psbl_qty"},
    "02": {"841": "seq", "9001": "stk_cd", "843": "inout_tp", "20": "cntr_tm", "907": "sell_buy_tp"},
}
_KOREAN = {"0B": "주식체결", "0D": "주식호가잔량", "00": "주문체결", "04": "잔고", "02": "조건검색",
           "F4": "미국주식 실시간 주문 확인", "F5": "미국주식 실시간 체결", "FE": "미국주식 실시간 체결가",
           "FT": "미국주식 10호가"}
_TIMES = {"20", "21", "908"}
_TEXT = {"9001", "302", "9201", "9203", "913", "905", "843", "841", "907", "25"}


def types() -> dict[str, str]:
    """Type code -> Korean name."""
    return dict(_KOREAN)


def names(real_type: str) -> dict[str, str]:
    """FID -> readable column name for ``real_type`` (FID "10" -> "cur_prc")."""
    return dict(_NAMES.get(real_type, {}))


def korean(real_type: str) -> dict[str, str]:
    """FID -> Korean name (the stand-in has none: {})."""
    return {}


def kind(real_type: str, fid: str) -> str:
    """"price" | "time" | "number" | "text" for one FID of ``real_type``."""
    name = _NAMES.get(real_type, {}).get(fid, "")
    if fid in _TIMES:
        return "time"
    if fid in _TEXT or not name:
        return "text"
    if name.endswith(("_prc", "_pric", "_bid")):
        return "price"
    return "number"


def market(real_type: str) -> str:
    """"us" for the US types (F4 F5 FE FT), "domestic" for the others, "" for a type the table lacks."""
    return "" if real_type not in _KOREAN else "us" if real_type.startswith("F") else "domestic"
