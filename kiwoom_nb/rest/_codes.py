"""Names and codes: the day's stock lists (ka10099 KOSPI / KOSDAQ, usa10099 US), name -> code, and stk_cd values
that are names. Built on _api's Client (passed in); no IPython, no printing.

The lists are cached for the Korea date in the user's cache directory, one file per environment, server and market,
written whole (a temp file beside it, then os.replace) with mode 0600: codes and names only, never a key or a token.
A missing, stale or unreadable file is fetched again, never an error.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..auth._client import MOCK_URL, PRODUCTION_URL
from .._errors import KiwoomError, UnknownStockError

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["cache_directory", "cached_name", "find_code", "listing", "resolve_names", "stock_codes", "today"]

log = logging.getLogger("kiwoom_nb")

#: market -> (api-id, request fields) of its list.
MARKETS = {"kospi": ("ka10099", {"mrkt_tp": "0"}), "kosdaq": ("ka10099", {"mrkt_tp": "10"}),
           "us": ("usa10099", {"stex_tp": "%"})}
DOMESTIC = ("kospi", "kosdaq")
MAX_PAGES = 50  # a list is one or a few pages; a server that never ends must not loop forever

#: A domestic code as TRs take it: capitals and digits with at least one digit, and an optional suffix (005930,
#: 00088K, 005930_NX, A005930 as account TRs answer it, M04020000 gold spot). Sent as written, without a lookup
#: (a malformed one gets Kiwoom's own answer); anything else (삼성전자, NAVER, naver) is a name.
_DOMESTIC_CODE = re.compile(r"(?=[A-Z_]*\d)[0-9A-Z]+(?:_[0-9A-Z]+)?")
#: A US ticker: tickers are codes (AAPL, BRK.B).
_US_CODE = re.compile(r"[A-Za-z0-9.\-/]{1,12}")

_lock = threading.Lock()  # one fetch per list whatever the threads: the others wait, then read it
_memory: dict[Path, tuple[str, list[dict[str, str]]]] = {}  # file -> (date, rows): read once a day per process


def today() -> str:
    """The Korea date (UTC+9, no daylight saving), ``YYYYMMDD``: the lists change with the trading day there."""
    return datetime.now(timezone(timedelta(hours=9))).strftime("%Y%m%d")


def cache_directory() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kiwoom_nb", appauthor=False)) / "codes"


def markets_of(market: str | None) -> tuple[str, ...]:
    if market is None:
        return DOMESTIC
    name = str(market).strip().lower()
    if name not in MARKETS:
        raise KiwoomError(f"market={market!r}: use 'kospi', 'kosdaq', 'us', or None for KOSPI and KOSDAQ")
    return (name,)


def _path(api: "Client", market: str) -> Path:
    from urllib.parse import urlsplit

    base = api._route(api.mock)[0]
    environment = "mock" if api.mock else "production"
    server = "" if base.rstrip("/") in (PRODUCTION_URL, MOCK_URL) else \
        re.sub(r"[^A-Za-z0-9.-]", "_", urlsplit(base).netloc or base) + "-"  # a fake's list is not Kiwoom's
    return cache_directory() / f"{environment}-{server}{market}.json"


# -- the lists ------------------------------------------------------------------------------------------------------

def listing(api: "Client", market: str, *, fetch: bool = True) -> list[dict[str, str]] | None:
    """The rows (code, name, market; US: stex_tp, name_en) of one market's list: from memory, the day's file, or
    Kiwoom. ``fetch=False`` never asks Kiwoom (None when the day's list is not at hand)."""
    path, day = _path(api, market), today()
    with _lock:
        found = _memory.get(path)
        if found is not None and found[0] == day:
            return found[1]
        rows = _read(path, day, market)
        if rows is None:
            if not fetch:
                return None
            rows = _fetch(api, market)
            _write(path, {"date": day, "market": market, "rows": rows})
        _memory[path] = (day, rows)
        return rows


def _fetch(api: "Client", market: str) -> list[dict[str, str]]:
    api_id, fields = MARKETS[market]
    rows: list[dict[str, str]] = []
    cont, key = False, ""
    for _ in range(MAX_PAGES):  # _request, not pages(): api.last stays the user's latest fetch
        answer = api._request(api_id, None, dict(fields), confirm=False, cont=cont, next_key=key)
        for row in answer.get("list") or []:
            if market == "us":
                rows.append({"code": str(row.get("stk_cd", "")).strip(), "name": str(row.get("stk_nm", "")).strip(),
                             "market": "us", "stex_tp": str(row.get("stex_tp", "")).strip(),
                             "name_en": str(row.get("stk_enm", "")).strip()})
            else:
                rows.append({"code": str(row.get("code", "")).strip(), "name": str(row.get("name", "")).strip(),
                             "market": market})
        if not (answer.cont and answer.next_key):
            break
        cont, key = True, answer.next_key
    return [row for row in rows if row["code"]]


def _read(path: Path, day: str, market: str) -> list[dict[str, str]] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        rows = data["rows"]
        if data["date"] != day or data["market"] != market or not all(
                isinstance(r["code"], str) and isinstance(r["name"], str) for r in rows):
            return None
        return rows
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing, stale, corrupt: fetched again


def _write(path: Path, data: dict[str, Any]) -> None:
    """Write ``path`` whole: a reader (another thread or process) sees the old file or the new one, never half."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # 0600 from the start, not after
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as exc:  # a read-only or full disk costs a fetch tomorrow, not this call
        log.warning("kiwoom_nb: could not cache the stock list in %s: %s", path.parent, exc)


def stock_codes(api: "Client", market: str | None = None) -> Any:
    """A DataFrame of the listed stocks: code, name, market (US: also stex_tp, the exchange code, and name_en)."""
    from ._frame import require_pandas

    pd = require_pandas()
    rows = [row for name in markets_of(market) for row in listing(api, name) or []]
    columns = ["code", "name", "market", *(["stex_tp", "name_en"] if market is not None and
                                           markets_of(market) == ("us",) else [])]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["date"] = today()
    return frame


# -- names -> codes -------------------------------------------------------------------------------------------------

def find_code(api: "Client", name: str, market: str | None = None, *, fetch: bool = True) -> str:
    """The code of the stock called ``name`` (a code is returned as it is listed). UnknownStockError, in one line
    with the closest names, when no stock or several have it."""
    text = str(name).strip()
    us = markets_of(market) == ("us",)
    if not us:
        from ._frame import short_code

        text = short_code(text)  # A0106J0 as account TRs write it is 0106J0
    rows = [row for each in markets_of(market) for row in listing(api, each, fetch=fetch) or []]
    fold = str.casefold
    found = [r for r in rows if r["code"] == text or (us and fold(r["code"]) == fold(text))]
    found = found or [r for r in rows if r["name"] == text]
    found = found or [r for r in rows if fold(r["name"]) == fold(text) or (us and fold(r.get("name_en", "")) == fold(text))]
    codes = list(dict.fromkeys(r["code"] for r in found))
    if len(codes) == 1:
        return codes[0]
    if codes:
        listed = ", ".join(f"{r['name']} ({r['code']})" for r in found[:5])
        raise UnknownStockError(f"{text!r} names {len(codes)} stocks: {listed}; pass the code")
    raise UnknownStockError(_unknown(text, rows, us))


def _unknown(text: str, rows: list[dict[str, str]], us: bool) -> str:
    import difflib

    by_name: dict[str, str] = {}
    for row in rows:
        by_name.setdefault(row["name"].casefold(), f"{row['name']} ({row['code']})")
        if us and row.get("name_en"):
            by_name.setdefault(row["name_en"].casefold(), f"{row['name_en']} ({row['code']})")
    close = difflib.get_close_matches(text.casefold(), list(by_name), n=3, cutoff=0.5)
    where = "US stock" if us else "stock"
    if close:
        return f"no {where} named {text!r}: closest {', '.join(by_name[c] for c in close)}; pass the code or the exact name"
    hint = "kiwoom_nb.codes(market='us') lists them" if us else \
        "kiwoom_nb.codes() lists KOSPI and KOSDAQ; for a US stock pass market='us'"
    return f"no {where} named {text!r}; {hint}"


def looks_like_code(value: str, us: bool) -> bool:
    return all((_US_CODE if us else _DOMESTIC_CODE).fullmatch(part.strip()) for part in value.split("|"))


def resolve_names(api: "Client", api_id: str, body: dict[str, Any], *, fetch: bool = True,
                  check: bool = True) -> dict[str, Any]:
    """``body`` with a stk_cd that is a name (삼성전자, NAVER; US: 애플) replaced by its code; a value that already
    looks like a code is left alone without a lookup. Only for TRs whose stk_cd takes any stock (not a list of
    codes such as the gold spot TRs'). ``fetch=False`` uses the day's cached list only, and leaves the name when
    there is none."""
    value = body.get("stk_cd")
    if not isinstance(value, str) or not value.strip():
        return body
    from ._trs import fields_of, lookup

    tr = lookup(api_id)
    us = tr is not None and tr.market == "us"
    if tr is None or tr.market not in ("domestic", "us"):
        return body
    spec = fields_of(api_id)
    if spec is None or not any(f.name == "stk_cd" and not f.codes and not f.examples for f in spec.request):
        return body
    from ..auth._checks import check_code

    if check:
        check_code(value, "stk_cd", us=us, items=True)  # 5930 or 0059300: refused, not sent or looked up
    if looks_like_code(value, us):  # sent as checked: " 005930" is 005930
        stripped = "|".join(part.strip() for part in value.split("|")) if check else value
        return body if stripped == value else {**body, "stk_cd": stripped}
    market = "us" if us else None
    if not fetch and any(listing(api, each, fetch=False) is None for each in markets_of(market)):
        return body
    parts = [part if looks_like_code(part, us) else find_code(api, part, market, fetch=fetch)
             for part in value.split("|")]
    return {**body, "stk_cd": "|".join(parts)}


def cached_name(api: "Client", code: str, us: bool) -> str:
    """The name of ``code`` from the day's cached lists, or "" (never asks Kiwoom)."""
    from ._frame import short_code

    bare = code if us else short_code(re.sub(r"_(?:NX|AL)$", "", code))
    for market in ("us",) if us else DOMESTIC:
        try:
            rows = listing(api, market, fetch=False) or []
        except KiwoomError:
            return ""
        for row in rows:
            if row["code"] == bare or (us and row["code"].casefold() == bare.casefold()):
                return row["name"]
    return ""


# -- what watch() registers -----------------------------------------------------------------------------------------

#: Real-time types whose items are not stocks: sector codes (0J / 0U: 001 KOSPI) and gold symbols (0I: MGD); types
#: that take "" for the whole market.
OTHER_ITEM_TYPES = ("0J", "0U", "0I")
MARKET_WIDE_TYPES = ("0s", "1h")


def watch_items(client: "Callable[[], Client]", items: Any, type: Any, *, us: bool, account: bool) -> list[str]:
    """What ``Stream.watch(items, type)`` registers: codes checked as TR fields are (kiwoom_nb.auth._checks.check_code),
    names (삼성전자; on a US stream 애플) turned into codes as TR calls turn them, with the Client ``client()`` gives.
    One KiwoomError line for anything else; ``account`` types (00, 04) take no items."""
    from ..auth._checks import check_code

    if not isinstance(type, str) or not type.strip():
        raise KiwoomError(f"type={type!r}: a real-time type such as '0B' (주식체결) — nothing was sent")
    if account:
        return [""]
    if isinstance(items, str):
        listed = [items]
    elif isinstance(items, (list, tuple, set, frozenset)) or hasattr(items, "tolist"):
        listed = list(items)
    else:
        check_code(items, "items")  # 5930, None: refused in one line
        listed = []
    if not listed:
        return [""]
    codes = []
    for item in listed:
        if item == "" and type in MARKET_WIDE_TYPES:
            codes.append("")
        elif type in OTHER_ITEM_TYPES:
            if not isinstance(item, str) or not item.strip():
                raise KiwoomError(f"items={item!r}: a sector code such as '001' (KOSPI), or for 0I a symbol such as "
                                  "'MGD' — nothing was sent")
            codes.append(item.strip())
        else:
            text = check_code(item, "items", us=us)
            if not looks_like_code(text, us):
                text = find_code(client(), text, "us" if us else None)
            codes.append(text)
    return codes
