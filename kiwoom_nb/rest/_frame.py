"""TR answers -> pandas DataFrame, and the numeric rules. The only module that imports pandas (kiwoom-nb[pandas]).

Rules for ``numeric=True`` (every value Kiwoom sends is a string; each column is judged as a whole):

- Identifiers stay strings: columns named ``*_cd``, ``*_no``, ``*_nm``, ``*_id``, ``*_tp``, ``*_sig``,
  ``*_yn``, ``*code``, ``*name`` (``stk_cd`` "005930", order and account numbers, type codes, pred_pre_sig).
- Dates: a ``date`` / ``dt`` / ``*_date`` / ``*_dt`` / ``*day`` column (or one the catalogue calls …일자, …일,
  날짜) whose values are ``YYYYMMDD`` becomes datetime64; ``00000000`` and blanks are missing (NaT), not 0. A
  ``*_tm`` column of 14-digit ``YYYYMMDDHHMMSS`` values becomes Korea time (Asia/Seoul; US TRs: naive).
- Numbers: ``[+-]digits[.digits]``, zero padding allowed, becomes int64 (Int64 when something is missing) or
  float64: ``"-00000000196888"`` -> -196888, ``"000000134058529"`` -> 134058529 (also in the summary). Kiwoom
  sometimes sends two signs: the first is the direction, the rest the signed value (``"--53158"`` -> -53158,
  ``"+-121"`` -> -121, ``"++0.34"`` -> 0.34). A column never stays text for one odd value: when most values read
  as numbers (in a price column: any) and the odd ones are made of a number's characters (``--``, ``3.4.5``), those
  become missing (``df.attrs["unreadable"]`` names them); a letter, ``:`` or ``,`` in one makes the column text.
- Price-like columns (``*_prc``, ``*_pric``, ``*price``, ``*_bid``, ``250hgst``, ``oyr_lwst`` ...): the sign is
  Kiwoom's direction marker against the previous close, so the value is the absolute price
  (``"-160400"`` -> 160400) and the direction goes to an added ``<column>_dir`` column (1 up, -1 down,
  0 unsigned) whenever the column carried a sign. Change columns (``pred_pre``, ``flu_rt``, profit/loss)
  keep their sign: ``"-8700"`` -> -8700.
- Account TRs send ``stk_cd`` as ``A005930``: a ``code`` column is added beside it, to join with other frames: the
  six-character KRX code (digits and capitals, ``0106J0``), the ``A`` / ``J`` / ``Q`` prefix stripped row by row
  (``A0106J0`` -> ``0106J0``); a row that does not fit keeps its value as sent. ``stk_cd`` stays as sent.
- A flat answer whose list is empty shows its flat fields as one row (kt00001's 69 fields beside an empty
  ``stk_entr_prst``; "flat": the guide lists more fields beside the list than in it); ``df.attrs["flat"]`` is True
  then. A table's empty list stays 0 rows (its scalars in ``df.attrs["summary"]``).
- Anything else (letters, mixed content) stays as Kiwoom sent it. ``numeric=False`` gives exactly the strings.

The guide types every field as a string, so where a name says nothing the catalogue's Korean name decides first
(kiwoom_nb.rest._catalogue, read for the answer's api-id): ...코드 / 번호 / 구분 / 여부 / 부호 / 명 is an identifier
(``acctNo`` 계좌번호 keeps its leading zeros), ...일자 a date, ...시간 / 시각 a clock time kept as ``"093015"``,
...호가 / 단가 / 가격 a price (``sel_1bid`` 매도1호가). The same names go to ``df.attrs["labels"]``; fields the guide's
tables lack get theirs from observed.json (kiwoom_nb.rest._catalogue.observed_labels).
US answers follow the same rules: decimal prices (``"+201.4700"``) become floats, and their sign is a direction
too (``52wk_lwst_pric`` ``"-145.5000"``).
"""

from __future__ import annotations

import re
from typing import Any

from .._errors import KiwoomError

__all__ = ["PANDAS_MISSING", "is_price", "label", "labels_of", "one_row", "require_pandas", "short_code", "to_frame"]

PANDAS_MISSING = ("pandas is not installed: pip install pandas tqdm (from the clone: pip install -e '.[pandas]') "
                  "for DataFrames (or use call() / rows(), or --raw on %kiwoom)")

_IDENTIFIER = ("_cd", "_no", "_nm", "_id", "_tp", "_sig", "_yn", "code", "name")
_PRICE = re.compile(r"(?:^|_)(?:prc|pric)$|price$|_bid$|^(?:\d+|oyr_)?(?:hgst|lwst)$")
_KOREAN_IDENTIFIER = re.compile(r"(?:코드|번호|구분|여부|부호|명)$")
_KOREAN_PRICE = re.compile(r"(?:호가|단가|가격)$")
_KOREAN_TIME = re.compile(r"(?:시간|시각)$")
_KOREAN_DATE = re.compile(r"(?:일자|날짜|(?<![당전\d])일)$")  # 상장일, 기준일자; not 당일 / 전일 / 5일 (amounts, periods)
_NUMBERS = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:\n[+-]?(?:\d+(?:\.\d+)?|\.\d+))*")  # numbers, one a line
_NUMBER = re.compile(r"([+-]?)([+-]?)(\d+(?:\.\d+)?|\.\d+)")  # direction, then the value's own sign (--53158)
_DIGITS = re.compile(r"\d+(?:\n\d+)*")
_BROKEN = re.compile(r"[0-9+\-.]+|(?i:nan|null|none|n/?a)")  # an odd value made of a number's characters (--,
# 3.4.5), or a word for "no value" (NaN, null): a number gone wrong
_STATUS = ("return_code", "return_msg", "returnCode", "returnMsg")
#: A KRX short code: six digits and capital letters (005930, 0106J0); account TRs put A, J or Q before it.
_SHORT_CODE = re.compile(r"[AJQ]?([0-9A-Z]{6})")
KST = "Asia/Seoul"


def require_pandas() -> Any:
    from .._errors import KiwoomError

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


def _is_date(name: str, called: str = "") -> bool:
    low = name.lower()
    return low in ("dt", "date") or low.endswith(("_dt", "_date", "day")) or bool(_KOREAN_DATE.search(called))


def _is_time(name: str) -> bool:
    low = name.lower()
    return low == "tm" or low.endswith(("_tm", "_time"))


def labels_of(api_id: Any) -> dict[str, str]:
    """Response field -> Korean name from the catalogue, then observed.json for fields the guide's tables lack ({}
    for a TR neither has)."""
    from ._catalogue import fields_of, observed_labels

    api_id = str(api_id or "").strip()
    spec = fields_of(api_id)
    return {**observed_labels(api_id), **(spec.labels() if spec else {})}


def to_frame(answers: list[dict[str, Any]], list_key: str = "", *, numeric: bool = True) -> Any:
    """One DataFrame from the rows of every answer; summary scalars of the first go to ``df.attrs["summary"]``,
    the catalogue's Korean names of its columns to ``df.attrs["labels"]``. A flat answer whose list is empty is
    its flat fields, one row (``df.attrs["flat"]``)."""

    pd = require_pandas()
    rows: list[dict[str, Any]] = []
    for answer in answers:
        rows.extend(rows_of(answer, list_key))
    first = answers[0] if answers else {}
    flat = {k: v for k, v in first.items() if not isinstance(v, list) and k not in _STATUS}
    lists = any(isinstance(v, list) for v in first.values())
    # kt00001 with stk_entr_prst: []: its 69 flat fields are the answer (an empty chart's stk_cd is not)
    empty = lists and not rows and bool(flat) and _mostly_flat(getattr(first, "api_id", None))
    frame = pd.DataFrame([flat] if empty else rows)
    if lists:
        frame.attrs["summary"] = dict(flat)
    if empty:
        frame.attrs["flat"] = True
    frame.attrs["api_id"] = getattr(first, "api_id", None)
    frame.attrs["pages"] = len(answers)
    korean = labels_of(frame.attrs.get("api_id"))
    frame = _with_code(frame, korean)
    if numeric:
        tz = _tz_of(frame.attrs.get("api_id"))
        if frame.attrs.get("summary"):  # the same rules for the scalars beside the list (kt00018's totals)
            summary = convert(pd.DataFrame([frame.attrs["summary"]]), korean, tz=tz)
            frame.attrs["summary"] = {str(k): _scalar(summary[k].iloc[0]) for k in summary.columns}  # int stays int
        frame = convert(frame, korean, tz=tz)
    return label(frame, korean)


def _mostly_flat(api_id: Any) -> bool:
    """True for a TR whose guide lists more fields beside its list than in it (kt00001, kt00004, ka10040): a flat
    answer with a list on the side, not a table with a few scalars beside it (kt00018's totals, a chart's stk_cd)."""
    from ._catalogue import fields_of

    spec = fields_of(str(api_id or "").strip())
    if spec is None:
        return False
    beside = sum(1 for f in spec.response if not f.list_key and f.type != "LIST")
    return beside > sum(1 for f in spec.response if f.list_key)


def _tz_of(api_id: Any) -> str | None:
    """Where a 14-digit timestamp's clock is: Korea for domestic TRs; a US TR's stays naive (candles localise it)."""
    from ._trs import lookup

    tr = lookup(str(api_id or "").strip())
    return None if tr is not None and tr.market == "us" else KST


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python value (``int``, ``float``); missing as None; Timestamps and text as they are."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - only called with pandas
        pass
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__ == "numpy" else value


def short_code(value: Any) -> Any:
    """The six-character KRX code in a ``stk_cd`` as Kiwoom answers it (``A005930`` -> ``005930``, ``Q520078`` ->
    ``520078``, ``0106J0`` as it is); a value that does not fit (``005930_NX``, a US ticker, a blank) as sent."""
    if not isinstance(value, str):
        return value
    found = _SHORT_CODE.fullmatch(value.strip())
    return found.group(1) if found and any(c.isdigit() for c in found.group(1)) else value


def _with_code(frame: Any, korean: dict[str, str]) -> Any:
    """Beside an account TR's ``stk_cd`` (``A005930``) a ``code`` column that joins with other frames
    (kiwoom_nb.rest._codes.short_code, row by row: one row that does not fit keeps its value and costs no other row its
    code); stk_cd stays as Kiwoom sent it. A plain ``005930`` needs no second column."""
    if "stk_cd" not in frame.columns or "code" in frame.columns:
        return frame
    sent = frame["stk_cd"].tolist()
    codes = [short_code(v) for v in sent]
    if codes == sent:
        return frame
    frame.insert(list(frame.columns).index("stk_cd") + 1, "code", codes)
    korean["code"] = "종목코드(6자리)"
    return frame


def _read(value: str, kind: type) -> tuple[Any, int] | None:
    """``value`` as (number, direction) by the sign rules, or None when it is not a number."""
    found = _NUMBER.fullmatch(value)
    if found is None:
        return None
    first, second, digits = found.groups()
    number = kind(digits)
    return (-number if (second or first) == "-" else number), (1 if first == "+" else -1 if first == "-" else 0)


def _dates(pd: Any, text: list[str], present: list[str], joined: str, tz: str | None) -> Any:
    """The column as datetime64 when its values are YYYYMMDD (or YYYYMMDDHHMMSS), zeros and blanks missing; None
    when they are not dates."""
    width = len(present[0])
    if width not in (8, 14) or len(joined) != len(present) * (width + 1) - 1 or not _DIGITS.fullmatch(joined):
        return None
    zero = "0" * width
    values = [v if v and v != zero else None for v in text] if "" in text or zero in joined else text
    stamps = pd.to_datetime(values, format="%Y%m%d" if width == 8 else "%Y%m%d%H%M%S", errors="coerce")
    if stamps.isna().all() and any(v != zero for v in present):
        return None  # eight digits that are no day at all: a number
    return stamps.tz_localize(tz) if width == 14 and tz else stamps


def convert(frame: Any, korean: dict[str, str] | None = None, *, tz: str | None = KST) -> Any:
    """Apply the numeric rules (module docstring) to every column, in place of the strings; ``korean`` is the
    catalogue's field -> Korean name, consulted where a column's name says nothing; ``tz`` the clock of 14-digit
    timestamps (None: naive).

    Works on plain lists with one regex pass per column where the values are plain: pandas' string accessors run a
    Python call per value and cost ~20x more on Kiwoom-sized frames.
    """
    pd = require_pandas()
    directions = {}
    unreadable: dict[str, list[str]] = {}
    korean = korean or {}
    for name in list(frame.columns):
        called = korean.get(str(name), "")
        if is_identifier(str(name)) or _KOREAN_IDENTIFIER.search(called):
            continue
        text = frame[name].tolist()
        try:
            joined = "\n".join(text)  # also the type check: anything but str raises TypeError
        except TypeError:
            if not all(v is None or v != v or isinstance(v, (str, int, float)) for v in text) or \
                    all(isinstance(v, (int, float)) for v in text) or any(isinstance(v, bool) for v in text):
                continue  # lists, objects, JSON numbers throughout: not Kiwoom's strings
            # a JSON null is a blank, not text; a JSON number among strings (20260101, 5) is read as its digits
            text = ["" if v is None or v != v else v if isinstance(v, str) else repr(v) for v in text]
            joined = "\n".join(text)
        if " " in joined or "\t" in joined:
            text = [v.strip() for v in text]
            joined = "\n".join(text)
        missing = "" in text
        present = [v for v in text if v] if missing else text
        dated = _is_date(str(name), called)
        if not present:  # all blank: missing where the name says what it would hold (a date, a price)
            if dated and text:
                frame[name] = pd.to_datetime([None] * len(text))
            elif text and (is_price(str(name)) or _KOREAN_PRICE.search(called)):
                frame[name] = pd.Series([float("nan")] * len(text), index=frame.index, dtype="float64")
            continue
        if missing:
            joined = "\n".join(present)
        clock = _is_time(str(name)) or bool(_KOREAN_TIME.search(called))
        if dated or clock:
            stamps = _dates(pd, text, present, joined, tz)
            if stamps is not None:
                frame[name] = stamps
                continue
            width = len(present[0])
            if width in (4, 6) and len(joined) == len(present) * (width + 1) - 1 and _DIGITS.fullmatch(joined):
                continue  # HHMMSS, HHMM or YYYYMM: a clock reading or a month, its zeros kept
        price = is_price(str(name)) or bool(_KOREAN_PRICE.search(called))
        kind = float if "." in joined else int
        if _NUMBERS.fullmatch(joined):  # the common case: one sign at most, every value a number
            values = [kind(v) if v else None for v in text] if missing else list(map(kind, text))
            signs = [1 if v[:1] == "+" else -1 if v[:1] == "-" else 0 for v in text] \
                if price and ("+" in joined or "-" in joined) else None
        else:
            read = [_read(v, kind) if v else None for v in text]
            odd = [v for v, r in zip(text, read) if v and r is None]
            if not all(_BROKEN.fullmatch(v) for v in odd) or (len(odd) * 2 >= len(present) and not price):
                continue  # text (names, labels, 11:32:13), not numbers with an odd value; a price is a number
            if odd:
                unreadable[str(name)] = odd[:5]
            missing = missing or bool(odd)
            values = [r[0] if r else None for r in read]
            signs = [r[1] if r else 0 for r in read] if price and any(r and r[1] for r in read) else None
        if kind is int and max(map(len, present)) > 18 and any(v is not None and abs(v) >= 2**63 for v in values):
            kind = float  # beyond int64: a float rather than an error
        if missing:
            series = pd.Series(pd.array(values, dtype="float64" if kind is float else "Int64"), index=frame.index)
        else:
            series = pd.Series(values, index=frame.index, dtype="float64" if kind is float else "int64")
        if price:
            if signs is not None:
                directions[f"{name}_dir"] = pd.Series(signs, index=frame.index, dtype="int8")
            series = series.abs()
        frame[name] = series
    added = {name: values for name, values in directions.items() if name not in frame.columns}
    if added:  # joined at once: one insert per column fragments a wide answer (ka10004's dozens of bid prices)
        attrs = frame.attrs
        frame = pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)
        frame.attrs = attrs
    if unreadable:
        frame.attrs["unreadable"] = {**frame.attrs.get("unreadable", {}), **unreadable}
    return frame


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

