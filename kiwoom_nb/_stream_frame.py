"""Stream events -> DataFrame: a column per FID under its readable name (kiwoom_nb._fids), prices as positive numbers
plus a ``*_dir`` column (the TR frames' rule), times as times, an unknown FID under its number as sent; ``received_at``
in Korea time (Asia/Seoul), the clock Kiwoom's own times (cntr_tm) are in."""

from __future__ import annotations

from typing import Any

from . import _fids
from ._frame import require_pandas

__all__ = ["events_frame", "hits_frame"]

KST = "Asia/Seoul"


def events_frame(kind: str, events: list[Any]) -> Any:
    pd = require_pandas()
    frame = pd.DataFrame.from_records([e.values for e in events]) if events else pd.DataFrame()
    # Korea time, as cntr_tm (체결시간) is: the two columns read side by side
    frame.insert(0, "received_at", pd.to_datetime([e.received_at for e in events], utc=True).tz_convert(KST))
    frame.insert(0, "item", [e.item for e in events])
    return convert(frame, kind)


def convert(frame: Any, kind: str, names: dict[str, str] | None = None) -> Any:
    pd = require_pandas()
    names = names if names is not None else _fids.names(kind)
    columns: dict[str, Any] = {}
    for fid in frame.columns:
        column = frame[fid]
        name = names.get(fid)
        if name is None or fid in ("item", "received_at"):
            columns[fid if name is None else name] = column
            continue
        how = _fids.kind(kind, fid)
        text = column.astype("string").str.strip()
        if how == "price":
            number = pd.to_numeric(text, errors="coerce")
            columns[name] = number.abs()
            if text.str.startswith(("+", "-")).any():
                sign = text.str[:1]
                columns[f"{name}_dir"] = (sign == "+").astype(int) - (sign == "-").astype(int)
        elif how == "number":
            number = pd.to_numeric(text, errors="coerce")
            columns[name] = number if number.notna().sum() == text.notna().sum() else column
        elif how == "time":
            columns[name] = pd.to_datetime(text, format="%H%M%S", errors="coerce").dt.time
        else:
            columns[name] = column
    return pd.DataFrame(columns, index=frame.index)


def hits_frame(rows: list[dict[str, Any]]) -> Any:
    """A one-off condition search's hits: 9001 (``A005930``) as ``stk_cd`` plus a joinable ``code``."""
    pd = require_pandas()
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=["9001"])
    out = convert(frame, "0B", {**_fids.names("0B"), "9001": "stk_cd", "302": "stk_nm"})
    if "stk_cd" in out:
        out.insert(1, "code", out["stk_cd"].astype(str).str.lstrip("AJQ"))
    if "flu_rt" in out and "12" in frame:  # zero-padded thousandths: 000001500 is +1.50 %
        out["flu_rt"] = out["flu_rt"] / 1000
    return out
