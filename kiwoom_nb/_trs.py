"""The TR table shipped as package data (trs.tsv, from Kiwoom's guide): path, name, category, list key per api-id.

Stdlib only, read once on first use. No I/O beyond reading the package's own file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

__all__ = ["TR", "find_trs", "is_order", "lookup", "table"]

#: Categories whose TRs move money: sent to production only with confirm=True.
ORDER_CATEGORIES = ("주문", "신용주문")


class TR(NamedTuple):
    api_id: str
    path: str
    name: str
    category: str
    list_key: str  # the top-level key holding the list data; "" when flat or unknown


@lru_cache(maxsize=1)
def table() -> dict[str, TR]:
    """Every TR of the shipped table by api-id."""
    text = (Path(__file__).with_name("trs.tsv")).read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines()[1:]:
        if line.strip():
            api_id, path, name, category, list_key = (line.split("\t") + [""] * 5)[:5]
            rows[api_id] = TR(api_id, path, name, category, list_key.split(",")[0].strip())
    return rows


def lookup(api_id: str) -> TR | None:
    return table().get(api_id)


def is_order(api_id: str) -> bool:
    """Orders: the 주문 / 신용주문 categories, and any kt1* / kt5* api-id the table does not know."""
    tr = lookup(api_id)
    if tr is None:
        return api_id.lower().startswith(("kt1", "kt5"))
    return tr.category in ORDER_CATEGORIES


def find_trs(query: str) -> list[TR]:
    """TRs whose api-id, name or category contains every word of ``query`` (case- and space-insensitive)."""
    words = [w.lower() for w in query.split()]
    found = []
    for tr in table().values():
        haystack = f"{tr.api_id} {tr.name} {tr.name.replace(' ', '')} {tr.category} {tr.path}".lower()
        if all(w in haystack for w in words):
            found.append(tr)
    return found
