"""The FID table of Kiwoom's real-time types, shipped as package data (fids.json, built from Kiwoom's guide by
scripts/kiwoom-guide.py): for each type (0B, 0D, 00, 04, 02, F4 ...) its Korean name, its market and, per FID,
a readable name (``10`` -> ``cur_prc``, as the TR answers call it) and the guide's Korean name.

FIDs seen in real answers that the guide's tables lack (F4's 8046) come from observed.json (kiwoom_nb._catalogue).
Read on first use only, then cached. Stdlib only. A FID or type the table lacks is absent from these dicts: a
frame keeps its number as the column name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["about", "kind", "korean", "market", "names", "types"]

_table: dict | None = None
_PRICE = re.compile(r"(?:^|_)(?:prc|pric)$|price$|_bid$")  # as kiwoom_nb._frame
_KOREAN_PRICE = re.compile(r"(?:호가|단가|가격)$")
# codes, names, flags and dates (YYYYMMDD) stay as sent
_TEXT = ("_cd", "_no", "_nm", "_tp", "_sig", "_yn", "_code", "_stt", "_rsn", "seq", "_ticker", "_ori", "_color",
         "_dt", "_unit", "_infr", "_disp")
_KOREAN_TEXT = re.compile(r"(?:코드|번호|구분|여부|부호|기호|명|상태|사유|사번|거래원|색깔|단위|정보|표시)$")


def _types() -> dict[str, dict]:
    global _table
    if _table is None:
        from ._catalogue import observed

        table = json.loads(Path(__file__).with_name("fids.json").read_text(encoding="utf-8"))
        for code, fids in observed().get("fids", {}).items():  # the guide's own rows win
            known = table["types"].get(code, {}).get("fids")
            if known is not None:
                for fid, about in fids.items():
                    known.setdefault(fid, [about.get("name", fid), about.get("korean", "")])
        _table = table
    return _table["types"]


def types() -> dict[str, str]:
    """Type code -> the guide's Korean name (``"0B"`` -> ``"주식체결"``), domestic and US."""
    return {code: t["name"] for code, t in _types().items()}


def names(real_type: str) -> dict[str, str]:
    """FID -> readable name for ``real_type`` ({} for a type the table lacks)."""
    return {fid: row[0] for fid, row in _types().get(real_type, {}).get("fids", {}).items()}


def korean(real_type: str) -> dict[str, str]:
    """FID -> the guide's Korean name for ``real_type``."""
    return {fid: row[1] for fid, row in _types().get(real_type, {}).get("fids", {}).items()}


def market(real_type: str) -> str:
    """``"domestic"`` or ``"us"`` (``""`` for a type the table lacks)."""
    return _types().get(real_type, {}).get("market", "")


def kind(real_type: str, fid: str) -> str:
    """What a frame does with the value: ``"price"`` (its sign a direction, as in TR frames), ``"time"`` (HHMMSS),
    ``"text"`` (codes, names, identifiers: kept as sent) or ``"number"``. Unknown FIDs are ``"text"``."""
    row = _types().get(real_type, {}).get("fids", {}).get(str(fid))
    if row is None:
        return "text"
    if row[0].startswith("extra_"):  # FIDs the guide lists without a meaning (extra_951): kept as sent
        return "text"
    name = re.sub(r"_\d+$", "", row[0])  # sel_bid_1 as sel_bid
    called = re.sub(r"\d+$", "", row[1].replace(" ", ""))
    if name.endswith(_TEXT) or _KOREAN_TEXT.search(called):
        return "text"
    if name.endswith(("_tm", "_time")):
        return "time"
    if _PRICE.search(name) or _KOREAN_PRICE.search(called):
        return "price"
    return "number"


def about() -> list[str]:
    """The table's header: generator, source (package, sha256) and the day the guide was retrieved."""
    _types()
    return list(_table["about"])  # type: ignore[index]
