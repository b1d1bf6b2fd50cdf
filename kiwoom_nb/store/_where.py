"""Where the store lives and how it is laid out: the root (``store=`` > ``%config KiwoomMagics.store_path`` >
KIWOOM_STORE > the user data dir), the Hive partitions ``server=…/interval=…/adjusted=…/code=…`` and the lock files
(kept out of the dataset, in ``.locks/``). No pyarrow, no network: paths only."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .._errors import RequestError

__all__ = ["FILE", "configure", "part_of", "root_of", "server_of", "writable"]

#: The one file of a code partition (rewritten whole, atomically).
FILE = "part.parquet"
_writable: set[Path] = set()  # roots this process wrote a probe in: not probed at every call
_configured: list[str | None] = [None]  # %config KiwoomMagics.store_path, set by the notebook room


def configure(path: str | None) -> None:
    """The notebook's ``KiwoomMagics.store_path`` (None or "": back to KIWOOM_STORE / the data dir)."""
    _configured[0] = str(path) if path else None


def root_of(store: Any = True) -> Path:
    """The store's root for a call's ``store=`` (True: the configured place; a path: that place)."""
    if isinstance(store, (str, os.PathLike)) and str(store).strip():
        return Path(store).expanduser()
    chosen = _configured[0] or os.environ.get("KIWOOM_STORE", "").strip()
    if chosen:
        return Path(chosen).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("kiwoom_nb", appauthor=False)) / "store"


def writable(root: Path) -> Path:
    """``root``, created if need be; a place that cannot be written is refused in one line, before anything is sent."""
    if root in _writable and root.is_dir():
        return root
    try:
        root.mkdir(parents=True, exist_ok=True)
        import tempfile

        with tempfile.NamedTemporaryFile(dir=root, prefix=".probe-"):  # a name of its own: threads probe at once
            pass
    except OSError as exc:
        raise RequestError(f"store {str(root)!r} is not writable ({exc.strerror or exc}); pass store= a folder you "
                           "can write, set KIWOOM_STORE, or store=False to keep nothing") from None
    _writable.add(root)
    return root


def server_of(url: str) -> str:
    """A partition-safe name of a server's host: api.kiwoom.com, mockapi.kiwoom.com, 127.0.0.1_8765."""
    host = re.sub(r"^[a-z]+://", "", str(url)).split("/")[0]
    return re.sub(r"[^A-Za-z0-9._-]", "_", host) or "unknown"


def part_of(root: Path, server: str, interval: str, adjusted: bool, code: str) -> Path:
    """The folder of one code's candles."""
    return (root / f"server={server}" / f"interval={interval}" / f"adjusted={'true' if adjusted else 'false'}" /
            f"code={code}")


def lock_of(root: Path, part: Path) -> Path:
    """The lock file of a partition: outside the dataset, so no engine reads it."""
    name = "-".join(p.split("=", 1)[1] for p in part.relative_to(root).parts)
    folder = root / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.lock"
