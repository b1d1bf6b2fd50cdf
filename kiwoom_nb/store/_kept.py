"""One code's candles through the store (issue 32): what is kept is read, and only what is missing is fetched — the
newest pages back to the last kept bar, and the older part when ``start`` precedes the first. Finished bars are kept;
today's growing bar is merged into the answer only. A kept adjusted bar that the server now tells differently (a split
or dividend re-based the history) drops the code's history, fetched again with one line.

Knows no TR: the caller (kiwoom_nb.rest._candles) hands in ``fetch(reach, upto)``, which returns (frame, pages,
earliest stamp when the server's history ran out)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from ._clock import cut_of, live_now
from ._files import locked, read_part, write_part

__all__ = ["kept"]

_PRICES = ["open", "high", "low", "close"]


def _naive(pd: Any, index: Any, zone: str) -> Any:
    return index.tz_convert(zone).tz_localize(None) if getattr(index, "tz", None) is not None else index


def _moment(pd: Any, stamp: Any, zone: str) -> Any:
    if stamp is None:
        return None
    stamp = pd.Timestamp(stamp)
    return stamp.tz_convert(zone).tz_localize(None) if stamp.tzinfo is not None else stamp


def kept(pd: Any, fetch: Callable, root: Path, part: Path, *, code: str, interval: str, adjusted: bool, begin: Any,
         until: Any, us: bool, now: Any = None) -> tuple[Any, dict[str, int]]:
    """(the frame of every row known for the code — kept and fetched, untrimmed —, counts: stored rows used, pages,
    new rows kept)."""
    zone = "America/New_York" if us else "Asia/Seoul"
    cut, live = cut_of(pd, interval, us, now), live_now(interval, us, now)
    first, last = _moment(pd, begin, zone), _moment(pd, until, zone)
    stored, notes = read_part(pd, root, part, quiet=True)  # no lock to read: files are replaced whole
    if stored is not None and not stored.empty and not _missing(pd, stored, notes, first, last, cut, live, zone):
        frame, counts = stored, {"stored": _used(stored, first, zone, pd), "pages": 0, "new": 0}
    else:
        frame, counts, notes = _locked(pd, fetch, root, part, code, adjusted, begin, until, first, last, cut, live,
                                       zone)
    begins = notes.get("begins", "")
    counts["begins"] = begins if begins and first is not None and first < pd.Timestamp(begins) else ""
    return frame, counts


def _used(stored: Any, first: Any, zone: str, pd: Any) -> int:
    return len(stored) if first is None else int((_naive(pd, stored.index, zone) >= first).sum())


def _missing(pd: Any, stored: Any, notes: dict, first: Any, last: Any, cut: Any, live: bool, zone: str) -> bool:
    """Whether the kept rows lack something asked for: newer bars (or today's growing one), or older ones."""
    days = _naive(pd, stored.index, zone)
    complete = pd.Timestamp(notes.get("complete_to", str(days.max())))
    newer = (last is None or last >= complete) and (complete < cut or live)
    return newer or (first is not None and first < days.min() and not notes.get("begins"))


def _locked(pd: Any, fetch: Callable, root: Path, part: Path, code: str, adjusted: bool, begin: Any, until: Any,
            first: Any, last: Any, cut: Any, live: bool, zone: str) -> tuple[Any, dict[str, int], dict]:
    """Read again, fetch what is missing and write, holding the code's lock (another kernel may have written)."""
    with locked(root, part):
        stored, notes = read_part(pd, root, part)
        counts = {"stored": 0, "pages": 0, "new": 0}
        if stored is None or stored.empty:
            frame, counts, notes = _fresh(pd, fetch, part, begin, until, cut, last, zone, counts)
        else:
            frame = _merged(pd, fetch, part, stored, notes, counts, code, adjusted, begin, until, first, last, cut,
                            live, zone)
    return frame, counts, notes


def _merged(pd: Any, fetch: Callable, part: Path, stored: Any, notes: dict, counts: dict, code: str, adjusted: bool,
            begin: Any, until: Any, first: Any, last: Any, cut: Any, live: bool, zone: str) -> Any:
    """The kept frame with what it lacks fetched and written (a re-based adjusted history: all of it again)."""
    days = _naive(pd, stored.index, zone)
    complete = pd.Timestamp(notes.get("complete_to", str(days.max())))
    parts, kept_rows = [stored], len(stored)
    if (last is None or last >= complete) and (complete < cut or live):
        newer, pages, _ = fetch(stored.index.max(), until)
        counts["pages"] += pages
        if adjusted and _rebased(pd, stored, newer, cut, zone):
            return _again(pd, fetch, part, stored, notes, counts, code, begin, until, cut, last, zone)
        parts.append(newer)
        if last is None or last >= cut:
            notes["complete_to"] = str(cut)
        elif len(newer):
            notes["complete_to"] = str(max(complete, min(cut, last + pd.Timedelta(days=1))))
    if first is not None and first < days.min() and not notes.get("begins"):
        older, pages, earliest = fetch(begin, stored.index.min())
        counts["pages"] += pages
        if adjusted and _rebased(pd, stored, older, cut, zone):  # its newest page holds the first kept bar
            return _again(pd, fetch, part, stored, notes, counts, code, begin, until, cut, last, zone)
        parts.insert(0, older)
        if earliest:
            notes["begins"] = earliest
    frame = pd.concat(parts)
    frame = frame[~frame.index.duplicated(keep="last")].sort_index(kind="stable")
    finished = frame[_naive(pd, frame.index, zone) < cut]
    counts["stored"] = kept_rows if first is None else int((days >= first).sum())
    if len(finished) != kept_rows or len(parts) > 1:
        counts["new"] = len(finished) - kept_rows
        write_part(pd, part, finished, notes)
    return frame


def _again(pd: Any, fetch: Callable, part: Path, stored: Any, notes: dict, counts: dict, code: str, begin: Any,
           until: Any, cut: Any, last: Any, zone: str) -> Any:
    """A re-based adjusted history: the kept one dropped, all of it fetched again (and said in one line)."""
    print(f"{code}: the server's adjusted prices changed (a split or dividend re-based the history); its "
          "stored history was dropped and fetched again", file=sys.stderr)
    frame, again, fresh = _fresh(pd, fetch, part, begin if begin is not None else stored.index.min(), until, cut, last,
                                 zone, {"stored": 0, "pages": 0, "new": 0})
    counts.update(again, pages=again["pages"] + counts["pages"])
    notes.clear()
    notes.update(fresh)
    return frame


def _fresh(pd: Any, fetch: Callable, part: Path, begin: Any, until: Any, cut: Any, last: Any, zone: str,
           counts: dict[str, int]) -> tuple[Any, dict[str, int], dict[str, str]]:
    frame, pages, earliest = fetch(begin, until)
    counts["pages"] += pages
    finished = frame[_naive(pd, frame.index, zone) < cut]
    notes = {"complete_to": str(cut if last is None or last >= cut else min(cut, last + pd.Timedelta(days=1)))}
    if earliest:
        notes["begins"] = earliest
    if len(finished):
        write_part(pd, part, finished, notes)
        counts["new"] = len(finished)
    return frame, counts, notes


def _rebased(pd: Any, stored: Any, newer: Any, cut: Any, zone: str) -> bool:
    """Whether a finished bar both hold has other prices on the server now."""
    both = stored.index.intersection(newer.index)
    both = both[_naive(pd, both, zone) < cut]
    if not len(both):
        return False
    old = stored.loc[both, _PRICES].astype("float64").to_numpy()
    new = newer.loc[both, _PRICES].astype("float64").to_numpy()
    return bool((abs(old - new) > 1e-9 * abs(old).clip(min=1)).any())
