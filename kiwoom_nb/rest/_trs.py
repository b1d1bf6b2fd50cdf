"""The TR table and field catalogue shipped as package data, built from Kiwoom's guide by scripts/kiwoom-guide.py.

- ``trs.tsv``: path, name, category, list key and market (domestic / us) per api-id; read on first use.
- ``fields.json``: every TR's request fields (Korean name, required, type, length, allowed codes) and response
  fields (Korean name, list key); read by kiwoom_nb.rest._catalogue on the first :func:`fields_of`, never at import.

Stdlib only. No I/O beyond reading the package's own files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._catalogue import Fields

__all__ = ["TR", "fields_of", "find_trs", "is_order", "lookup", "table"]

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
    text = Path(__file__).parent.parent.joinpath("data", "trs.tsv").read_text(encoding="utf-8")
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


def find_trs(query: str) -> list[TR]:
    """TRs whose api-id, name, category, market or path contains every word of ``query`` (case- and space-insensitive)."""
    words = [w.lower() for w in query.split()]
    found = []
    for tr in table().values():
        market = {"domestic": "국내주식 국내", "us": "미국주식 미국 us"}.get(tr.market, "")
        haystack = f"{tr.api_id} {tr.name} {tr.name.replace(' ', '')} {tr.category} {market} {tr.path}".lower()
        if all(w in haystack for w in words):
            found.append(tr)
    return found


# -- the field catalogue (kiwoom_nb.rest._catalogue, imported on first use) ----------------------------------------------

def fields_of(api_id: str) -> Fields | None:
    """The request and response fields of ``api_id`` as Kiwoom's guide lists them, or None for a TR it lacks.

    The catalogue (fields.json) is read on the first call, and each TR parsed on its first call: ~2 ms, then µs.
    """
    global _fields_of
    if _fields_of is None:
        from ._catalogue import fields_of as _fields_of
    return _fields_of(api_id)


_fields_of: Callable[[str], Fields | None] | None = None  # kiwoom_nb.rest._catalogue.fields_of, once imported
