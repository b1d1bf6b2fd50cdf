"""Candles as OHLCV frames (issue 21): one stock or many, any chart interval, domestic and US, built on the TR client.

Owns the interval -> TR table, the request each chart needs, when to stop paging, and the frame quants expect
(ascending ``date`` index; open high low close volume [value]); kiwoom_nb.store keeps finished bars. No IPython;
pandas only through kiwoom_nb.rest._frame. Prints a line when stocks failed, or history starts after ``start``."""

from __future__ import annotations

import re
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .._errors import RequestError
from ..store import kept, part_of, server_of, summary, usable_root
from ..store._intervals import _MINUTES, _TICKS, INTERVALS  # the vocabulary the store's read and clear share
from ..store._intervals import interval_of as _interval

if TYPE_CHECKING:
    from ._api import Answer
    from ._client import Client

__all__ = ["INTERVALS", "candles", "exchange_of", "plan"]

_DAYS = {"D": "ka10081", "W": "ka10082", "M": "ka10083", "Y": "ka10094"}
_US_DAYS = {"D": "usa06012", "W": "usa06013", "M": "usa06014", "Y": "usa06015"}
_EXCHANGES = {"NA": "AMEX", "ND": "NASDAQ", "NY": "NYSE"}
#: chart field -> candle column; where a chart has both, the bar's own quantity (trde_qty) is the volume and the
#: cumulative one (acc_trde_qty, ka10080's running total of the day) is left out: never two columns of one name.
_COLUMNS = {"open_pric": "open", "high_pric": "high", "low_pric": "low", "cur_prc": "close",
            "trde_qty": "volume", "trde_prica": "value"}
_CUMULATIVE = {"acc_trde_qty": "volume", "acc_trde_prica": "value"}  # the day's volume on US daily charts
KST, NEW_YORK = "Asia/Seoul", "America/New_York"


def is_us(code: str) -> bool:
    """A US ticker (AAPL, BRK.B) rather than a KRX code (005930, 00088K, 005930_NX): it starts with a letter."""
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z.\-]*", code))


def exchange_of(api: Any, code: str) -> str:
    """The exchange (NA / ND / NY) of US ticker ``code``, from the client's US stock list where it has one."""
    codes = getattr(api, "codes", None)
    if callable(codes):
        listed = codes(market="us")
        column = next((c for c in ("exchange", "stex_tp", "market") if c in listed.columns), None)
        found = listed[listed["code"].astype(str).str.upper() == code] if column else listed.iloc[0:0]
        if len(found):
            value = str(found.iloc[0][column]).strip().upper()
            value = {name: tp for tp, name in _EXCHANGES.items()}.get(value, value)
            if value in _EXCHANGES:
                return value
    raise RequestError(f"candles({code!r}): which exchange lists {code}? pass exchange='ND' (NASDAQ), 'NY' (NYSE) "
                       "or 'NA' (AMEX)")


def plan(api: Any, code: str, interval: str, start: Any, end: Any, adjusted: bool, exchange: str | None,
         krw: bool) -> tuple[str, dict[str, str], str]:
    """(api-id, request fields, kind) for one stock: kind is "day" (D W M Y), or "intraday" (minutes, ticks)."""
    tick = interval in ("tick", *(f"{t}t" for t in _TICKS))
    minute = interval in (f"{m}m" for m in _MINUTES)
    scope = "1" if interval == "tick" else interval[:-1]
    fields = {"stk_cd": code, "upd_stkpc_tp": "1" if adjusted else "0"}
    if is_us(code):
        stex = (exchange or exchange_of(api, code)).strip().upper()
        if stex not in _EXCHANGES:
            raise RequestError(f"exchange={exchange!r}: use 'ND' (NASDAQ), 'NY' (NYSE) or 'NA' (AMEX)")
        api_id = "usa06010" if tick else "usa06011" if minute else _US_DAYS[interval]
        fields = {"stex_tp": stex, "stk_cd": code.upper(), **fields, "exrt_appl_tp": "1" if krw else "0"}
        if start is not None and api_id != "usa06010":  # the guide's answers run from today back to strt_dt
            fields["strt_dt"] = start.strftime("%Y%m%d")
    else:
        api_id = "ka10079" if tick else "ka10080" if minute else _DAYS[interval]
        if not tick:  # the day the chart runs back from: required for D W M Y, optional for minutes
            fields["base_dt"] = (end if end is not None else _today()).strftime("%Y%m%d") if not minute else \
                (end.strftime("%Y%m%d") if end is not None else None)
    if tick or minute:
        fields["tic_scope"] = scope
    return api_id, {k: v for k, v in fields.items() if v is not None}, "intraday" if tick or minute else "day"


def candles(api: "Client", codes: Any, interval: str = "D", start: Any = None, end: Any = None, adjusted: bool = True,
            exchange: str | None = None, krw: bool = False, store: Any = True) -> Any:
    """What :meth:`Client.candles` does (its docstring says what)."""
    from ._frame import require_pandas, rows_of

    pd = require_pandas()
    from ..auth._checks import check_code, check_flag

    interval = _interval(interval)
    check_flag("adjusted", adjusted)
    check_flag("krw", krw)
    several = not isinstance(codes, str)
    if several and not isinstance(codes, (list, tuple, set, frozenset)) and not hasattr(codes, "tolist"):
        check_code(codes, "codes")  # 5930, None: one line, not a TypeError
    listed = [check_code(c, "codes") for c in ([codes] if isinstance(codes, str) else list(codes))]
    listed = list(dict.fromkeys(listed))  # a code twice is fetched once: (code, date) stays unique for unstack()
    if not listed:
        raise RequestError("candles() needs a stock code, e.g. candles('005930') or candles(['005930', '000660'])")
    first, last = _moment(pd, start, "start"), _moment(pd, end, "end")
    if first is not None and last is not None and _naive(first) > _naive(last):
        raise RequestError(f"start={_shown(first)} is after end={_shown(last)}: nothing to fetch; swap them")
    root, tally = usable_root(not krw and store, interval), []  # checked first; None: nothing kept (won: rates move)
    collected: list[Answer] = []
    history: dict[str, str] = {}
    resolved: dict[str, str] = {}
    frames, failed, requests, pages = {}, {}, {}, {}
    bar = _bar(api, interval, len(listed)) if several else None
    try:
        for typed in listed:
            code = typed
            try:
                code = resolved[typed] = _code_of(api, typed)  # 삼성전자 -> 005930: the frame's code is the one sent
                if code in frames:  # 005930 and 삼성전자: one stock, fetched once
                    continue
                zone = NEW_YORK if is_us(code) else KST  # a Timestamp with a zone is a moment: its day is the exchange's
                begin, until = _local(first, zone), _local(last, zone)
                api_id, fields, kind = plan(api, code, interval, begin, until, adjusted, exchange, krw)
                tz = None if kind == "day" else zone
                if root is None:
                    answers, earliest = _pages(api, api_id, fields, _bound(begin, kind, tz), collected, bar, code)
                    count, frame = len(answers), _shape(pd, answers, api_id, tz, begin, until, kind)
                else:  # the kept bars, and the pages they lack
                    frame, count, earliest = _through_store(pd, api, root, code, interval, begin, until, adjusted,
                                                            exchange, krw, collected, bar, tally)
            except RequestError as exc:  # this stock only: the others are still fetched
                if not several:
                    raise
                failed[code] = str(exc)
                continue
            finally:
                if bar is not None:
                    bar.update(1)
            requests[code], pages[code], frames[code] = (api_id, fields), count, frame
            if earliest:  # the server ran out of rows before start: say so, not an unexplained short frame
                history[code] = _day(earliest)
                print(f"{code}: history starts {history[code]}; nothing earlier on this server", file=sys.stderr)
            elif begin is not None and not (len(frame) if root else any(rows_of(a, _list_key(api_id), strict=False)
                                                                        for a in answers)):
                shown = _day(fields.get("base_dt", "")) if fields.get("base_dt") else "now"  # before its listing
                print(f"{code}: no candles up to {shown} on this server; its history starts later", file=sys.stderr)
    finally:
        api.last = collected  # also after Ctrl-C or an error that ends everything: what was fetched
        if bar is not None:
            bar.close()
    listed = list(dict.fromkeys(resolved.get(c, c) for c in listed))
    if tally and api.progress:  # quiet where the progress bar is (nbclient, papermill, nbval)
        print(summary([c for c in listed if c in frames], interval, tally), file=sys.stderr)
    if not several:
        frame = frames[listed[0]]
        api_id, fields = requests[listed[0]]
        frame.attrs = {"code": listed[0], "interval": interval, "api_id": api_id, "request": fields,
                       "pages": pages[listed[0]]}
        if history:
            frame.attrs["history_starts"] = history[listed[0]]
        return frame
    done = [code for code in listed if code in frames]
    if done:
        frame = pd.concat([frames[c] for c in done], keys=done, names=["code", "date"])
    else:
        frame = _empty(pd, None)
        frame.index = pd.MultiIndex.from_arrays([[], pd.DatetimeIndex([])], names=["code", "date"])
    api_ids = sorted({a for a, _ in requests.values()})
    frame.attrs = {"code": listed, "interval": interval, "api_id": api_ids[0] if len(api_ids) == 1 else api_ids,
                   "request": {c: f for c, (_, f) in requests.items()}, "pages": pages, "failed": failed}
    if history:
        frame.attrs["history_starts"] = history
    if failed:
        why = "; ".join(f"{c} ({_why(text)})" for c, text in list(failed.items())[:3]) + ("; …" if len(failed) > 3 else "")
        print(f"{len(done)} of {len(listed)} stocks fetched; {len(failed)} failed: {why} — see df.attrs[\"failed\"]",
              file=sys.stderr)
    return frame


def _code_of(api: Any, code: str) -> str:
    """``code``, or the code of the domestic stock it names (kiwoom_nb._codes.find_code, as a TR call resolves it)."""
    from ._codes import find_code, looks_like_code

    return code if is_us(code) or looks_like_code(code, False) else find_code(api, code)


def _today() -> date:
    from ..auth._token import KST as kst

    return datetime.now(kst).date()


_ISO = re.compile(r"\d{4}([-/.])\d{1,2}\1\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")


def _moment(pd: Any, value: Any, name: str) -> Any:
    """``value`` as a Timestamp; None stays None. Taken: ISO dates and times (year first: "2026-01-01",
    "2026-01-01 09:30"), "20260101" (or the int), a date, datetime, Timestamp or numpy datetime64. Refused: what
    could be read two ways ("01-02-2024": January 2 or February 1?) and what is no date."""
    if value is None:
        return None
    stamp = None
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    try:
        iso = _ISO.fullmatch(text) if text is not None else None
        if text is None:  # a date, datetime, Timestamp or numpy datetime64: one meaning only
            stamp = pd.Timestamp(value) if hasattr(value, "year") or type(value).__name__ == "datetime64" else None
        elif re.fullmatch(r"\d{8}", text):
            stamp = pd.Timestamp(datetime.strptime(text, "%Y%m%d"))
        elif iso:
            stamp = pd.Timestamp(text if iso.group(1) == "-" else text.replace(iso.group(1), "-", 2))
    except (ValueError, TypeError, OverflowError):
        stamp = None
    if stamp is None or stamp is pd.NaT:
        raise RequestError(f"{name}={value!r} is not a date kiwoom_nb can read one way only; write it year first, "
                           "like '2026-01-02' (ISO) or '20260102', or pass a date, datetime or Timestamp")
    return stamp


def _naive(stamp: Any) -> Any:
    """``stamp`` as Korea's wall-clock time, to compare a start with an end whatever their time zones."""
    return stamp if stamp.tzinfo is None else stamp.tz_convert(KST).tz_localize(None)


def _shown(stamp: Any) -> str:
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else str(stamp)


def _day(stamp: str) -> str:
    """A chart's stamp (YYYYMMDD or YYYYMMDDHHMMSS) as people write it: 2025-10-14 (09:00)."""
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}" + (f" {stamp[8:10]}:{stamp[10:12]}" if len(stamp) > 8 else "")


def _local(stamp: Any, tz: str | None) -> Any:
    """``stamp`` as the exchange's wall-clock time (naive); a naive one is taken as that already."""
    if stamp is None or tz is None or stamp.tzinfo is None:
        return stamp
    return stamp.tz_convert(tz).tz_localize(None)


def _bound(start: Any, kind: str, tz: str | None) -> str | None:
    """``start`` written the way the chart writes its rows (YYYYMMDD, or YYYYMMDDHHMMSS in the exchange's time)."""
    if start is None:
        return None
    return start.strftime("%Y%m%d") if kind == "day" else _local(start, tz).strftime("%Y%m%d%H%M%S")


def _pages(api: "Client", api_id: str, fields: dict[str, str], reach: str | None, collected: list, bar: Any,
           code: str) -> tuple[list["Answer"], str]:
    """The pages of one chart, newest first, up to the one whose oldest row reaches ``reach`` (without it: the first
    page only). Each page goes to ``collected`` as it arrives. With the pages, the oldest row's stamp when the server
    had no more before ``reach`` ("" when it reached it, or nothing was asked)."""
    from ._frame import rows_of
    from ._pace import paced_note

    answers: list[Answer] = []
    pages = api.pages(api_id, **fields)
    own = bar is None
    oldest, reached, previous = "", reach is None, None
    try:
        for answer in pages:
            answers.append(answer)
            collected.append(answer)
            rows = rows_of(answer, _list_key(api_id), strict=False)
            stamps = [str(row.get("dt") or row.get("cntr_tm") or "") for row in rows]
            if own and bar is None and answer.cont and reach is not None:
                bar = _bar(api, api_id, None, unit="page")
            if bar is not None:
                bar.set_postfix_str(f"{code} page {len(answers)}{paced_note(api)}", refresh=False)
                if own:
                    bar.update(1)
            found = [stamp for stamp in stamps if stamp]
            if found and oldest and (stamps == previous or min(found) > oldest) and answer.cont:  # the same page
                import logging  # again, or newer rows: the next would bring nothing older either; not followed for ever

                logging.getLogger("kiwoom_nb").warning(
                    "kiwoom_nb: %s page %d of %s brought nothing older than %s; stopped", api_id, len(answers), code,
                    _day(oldest))
                reached = True
                break
            previous = stamps
            if found:
                oldest = min(oldest, *found) if oldest else min(found)
            if reach is None or (stamps and min(stamps) <= reach):
                reached = True
                break
            if not rows:
                break
    finally:
        pages.close()
        if own and bar is not None:
            bar.close()
    return answers, "" if reached or not oldest else oldest


def _list_key(api_id: str) -> str:
    from ._trs import lookup

    return lookup(api_id).list_key


def _bar(api: Any, desc: str, total: int | None, unit: str = "stock") -> Any:
    return api._bar(f"candles {desc}", total, unit)


def _shape(pd: Any, answers: list["Answer"], api_id: str, tz: str | None, start: Any, end: Any, kind: str) -> Any:
    """The OHLCV frame of one chart's answers: ascending ``date`` index, plain positive numbers, [start, end] only."""
    from ._frame import to_frame

    raw = to_frame(answers, _list_key(api_id))
    if raw.empty:
        return _empty(pd, tz)
    stamp = "dt" if "dt" in raw.columns else "cntr_tm"
    columns = {old: new for old, new in _COLUMNS.items() if old in raw.columns}
    columns.update({old: new for old, new in _CUMULATIVE.items() if old in raw.columns and new not in columns.values()})
    frame = raw[list(columns)].rename(columns=columns)
    index = pd.DatetimeIndex(raw[stamp], name="date")
    if index.tz is not None:  # Korea time from the frame rules: wall-clock here, localised again below
        index = (index.tz_convert(tz) if tz else index).tz_localize(None)
    frame.index = index
    return _trim(pd, frame.iloc[::-1].sort_index(kind="stable"), tz, start, end, kind)  # newest first; ticks share seconds


def _trim(pd: Any, frame: Any, tz: str | None, start: Any, end: Any, kind: str) -> Any:
    """``frame`` (a naive or zoned index) within [start, end], its index in ``tz`` (None: dates)."""
    if frame.index.tz is not None:
        frame = frame.set_axis(frame.index.tz_convert(tz).tz_localize(None), axis=0)
    if start is not None:
        frame = frame[frame.index >= (_local(start, tz) if kind != "day" else pd.Timestamp(start.date()))]
    if end is not None:
        last = _local(end, tz) if kind != "day" else pd.Timestamp(end.date())
        whole_day = last == last.normalize()  # end="2026-06-30" keeps that whole day
        frame = frame[frame.index < last + pd.Timedelta(days=1)] if whole_day else frame[frame.index <= last]
    if tz is not None:
        frame.index = frame.index.tz_localize(tz)
    return frame


def _through_store(pd: Any, api: Any, root: Any, code: str, interval: str, begin: Any, until: Any, adjusted: bool,
                   exchange: str | None, krw: bool, collected: list, bar: Any, tally: list) -> tuple[Any, int, str]:
    """One code's frame from the store and the pages it lacks (kiwoom_nb.store._kept), and the pages fetched."""
    from ..auth._client import resolve_base_url

    zone = NEW_YORK if is_us(code) else KST

    def fetch(reach: Any, upto: Any) -> tuple[Any, int, str]:
        reach, upto = _local(reach, zone), _local(upto, zone)
        api_id, fields, kind = plan(api, code, interval, reach, upto, adjusted, exchange, krw)
        tz = None if kind == "day" else zone
        answers, earliest = _pages(api, api_id, fields, _bound(reach, kind, tz), collected, bar, code)
        return _shape(pd, answers, api_id, tz, None, None, kind), len(answers), earliest

    part = part_of(root, server_of(resolve_base_url(api.tokens.base_url, api.mock)), interval, adjusted, code)
    clock = getattr(api, "clock", None)
    whole, counts = kept(pd, fetch, root, part, code=code, interval=interval, adjusted=adjusted, begin=begin,
                         until=until, us=is_us(code), now=clock() if callable(clock) else None)
    tally.append(counts)
    day = interval in _DAYS
    return (_trim(pd, whole, None if day else zone, begin, until, "day" if day else "intraday"), counts["pages"],
            counts.pop("begins"))


def _empty(pd: Any, tz: str | None) -> Any:
    index = pd.DatetimeIndex([], name="date", tz=tz)
    return pd.DataFrame({name: pd.Series([], dtype="float64") for name in ("open", "high", "low", "close", "volume")},
                        index=index)


def _why(text: str) -> str:
    """The short reason of an error line: Kiwoom's own words where it gave them."""
    found = re.search(r"\[(\d{4}):([^\]]*)\]", text)
    if found:
        return f"{found.group(1)} {found.group(2).strip()}"
    found = re.search(r"\(Kiwoom: (?:\[\d+\] )?([^)]*)\)", text)
    return found.group(1) if found else text.split(": ", 1)[-1][:80]
