"""The TR table and field catalogue shipped as package data, built from Kiwoom's guide by scripts/kiwoom-guide.py.

- ``trs.tsv``: path, name, category, list key and market (domestic / us) per api-id; read on first use.
- ``fields.json``: every TR's request fields (Korean name, required, type, length, allowed codes) and response
  fields (Korean name, list key); read by kiwoom_nb._catalogue on the first :func:`fields_of`, never at import.

Stdlib only. No I/O beyond reading the package's own files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._catalogue import Fields

__all__ = ["TR", "closest", "fields_of", "find_trs", "is_order", "lookup", "table"]

#: Categories whose TRs move money: sent to production only with confirm=True.
ORDER_CATEGORIES = ("주문", "신용주문")
#: Known TRs outside those categories that move money: 환전 신청 (currency exchange).
MONEY_TRS = frozenset({"ust31302"})
#: Known TRs filed under 주문 that only ask: 미국주식 주문가능수량 (how many shares an order could buy).
ENQUIRIES = frozenset({"ust31490"})
#: Api-ids the table does not know are gated when they look like orders: domestic orders (kt1…), gold spot orders
#: (kt5…), US orders (ust20…) and the exchange family (ust3…).
ORDER_PREFIXES = ("kt1", "kt5", "ust20", "ust3")
#: The last segment of the URL paths that place orders or exchange money (/api/dostk/ordr, /api/dostk/crdordr,
#: /api/us/ordr, /api/us/exchange).
ORDER_PATH_ENDS = ("ordr", "crdordr", "exchange")


class TR(NamedTuple):
    api_id: str
    path: str
    name: str
    category: str
    list_key: str  # the top-level key holding the list data; "" when flat or unknown
    market: str = ""  # "domestic" or "us"; "" for the OAuth TRs


@lru_cache(maxsize=1)
def table() -> dict[str, TR]:
    """Every TR of the shipped table by api-id."""
    text = Path(__file__).with_name("trs.tsv").read_text(encoding="utf-8")
    rows = {}
    columns: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if not columns:
            columns = cells
            continue
        row = dict(zip(columns, cells))
        api_id = row.get("api_id", "")
        rows[api_id] = TR(api_id, row.get("path", ""), row.get("name", ""), row.get("category", ""),
                          row.get("list_keys", "").split(",")[0].strip(), row.get("market", ""))
    return rows


def lookup(api_id: str) -> TR | None:
    return table().get(api_id)


def closest(api_id: str) -> str:
    """``ka10001 (주식기본정보요청), ka10010 (…)``: the api-ids nearest a mistyped one, with their names; or ""."""
    typed = str(api_id).strip().lower()
    ranked = sorted((_edits(typed, known), known) for known in table())
    near = [known for distance, known in ranked[:3] if distance <= max(1, len(typed) // 3)]
    return ", ".join(f"{found} ({table()[found].name})" for found in near)


def _edits(a: str, b: str) -> int:
    """Levenshtein distance: a typed id one key off (ka1001 for ka10001) comes first."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def _path_key(path: str) -> str:
    """``path`` as lower-case segments without scheme, host, query or outer slashes: ``api/us/ordr``."""
    text = str(path).strip()
    if "://" in text:
        text = text.split("://", 1)[1].partition("/")[2]
    return text.split("?", 1)[0].split("#", 1)[0].strip("/").lower()


def _order_path(path: str) -> bool:
    last = _path_key(path).rsplit("/", 1)[-1]
    return last in ORDER_PATH_ENDS or "ordr" in last


def is_order(api_id: str, path: str | None = None) -> bool:
    """True for a request that places an order or moves money, which production sends only with confirm=True.

    - a known TR: the 주문 / 신용주문 categories (domestic and US; but not the enquiry ust31490) and 환전 신청
      (ust31302);
    - an unknown api-id: kt1* / kt5* / ust20* / ust3*, or any api-id sent to an order path (…/ordr, …/crdordr,
      …/exchange);
    - a known api-id sent with a ``path`` other than its own that is an order path. When in doubt, gate.
    """
    api_id = str(api_id).strip()
    tr = lookup(api_id)
    if path and _order_path(path) and (tr is None or _path_key(path) != _path_key(tr.path)):
        return True
    if tr is None:
        return api_id.lower().startswith(ORDER_PREFIXES)
    if api_id in MONEY_TRS:
        return True
    if api_id in ENQUIRIES:
        return False
    return tr.category in ORDER_CATEGORIES


#: English words (lower case) -> the Korean words of the TR table they stand for: a quant's words find the TRs.
ENGLISH = {
    "daily": ("일봉", "일별", "일자별", "일 차트"), "day": ("일봉", "일별", "일자별", "일 차트"),
    "minute": ("분봉", "분 차트"), "minutes": ("분봉", "분 차트"), "intraday": ("분봉", "틱", "분 차트"),
    "tick": ("틱",), "ticks": ("틱",), "weekly": ("주봉", "주 차트"), "week": ("주봉", "주 차트"),
    "monthly": ("월봉", "월 차트"), "month": ("월봉", "월 차트"), "yearly": ("년봉", "년 차트"),
    "year": ("년봉", "년 차트"), "today": ("당일",), "chart": ("차트", "봉"), "candle": ("봉",), "candles": ("봉",),
    "ohlc": ("봉",), "ohlcv": ("봉",),
    "order": ("주문",), "orders": ("주문",), "buy": ("매수",), "sell": ("매도",), "cancel": ("취소",),
    "modify": ("정정",), "amend": ("정정",), "credit": ("신용",), "margin": ("신용", "증거금"),
    "balance": ("잔고",), "holdings": ("잔고",), "positions": ("잔고",), "account": ("계좌",),
    "deposit": ("예수금",), "cash": ("예수금",), "profit": ("수익", "손익"), "pnl": ("손익",),
    "fill": ("체결",), "fills": ("체결",), "filled": ("체결",), "execution": ("체결",), "executions": ("체결",),
    "unfilled": ("미체결",), "pending": ("미체결",), "open": ("미체결", "시가"),
    "condition": ("조건",), "conditions": ("조건",), "screen": ("조건검색",), "screener": ("조건검색",),
    "quote": ("시세", "현재가", "호가"), "quotes": ("시세", "호가"), "price": ("시세", "현재가", "가"),
    "orderbook": ("호가",), "book": ("호가",), "ask": ("호가", "매도"), "bid": ("호가", "매수"),
    "rank": ("순위", "상위"), "ranking": ("순위", "상위"), "top": ("상위",), "sector": ("업종",),
    "industry": ("업종",), "index": ("업종", "지수"), "theme": ("테마",), "watchlist": ("관심종목",),
    "stock": ("종목", "주식"), "stocks": ("종목", "주식"), "info": ("정보",), "list": ("리스트", "목록"),
    "short": ("공매도",), "lending": ("대차",), "loan": ("대차", "대출"), "foreign": ("외국인", "외인"),
    "foreigner": ("외국인", "외인"), "institution": ("기관",), "investor": ("투자자",), "program": ("프로그램",),
    "gold": ("금현물",), "exchange": ("환전",), "fx": ("환전", "환율"), "volume": ("거래량",),
    "etf": ("ETF",), "elw": ("ELW",), "us": ("미국",), "usa": ("미국",), "american": ("미국",),
    "domestic": ("국내",), "korea": ("국내",), "korean": ("국내",), "token": ("토큰",),
}


def find_trs(query: str) -> list[TR]:
    """TRs whose api-id, name, category, market or path contains every word of ``query`` (case- and
    space-insensitive). English words (daily, minute, order, balance, condition, us, ...) stand for their Korean
    ones (:data:`ENGLISH`): ``find_trs("daily chart")`` finds the 일봉 charts."""
    words = [w.lower() for w in query.split()]
    found = []
    for tr in table().values():
        market = {"domestic": "국내주식 국내", "us": "미국주식 미국 us"}.get(tr.market, "")
        words_of_tr = f"{tr.api_id} {tr.name} {tr.name.replace(' ', '')} {tr.category} {market}".lower()
        haystack = f"{words_of_tr} {tr.path}".lower()
        if all(_matches(w, haystack, words_of_tr, tr) for w in words):
            found.append(tr)
    return found


def _matches(word: str, haystack: str, words_of_tr: str, tr: TR) -> bool:
    korean = ENGLISH.get(word)
    if korean is None:
        return word in haystack
    if word in ("us", "usa", "american"):  # a market, not the letters u-s inside a path
        return tr.market == "us"
    return any(k.lower() in words_of_tr for k in korean) or word in words_of_tr.split()


# -- the field catalogue (kiwoom_nb._catalogue, imported on first use) ----------------------------------------------

def fields_of(api_id: str) -> Fields | None:
    """The request and response fields of ``api_id`` as Kiwoom's guide lists them, or None for a TR it lacks.

    The catalogue (fields.json) is read on the first call, and each TR parsed on its first call: ~2 ms, then µs.
    """
    global _fields_of
    if _fields_of is None:
        from ._catalogue import fields_of as _fields_of
    return _fields_of(api_id)


_fields_of: Callable[[str], Fields | None] | None = None  # kiwoom_nb._catalogue.fields_of, once imported
