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
- Account TRs send ``stk_cd`` as ``A005930``: a ``code`` column (``005930``) is added beside it, to join with other
  frames; ``stk_cd`` stays as sent.
- Anything else (letters, mixed content) stays as Kiwoom sent it. ``numeric=False`` gives exactly the strings.

The guide types every field as a string, so where a name says nothing the catalogue's Korean name decides first
(kiwoom_nb._catalogue, read for the answer's api-id): ...코드 / 번호 / 구분 / 여부 / 부호 / 명 is an identifier
(``acctNo`` 계좌번호 keeps its leading zeros), ...일자 a date, ...시간 / 시각 a clock time kept as ``"093015"``,
...호가 / 단가 / 가격 a price (``sel_1bid`` 매도1호가). The same names go to ``df.attrs["labels"]``.
US answers follow the same rules: decimal prices (``"+201.4700"``) become floats, and their sign is a direction
too (``52wk_lwst_pric`` ``"-145.5000"``).
"""

from __future__ import annotations

import re
from typing import Any

from ._errors import KiwoomError

__all__ = ["PANDAS_MISSING", "is_price", "label", "labels_of", "one_row", "require_pandas", "to_frame"]

PANDAS_MISSING = ("pandas is not installed: pip install pandas tqdm (from the clone: pip install -e '.[pandas]') "
                  "for DataFrames (or use call() / rows(), or --raw on %kiwoom)")

_IDENTIFIER = ("_cd", "_no", "_nm", "_id", "_tp", "_sig", "_yn", "code", "name")
_PRICE = re.compile(r"(?:^|_)(?:prc|pric)$|price$|_bid$|^(?:\d+|oyr_)?(?:hgst|lwst)$")
_KOREAN_IDENTIFIER = re.compile(r"(?:코드|번호|구분|여부|부호|명)$")
_KOREAN_PRICE = re.compile(r"(?:호가|단가|가격)$")
_KOREAN_TIME = re.compile(r"(?:시간|시각)$")
_NUMBERS = re.compile(r"[+-]?\d+(?:\.\d+)?(?:\n[+-]?\d+(?:\.\d+)?)*")  # one or more numbers, one a line
_DIGITS = re.compile(r"\d+(?:\n\d+)*")


def require_pandas() -> Any:
    from ._errors import KiwoomError

    try:
        import pandas
    except ImportError:
        raise KiwoomError(PANDAS_MISSING) from None
    from ._wide import apply

    apply(pandas)  # Korean columns line up in text output, once the extension asked for it
    return pandas


def is_identifier(name: str) -> bool:
    low = name.lower()
    return low in ("cd", "no", "nm", "id", "tp") or low.endswith(_IDENTIFIER)


def is_price(name: str) -> bool:
    return bool(_PRICE.search(name.lower()))


def _is_date(name: str) -> bool:
    low = name.lower()
    return low == "dt" or low.endswith(("_dt", "day", "_tm"))


def _is_time(name: str) -> bool:
    low = name.lower()
    return low == "tm" or low.endswith(("_tm", "_time"))


def labels_of(api_id: Any) -> dict[str, str]:
    """Response field -> Korean name from the catalogue ({} for a TR it does not have)."""
    from ._catalogue import fields_of

    spec = fields_of(str(api_id or "").strip())
    return spec.labels() if spec else {}


def to_frame(answers: list[dict[str, Any]], list_key: str = "", *, numeric: bool = True) -> Any:
    """One DataFrame from the rows of every answer; summary scalars of the first go to ``df.attrs["summary"]``,
    the catalogue's Korean names of its columns to ``df.attrs["labels"]``."""

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
    korean = labels_of(frame.attrs.get("api_id"))
    frame = _with_code(frame, korean)
    if numeric:
        if frame.attrs.get("summary"):  # the same rules for the scalars beside the list (kt00018's totals)
            frame.attrs["summary"] = convert(pd.DataFrame([frame.attrs["summary"]]), korean).iloc[0].to_dict()
        frame = convert(frame, korean)
    return label(frame, korean)


_ACCOUNT_CODE = re.compile(r"A\d{6}")


def _with_code(frame: Any, korean: dict[str, str]) -> Any:
    """Beside an account TR's ``stk_cd`` (``A005930``) a ``code`` column (``005930``) that joins with other frames;
    stk_cd stays as Kiwoom sent it."""
    if "stk_cd" not in frame.columns or "code" in frame.columns or not len(frame):
        return frame
    values = frame["stk_cd"].tolist()
    if not all(isinstance(v, str) and _ACCOUNT_CODE.fullmatch(v.strip()) for v in values):
        return frame
    frame.insert(list(frame.columns).index("stk_cd") + 1, "code", [v.strip()[1:] for v in values])
    korean["code"] = "종목코드(6자리)"
    return frame


def convert(frame: Any, korean: dict[str, str] | None = None) -> Any:
    """Apply the numeric rules (module docstring) to every column, in place of the strings; ``korean`` is the
    catalogue's field -> Korean name, consulted where a column's name says nothing.

    Works on plain lists with one regex pass per column: pandas' string accessors run a Python call
    per value and cost ~20x more on Kiwoom-sized frames.
    """
    pd = require_pandas()
    directions = {}
    korean = korean or {}
    for name in list(frame.columns):
        called = korean.get(str(name), "")
        if is_identifier(str(name)) or _KOREAN_IDENTIFIER.search(called):
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
        clock = _is_time(str(name)) or bool(_KOREAN_TIME.search(called))
        if _is_date(str(name)) or clock or called.endswith("일자"):
            width = len(present[0])
            if width in (8, 14) and len(joined) == len(present) * (width + 1) - 1 and _DIGITS.fullmatch(joined):
                try:
                    frame[name] = pd.to_datetime([v or None for v in text],
                                                 format="%Y%m%d" if width == 8 else "%Y%m%d%H%M%S")
                    continue
                except (ValueError, TypeError):
                    pass
            if width in (4, 6) and len(joined) == len(present) * (width + 1) - 1 and _DIGITS.fullmatch(joined):
                continue  # HHMMSS, HHMM or YYYYMM: a clock reading or a month, its zeros kept
        if not _NUMBERS.fullmatch(joined):
            continue
        kind = float if "." in joined else int
        if missing:
            parsed = pd.array([kind(v) if v else None for v in text], dtype="float64" if kind is float else "Int64")
        else:
            parsed = list(map(kind, text))
        series = pd.Series(parsed, index=frame.index, dtype=None if missing else ("float64" if kind is float else "int64"))
        if is_price(str(name)) or _KOREAN_PRICE.search(called):
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


# -- labels and one-row answers (issue 20, item 5) ---------------------------------------------------------------

def label(frame: Any, labels: dict[str, str]) -> Any:
    """Put the Korean names of ``frame``'s columns in ``frame.attrs["labels"]`` (``<price>_dir`` columns too)."""
    found = {}
    for column in frame.columns:
        name = str(column)
        if name in labels:
            found[name] = labels[name]
        elif name.endswith("_dir") and name[:-4] in labels:
            found[name] = f"{labels[name[:-4]]} 방향"
    frame.attrs["labels"] = found
    return frame


_one_row: Any = None


def _grouped(value: Any) -> str:
    """A value of the vertical one-row display: numbers with thousands separators (35,487,451; -5.14)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return "" if value is None else str(value)
    if value != value:  # NaN
        return ""
    return f"{value:,}"


def one_row(frame: Any) -> Any:
    """``frame`` (one row of a flat answer) as a DataFrame that displays vertically: field, 한글명, value. It is
    a DataFrame in every other way, and what pandas derives from it is a plain one."""
    global _one_row
    pd = require_pandas()
    if _one_row is None:

        class OneRow(pd.DataFrame):
            @property
            def _constructor(self) -> Any:
                return pd.DataFrame

            def vertical(self) -> Any:
                """field (the index), 한글명, value: one line a field; a date without a time shows as a date."""
                labels = self.attrs.get("labels", {})
                values = list(self.iloc[0]) if len(self) else [None] * len(self.columns)
                values = [v.date() if isinstance(v, pd.Timestamp) and v == v.normalize() else v for v in values]
                return pd.DataFrame({"한글명": [labels.get(str(c), "") for c in self.columns], "value": values},
                                    index=[str(c) for c in self.columns])

            def __repr__(self) -> str:
                with pd.option_context("display.max_rows", None, "display.max_colwidth", None,
                                       "display.unicode.east_asian_width", True):  # 한글 is two columns wide
                    return self.vertical().to_string(formatters={"value": _grouped})

            def _repr_html_(self) -> str:
                with pd.option_context("display.max_rows", None):  # nowrap: 2026-10-15 stays on one line
                    return self.vertical().to_html(formatters={"value": _grouped}).replace(
                        "<table ", '<table style="white-space:nowrap" ', 1)

        _one_row = OneRow
    shown = _one_row(frame)
    shown.attrs.update(frame.attrs)
    return shown

