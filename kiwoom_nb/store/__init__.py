"""kiwoom_nb.store owns the candles kept on disk (issue 32) — a Hive-partitioned Parquet dataset
(``server=…/interval=…/adjusted=…/code=…/part.parquet``, zstd) that any engine reads in place.

``read`` / ``info`` / ``sql`` / ``clear`` need no login and no network. ``Client.candles`` reads it and fetches only
what it lacks (kiwoom_nb.rest._candles hands its fetching in: this room must not know a TR); ``kiwoom_nb.update`` brings a
universe to its last bar. pyarrow, duckdb and filelock are imported on first use, never at ``import kiwoom_nb``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .._errors import RequestError
from ._intervals import interval_of
from ._kept import kept
from ._where import configure, part_of, root_of, server_of, writable

__all__ = ["clear", "configure", "info", "kept", "location", "part_of", "read", "server_of", "sql", "summary",
           "usable_root"]


def location(store: Any = None) -> Path:
    """Where the store is: ``store=`` if given, else ``%config KiwoomMagics.store_path``, KIWOOM_STORE, or the user
    data dir (``…/kiwoom_nb/store``)."""
    if store is not None and store is not True and not isinstance(store, (str, os.PathLike)):
        raise RequestError(f"store={store!r}: pass a folder (or nothing, for the configured store)")
    return root_of(True if store is None else store)


def _listed(codes: Any, everything: bool = False) -> Any:
    """``codes`` as a list of strings (None: every code, where ``everything``); else one line saying what to pass."""
    if codes is None and everything:
        return None
    if isinstance(codes, str):
        return codes
    if isinstance(codes, (list, tuple, set, frozenset)) or hasattr(codes, "tolist"):
        return [str(c) for c in (codes.tolist() if hasattr(codes, "tolist") else codes)]
    raise RequestError(f"codes={codes!r}: pass a code as a string ('005930') or a list of them")


def read(codes: Any, interval: str = "D", start: Any = None, end: Any = None, *, adjusted: bool = True,
         server: str | None = None, store: Any = None) -> Any:
    """The kept candles of one code (a ``date`` index) or several (``(code, date)``), from disk only: no login, no
    network. ``server`` picks a server's store (api.kiwoom.com, mockapi.kiwoom.com) when several hold the code."""
    from ._query import read_kept

    if not isinstance(adjusted, bool):
        raise RequestError(f"adjusted={adjusted!r}: pass True or False")
    return read_kept(_listed(codes), interval_of(interval), start, end, adjusted=adjusted, server=server,
                     root=location(store))


def info(store: Any = None) -> Any:
    """A DataFrame of what is kept: code, interval, adjusted, first, last, rows, bytes, server (file footers only)."""
    from ._query import describe_kept

    return describe_kept(location(store))


def sql(query: str, store: Any = None) -> Any:
    """DuckDB over the store, one view per interval (``candles_d``, ``candles_w``, ``candles_5m``, ...; columns date
    open high low close volume [value] server interval adjusted code); the answer as a DataFrame."""
    from ._query import run_sql

    if not isinstance(query, str) or not query.strip():
        raise RequestError(f"store.sql({query!r}): pass a query, e.g. store.sql('SELECT * FROM candles_d LIMIT 5')")
    return run_sql(query, location(store))


def clear(codes: Any = None, interval: str | None = None, *, server: str | None = None, store: Any = None) -> int:
    """Remove kept candles: of ``codes`` (all without), of ``interval`` (all without), of ``server`` (all without).
    Each code is removed under its lock. Returns how many code files went."""
    from ._query import clear_kept

    return clear_kept(location(store), _listed(codes, everything=True),
                      None if interval is None else interval_of(interval), server)


def usable_root(store: Any, interval: str) -> Path | None:
    """The root a ``candles(store=…)`` call reads and writes, checked before anything is sent; None when nothing is
    to be kept: ``store=False``, ticks (no tick archive), or pyarrow missing (one line says so)."""
    if store is False or store is None or interval == "tick" or interval.endswith("t"):
        return None
    if store is not True and not isinstance(store, (str, Path)):
        raise RequestError(f"store={store!r}: pass True (the store), False (keep nothing) or a folder")
    try:
        import pyarrow  # noqa: F401
        import filelock  # noqa: F401
    except ImportError:
        print("kiwoom_nb: no candle store without pyarrow and filelock (pip install 'kiwoom_nb[pandas]'); fetching "
              "everything", file=sys.stderr)
        return None
    return writable(root_of(store))


def summary(codes: list[str], interval: str, tally: list[dict[str, int]]) -> str:
    """``005930 000660: 4,860 rows from the store, 2 pages fetched (2 new days)``."""
    named = " ".join(codes) if len(codes) <= 5 else f"{len(codes)} stocks"
    rows, pages, new = (sum(t[k] for t in tally) for k in ("stored", "pages", "new"))
    unit = "day" if interval == "D" else "bar"
    return (f"{named}: {rows:,} rows from the store, {pages:,} page{'s' * (pages != 1)} fetched ({new:,} new "
            f"{unit}{'s' * (new != 1)})")
