"""One code partition's file: read it (a corrupt one is moved aside with one line, never failing the read), write it
whole and atomically (a temporary file, then ``os.replace``), under the partition's file lock (``filelock``), so two
kernels updating one code lose no rows and readers never see half a file. pyarrow is imported here, on first use."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .._errors import RequestError
from ._where import FILE, lock_of

__all__ = ["locked", "read_part", "require_pyarrow", "write_part"]

_META = b"kiwoom_nb"


def require_pyarrow() -> Any:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError:
        raise RequestError("the candle store needs pyarrow: pip install 'kiwoom_nb[pandas]' (or store=False)") from None
    return pq


def locked(root: Path, part: Path) -> Any:
    """The partition's lock (a context manager), held while a code is read, fetched and written."""
    from filelock import FileLock

    return FileLock(str(lock_of(root, part)))


def read_part(pd: Any, root: Path, part: Path, quiet: bool = False) -> tuple[Any, dict[str, str]]:
    """(frame on a ``date`` index, the partition's notes) of one code; (None, {}) when nothing is kept, or the file
    was unreadable (moved to ``.aside/`` with one line, to be fetched again; ``quiet``: left for a locked read)."""
    pq = require_pyarrow()
    path = part / FILE
    if not path.exists():
        return None, {}
    try:
        if not path.is_file():  # a folder where the file should be: pyarrow would read it as an empty dataset
            raise IsADirectoryError(str(path))
        table = pq.read_table(path)
        if "date" not in table.column_names:  # a Parquet file, but not one this store wrote
            raise KeyError("date")
    except Exception as exc:  # noqa: BLE001 - a truncated or corrupt file: whatever pyarrow raises for it
        if quiet or not path.exists():  # gone meanwhile (store.clear in another kernel): nothing kept, not corrupt
            return None, {}
        aside = root / ".aside" / f"{part.relative_to(root).as_posix().replace('/', '-')}-{int(time.time())}.parquet"
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, aside)
        print(f"{part.name.split('=', 1)[1]}: the stored file could not be read ({type(exc).__name__}); moved to "
              f"{aside} and fetched again", file=sys.stderr)
        return None, {}
    notes = json.loads((table.schema.metadata or {}).get(_META, b"{}"))
    frame = table.to_pandas()
    return frame.set_index("date"), notes


def write_part(pd: Any, part: Path, frame: Any, notes: dict[str, str]) -> None:
    """``frame`` (a ``date`` index) as the partition's file, replacing the old one in one step. Called holding the
    partition's lock: any temporary file already there is a killed writer's, and goes."""
    pq = require_pyarrow()
    import pyarrow as pa

    table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
    table = table.replace_schema_metadata({_META: json.dumps(notes).encode()})
    part.mkdir(parents=True, exist_ok=True)
    for stale in part.glob(f".{FILE}.*.tmp"):  # SIGKILL between write_table and os.replace left it
        stale.unlink(missing_ok=True)
    temp = part / f".{FILE}.{os.getpid()}.{threading.get_ident()}.tmp"  # never another writer's, even in-process
    try:
        pq.write_table(table, temp, compression="zstd")
        os.replace(temp, part / FILE)
    finally:
        if temp.exists():
            temp.unlink()
