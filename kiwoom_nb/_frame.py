"""TR answers -> pandas DataFrame, and the numeric rules. The only module that imports pandas (kiwoom-nb[pandas]).

Rules for ``numeric=True`` (every value Kiwoom sends is a string; each column is judged as a whole):

- Identifiers stay strings: columns named ``*_cd``, ``*_no``, ``*_nm``, ``*_id``, ``*_tp``, ``*_sig``,
  ``*_yn``, ``*code``, ``*name`` (``stk_cd`` "005930", order and account numbers, type codes, pred_pre_sig).
- Dates: a ``dt`` / ``*_dt`` / ``*day`` / ``*_tm`` column whose values are all ``YYYYMMDD`` (or
  ``YYYYMMDDHHMMSS``) becomes datetime64.
- Numbers: a column whose values are all ``[+-]digits[.digits]`` (zero padding allowed, "" is missing)
  becomes int64 (Int64 when something is missing) or float64: ``"-00000000196888"`` -> -196888.
- Price-like columns (``*_prc``, ``*_pric``, ``*price``, ``*_bid``, ``250hgst``, ``oyr_lwst`` ...): the sign is
  Kiwoom's direction marker against the previous close, so the value is the absolute price
  (``"-160400"`` -> 160400) and the direction goes to an added ``<column>_dir`` column (1 up, -1 down,
  0 unsigned) whenever the column carried a sign. Change columns (``pred_pre``, ``flu_rt``, profit/loss)
  keep their sign: ``"-8700"`` -> -8700.
- Anything else (letters, mixed content) stays as Kiwoom sent it. ``numeric=False`` gives exactly the strings.
"""

from __future__ import annotations

import re
from typing import Any

from ._errors import KiwoomError

__all__ = ["PANDAS_MISSING", "is_price", "require_pandas", "to_frame"]

PANDAS_MISSING = ("pandas is not installed: pip install pandas tqdm (from the clone: pip install -e '.[pandas]') "
                  "for DataFrames (or use call() / rows(), or --raw on %kiwoom)")

_IDENTIFIER = ("_cd", "_no", "_nm", "_id", "_tp", "_sig", "_yn", "code", "name")
_PRICE = re.compile(r"(?:^|_)(?:prc|pric)$|price$|_bid$|^(?:\d+|oyr_)?(?:hgst|lwst)$")
_NUMBERS = re.compile(r"[+-]?\d+(?:\.\d+)?(?:\n[+-]?\d+(?:\.\d+)?)*")  # one or more numbers, one a line
_DIGITS = re.compile(r"\d+(?:\n\d+)*")


def require_pandas() -> Any:
    from ._errors import KiwoomError

    try:
        import pandas
    except ImportError:
        raise KiwoomError(PANDAS_MISSING) from None
    return pandas


def is_identifier(name: str) -> bool:
    low = name.lower()
    return low in ("cd", "no", "nm", "id", "tp") or low.endswith(_IDENTIFIER)


def is_price(name: str) -> bool:
    return bool(_PRICE.search(name.lower()))


def _is_date(name: str) -> bool:
    low = name.lower()
    return low == "dt" or low.endswith(("_dt", "day", "_tm"))


def to_frame(answers: list[dict[str, Any]], list_key: str = "", *, numeric: bool = True) -> Any:
    """One DataFrame from the rows of every answer; summary scalars of the first go to ``df.attrs["summary"]``."""

    pd = require_pandas()
    rows: list[dict[str, Any]] = []
    for answer in answers:
        rows.extend(rows_of(answer, list_key))
    frame = pd.DataFrame(rows)
    if answers:
        first = answers[0]
        if any(isinstance(v, list) for v in first.values()):
            frame.attrs["summary"] = {k: v for k, v in first.items()
                                      if not isinstance(v, list) and k not in ("return_code", "return_msg")}
        frame.attrs["api_id"] = getattr(first, "api_id", None)
    frame.attrs["pages"] = len(answers)
    if not numeric:
        return frame
    if frame.attrs.get("summary"):  # the same rules for the scalars beside the list (kt00018's totals)
        frame.attrs["summary"] = convert(pd.DataFrame([frame.attrs["summary"]])).iloc[0].to_dict()
    return convert(frame)


def convert(frame: Any) -> Any:
    """Apply the numeric rules (module docstring) to every column, in place of the strings.

    Works on plain lists with one regex pass per column: pandas' string accessors run a Python call
    per value and cost ~20x more on Kiwoom-sized frames.
    """
    pd = require_pandas()
    directions = {}
    for name in list(frame.columns):
        if is_identifier(str(name)):
            continue
        text = frame[name].tolist()
        try:
            joined = "\n".join(text)  # also the type check: anything but str raises TypeError
        except TypeError:
            continue
        if " " in joined or "\t" in joined:
            text = [v.strip() for v in text]
            joined = "\n".join(text)
        missing = "" in text
        present = [v for v in text if v] if missing else text
        if not present:
            continue
        if missing:
            joined = "\n".join(present)
        if _is_date(str(name)):
            width = len(present[0])
            if width in (8, 14) and len(joined) == len(present) * (width + 1) - 1 and _DIGITS.fullmatch(joined):
                try:
                    frame[name] = pd.to_datetime([v or None for v in text],
                                                 format="%Y%m%d" if width == 8 else "%Y%m%d%H%M%S")
                    continue
                except (ValueError, TypeError):
                    pass
        if not _NUMBERS.fullmatch(joined):
            continue
        kind = float if "." in joined else int
        if missing:
            parsed = pd.array([kind(v) if v else None for v in text], dtype="float64" if kind is float else "Int64")
        else:
            parsed = list(map(kind, text))
        series = pd.Series(parsed, index=frame.index, dtype=None if missing else ("float64" if kind is float else "int64"))
        if is_price(str(name)):
            if "+" in joined or "-" in joined:
                directions[f"{name}_dir"] = pd.Series(
                    [1 if v[:1] == "+" else -1 if v[:1] == "-" else 0 for v in text], index=frame.index, dtype="int8")
            series = series.abs()
        frame[name] = series
    added = {name: values for name, values in directions.items() if name not in frame.columns}
    if added:  # joined at once: one insert per column fragments a wide answer (ka10004's dozens of bid prices)
        attrs = frame.attrs
        frame = pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)
        frame.attrs = attrs
    return frame


_STATUS = ("return_code", "return_msg")


def rows_of(answer: dict[str, Any], list_key: str = "", *, strict: bool = True) -> list[dict[str, Any]]:
    """The rows of one answer: the table's list key, else its one list-valued field, else the answer as one row."""
    if list_key and isinstance(answer.get(list_key), list):
        return answer[list_key]
    lists = [k for k, v in answer.items() if isinstance(v, list)]
    if len(lists) == 1:
        return answer[lists[0]]
    if len(lists) > 1:
        if not strict:
            return []
        raise KiwoomError(f"the answer has several lists ({', '.join(lists)}); pass list_key= to choose one")
    return [{k: v for k, v in answer.items() if k not in _STATUS}]
