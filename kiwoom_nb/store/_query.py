"""Reading the store without the network: one code's or several codes' frames, the table of what is kept (from the
Parquet footers only), DuckDB views per interval, and clearing. Imports pandas, pyarrow and duckdb on first use."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from .._errors import RequestError
from ._files import locked, read_part, require_pyarrow
from ._where import FILE

__all__ = ["clear_kept", "describe_kept", "read_kept", "run_sql"]


def _parts(root: Path, codes: Any = None, interval: str | None = None, server: str | None = None) -> list[Path]:
    wanted = None if codes is None else {str(c) for c in ([codes] if isinstance(codes, str) else list(codes))}
    found = []
    for path in sorted(root.glob(f"server=*/interval=*/adjusted=*/code=*/{FILE}")):
        keys = dict(p.split("=", 1) for p in path.parent.relative_to(root).parts)
        if (wanted is None or keys["code"] in wanted) and interval in (None, keys["interval"]) and \
                server in (None, keys["server"]):
            found.append(path.parent)
    return found


def read_kept(codes: Any, interval: str, start: Any, end: Any, *, adjusted: bool, server: str | None,
              root: Path) -> Any:
    import pandas as pd

    listed = [codes] if isinstance(codes, str) else [str(c) for c in list(codes)]
    if not listed:
        raise RequestError("store.read() needs a code, e.g. read('005930') or read(['005930', '000660'])")
    for name, value in (("start", start), ("end", end)):
        try:
            pd.Timestamp(value)
        except (TypeError, ValueError):
            raise RequestError(f"{name}={value!r}: pass a date, e.g. '2024-01-31', a datetime or a Timestamp") from None
    if start is not None and end is not None and _wall(pd, start) > _wall(pd, end):
        raise RequestError(f"start={start} is after end={end}: nothing to read; swap them")
    if not isinstance(codes, str) and len(listed) > 1:
        together = _read_together(pd, root, listed, interval, adjusted, server)
        if together is not None:
            return _bounded(pd, together, start, end, _day_zone(listed))
    frames = {}
    for code in listed:
        parts = [p for p in _parts(root, [code], interval, server) if p.parent.name == f"adjusted={str(adjusted).lower()}"]
        if len(parts) > 1:
            names = ", ".join(p.parents[2].name.split("=", 1)[1] for p in parts)
            raise RequestError(f"{code} {interval} is kept for several servers ({names}); pass server=")
        frame = read_part(pd, root, parts[0])[0] if parts else None
        if frame is None:
            raise RequestError(f"{code} {interval}: nothing kept in {root}; fetch it with candles() or "
                               "kiwoom_nb.update() first (store.info() lists what is kept)")
        zone = frame.index.tz
        if start is not None:
            frame = frame[frame.index >= _at(pd, start, zone, _day_zone([code]))]
        if end is not None:
            last = _at(pd, end, zone, _day_zone([code]))
            frame = frame[frame.index < last + pd.Timedelta(days=1)] if last == last.normalize() else \
                frame[frame.index <= last]
        frames[code] = frame
    if isinstance(codes, str):
        return frames[codes]
    return pd.concat(frames.values(), keys=list(frames), names=["code", "date"])


def _read_together(pd: Any, root: Path, listed: list[str], interval: str, adjusted: bool, server: str | None) -> Any:
    """Several codes in one pyarrow.dataset scan (a ``(code, date)`` index), or None when any is missing, kept for
    several servers, or unreadable: then each is read on its own, with its own line."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    parts = [p for p in _parts(root, listed, interval, server) if p.parent.name == f"adjusted={str(adjusted).lower()}"]
    if len(parts) != len(listed):
        return None
    order = {code: i for i, code in enumerate(listed)}
    parts.sort(key=lambda p: order[p.name.split("=", 1)[1]])  # the codes in the order asked, as candles gives them
    keys = pa.schema([(name, pa.string()) for name in ("server", "interval", "adjusted", "code")])
    try:
        table = ds.dataset([str(p / FILE) for p in parts], format="parquet", partition_base_dir=str(root),
                           partitioning=ds.partitioning(keys, flavor="hive")).to_table(columns=None)
    except Exception:  # noqa: BLE001 - a damaged file: read one by one, which moves it aside
        return None
    frame = table.drop_columns(["server", "interval", "adjusted"]).to_pandas()  # files in order, each sorted by date
    return frame.set_index(["code", "date"])


def _bounded(pd: Any, frame: Any, start: Any, end: Any, day_zone: str) -> Any:
    dates = frame.index.get_level_values("date")
    keep = dates == dates
    if start is not None:
        keep = keep & (dates >= _at(pd, start, dates.tz, day_zone))
    if end is not None:
        last = _at(pd, end, dates.tz, day_zone)
        keep = keep & ((dates < last + pd.Timedelta(days=1)) if last == last.normalize() else (dates <= last))
    return frame[keep]


def _wall(pd: Any, value: Any) -> Any:
    """A start or end as a naive stamp, so a zoned one and a plain one compare (a zone: its Korea time)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("Asia/Seoul").tz_localize(None) if stamp.tzinfo else stamp


def _at(pd: Any, value: Any, zone: Any, day_zone: str = "Asia/Seoul") -> Any:
    """A start or end against a frame's index (``zone``: minutes; None: days, as candles() takes them: a zoned moment's
    day in the exchange's ``day_zone``, and the whole day)."""
    stamp = pd.Timestamp(value)
    if zone is not None:
        return stamp.tz_localize(zone) if stamp.tzinfo is None else stamp.tz_convert(zone)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(day_zone).tz_localize(None)
    return stamp.normalize()


def _day_zone(codes: list[str]) -> str:
    """New York for US codes (they start with a letter), Seoul otherwise."""
    return "America/New_York" if all(c[:1].isalpha() for c in codes) else "Asia/Seoul"


def describe_kept(root: Path) -> Any:
    import pandas as pd

    pq = require_pyarrow()
    rows = []
    for part in _parts(root):
        keys = dict(p.split("=", 1) for p in part.relative_to(root).parts)
        path = part / FILE
        try:
            meta = pq.ParquetFile(path).metadata
            column = meta.schema.names.index("date")
            stats = [meta.row_group(i).column(column).statistics for i in range(meta.num_row_groups)]
            first = min((s.min for s in stats if s is not None and s.has_min_max), default=None)
            last = max((s.max for s in stats if s is not None and s.has_min_max), default=None)
            count = meta.num_rows
        except Exception:  # noqa: BLE001 - a corrupt file is listed, not fatal (a read moves it aside)
            first = last = None
            count = 0
        rows.append({"code": keys["code"], "interval": keys["interval"], "adjusted": keys["adjusted"] == "true",
                     "first": first, "last": last, "rows": count, "bytes": path.stat().st_size,
                     "server": keys["server"]})
    columns = ["code", "interval", "adjusted", "first", "last", "rows", "bytes", "server"]
    return pd.DataFrame(rows, columns=columns)


def run_sql(query: str, root: Path) -> Any:
    try:
        import duckdb
    except ImportError:
        raise RequestError("store.sql needs duckdb: pip install 'kiwoom_nb[pandas]' (or pip install duckdb)") from None
    connection = duckdb.connect()
    try:
        intervals = sorted({p.parents[1].name.split("=", 1)[1] for p in _parts(root)}) if root.exists() else []
        intervals = [i for i in intervals if re.fullmatch(r"[A-Za-z0-9]+", i)]  # a stray folder is no view (nor SQL)
        for interval in intervals:
            pattern = (root / "server=*" / f"interval={interval}" / "adjusted=*" / "code=*" / FILE).as_posix()
            pattern = pattern.replace("'", "''")  # a quote in the store's path stays in the string literal
            connection.execute(f"CREATE VIEW candles_{interval.lower()} AS SELECT * FROM read_parquet("
                               f"'{pattern}', hive_partitioning = true, hive_types_autocast = false)")
        for _ in range(100):  # a corrupt file is moved aside with one line (as a read does) and the query run again
            try:
                return connection.execute(query).df()
            except duckdb.Error as exc:
                if _set_aside(root, str(exc)):
                    continue
                views = ", ".join(f"candles_{i.lower()}" for i in intervals) or "none yet: nothing is kept"
                raise RequestError(f"store.sql: {str(exc).splitlines()[0]} (views: {views})") from None
        raise RequestError("store.sql: too many unreadable files in the store; see store.info()")
    finally:
        connection.close()


def _set_aside(root: Path, error: str) -> bool:
    """Whether DuckDB's ``error`` names a kept file pyarrow cannot read either: then it is moved aside (one line)."""
    import pandas as pd

    named = re.search(r"'([^']*/code=[^/']*/" + re.escape(FILE) + ")'", error)
    part = Path(named.group(1)).parent if named else None
    if part is None or not part.is_dir() or root.resolve() not in part.resolve().parents:
        return False
    return read_part(pd, root, part)[0] is None and not (part / FILE).exists()


def clear_kept(root: Path, codes: Any, interval: str | None, server: str | None) -> int:
    gone = 0
    for part in _parts(root, codes, interval, server) if root.exists() else []:
        with locked(root, part):
            shutil.rmtree(part, ignore_errors=True)
        gone += 1
    return gone
