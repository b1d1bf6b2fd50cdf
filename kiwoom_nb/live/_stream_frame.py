"""Stream events -> DataFrame: a column per FID under its readable name (kiwoom_nb.live._fids), prices as positive numbers
plus a ``*_dir`` column (the TR frames' rule, double signs too: ``--2`` is -2), times as times, an unknown FID under
its number as sent; ``received_at`` in Korea time (Asia/Seoul), the clock Kiwoom's own times (cntr_tm) are in. One odd
value costs only itself (missing), never its column; ``000000`` where no time applies (upper / lower limit times, FIDs
567 and 568, before they happen) is missing, not midnight."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from . import _fids
from ..rest._frame import require_pandas, short_code

__all__ = ["events_frame", "hits_frame"]

KST = "Asia/Seoul"
_SURROGATE = re.compile("[\ud800-\udfff]")


def events_frame(kind: str, events: list[Any]) -> Any:
    try:
        return _events_frame(kind, events)
    except UnicodeEncodeError:  # a lone surrogate (json takes "\\ud800"): pandas' str columns refuse it; shown U+FFFD
        from ._reading import Event

        fix = partial(_SURROGATE.sub, "\ufffd")
        return _events_frame(kind, [Event(e.type, fix(e.item), {fix(k): fix(v) for k, v in e.values.items()},
                                          e.received_at) for e in events])


def _events_frame(kind: str, events: list[Any]) -> Any:
    pd = require_pandas()
    frame = _records(pd, events) if events else pd.DataFrame()
    # Korea time, as cntr_tm (체결시간) is: the two columns read side by side
    frame.insert(0, "received_at", pd.to_datetime([e.received_at for e in events], utc=True).tz_convert(KST))
    frame.insert(0, "item", [e.item for e in events])
    return convert(frame, kind)


def _records(pd: Any, events: list[Any]) -> Any:
    """The events' values as columns, never making an Event's dict (a buffered row stays compact): one shape (the
    FIDs of every entry alike, as Kiwoom sends a type) at once, else each row as a dict, as DataFrame.from_records
    would have them."""
    rows = [e._row() for e in events]
    fids = rows[0][0]
    if fids and all(row[0] is fids for row in rows):
        return pd.DataFrame([row[1] for row in rows], columns=list(fids))
    return pd.DataFrame.from_records([dict(zip(f, v)) if f is not None else v for f, v in rows])


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
        if name in columns:  # two FIDs of one name: the second keeps its number, never a second column of the name
            name = f"{name}_{fid}"
        how = _fids.kind(kind, fid)
        text = column.astype("string").str.strip()
        if how in ("price", "number"):
            number, sign = _numbers(pd, text)
            present = int(text.fillna("").ne("").sum())
            if present and number.notna().sum() * 2 < present:
                columns[name] = column  # mostly not numbers: text, as sent
            elif how == "price":
                columns[name] = number.abs()
                columns[f"{name}_dir"] = sign  # always: a stream's columns never depend on whether a tick moved
            else:
                columns[name] = number
        elif how == "time":
            if name.endswith("_occr_tm"):  # 발생시간: 000000 until it happens
                text = text.mask(text.str.fullmatch("0+", na=False))
            columns[name] = pd.to_datetime(text, format="%H%M%S", errors="coerce").dt.time
        else:
            columns[name] = column
    return pd.DataFrame(columns, index=frame.index)


def _numbers(pd: Any, text: Any) -> tuple[Any, Any]:
    """(value, direction) per row by the TR frames' sign rules: the first sign is the direction, what follows the
    signed value (``+-121`` is -121, direction up); anything unreadable is missing."""
    number = pd.to_numeric(text, errors="coerce")  # the common case at C speed; double signs below, row by row
    number = number.mask(number.isin([float("inf"), float("-inf")]))  # "inf" is no price: missing, as "NaN" is
    first = text.str[:1].fillna("")
    direction = (first == "+").astype(int) - (first == "-").astype(int)
    odd = number.isna() & text.fillna("").ne("")
    if odd.any():
        parts = text[odd].str.extract(r"^([+-]?)([+-]?)(\d+(?:\.\d+)?)$")
        digits = pd.to_numeric(parts[2], errors="coerce").astype("float64")
        negative = (parts[1].fillna("") == "-") | ((parts[1].fillna("") == "") & (parts[0].fillna("") == "-"))
        number = number.astype("float64")
        number[odd] = digits.where(~negative, -digits)
        if number.notna().all() and (number == number.round()).all() and not text.str.contains(".", regex=False).any() \
                and (number.abs() < 2**63).all():  # beyond int64 stays a float, never wraps round to -2**63
            number = number.astype("int64")
    return number, direction.where(number.notna(), 0)  # "--" or "+" alone: no value, so no direction either


def hits_frame(rows: list[dict[str, Any]]) -> Any:
    """A one-off condition search's hits: 9001 (``A005930``) as ``stk_cd`` plus a joinable ``code``."""
    pd = require_pandas()
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=["9001"])
    out = convert(frame, "0B", {**_fids.names("0B"), "9001": "stk_cd", "302": "stk_nm"})
    if "stk_cd" in out:
        out.insert(1, "code", [short_code(str(v)) for v in out["stk_cd"]])
    if "flu_rt" in out and "12" in frame and pd.api.types.is_numeric_dtype(out["flu_rt"]):  # 000001500 is +1.50 %
        out["flu_rt"] = out["flu_rt"] / 1000
    return out
