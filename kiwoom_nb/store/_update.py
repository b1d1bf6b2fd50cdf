"""kiwoom_nb.update: a universe brought to its last finished bar through the store, one code after another, with one
progress bar over the codes and one summary line. Each code is written as soon as it is fetched, so a run that is
killed loses at most the code in flight, and the next run starts where it stopped (codes already up to date cost no
page). Knows no TR: it calls the client's ``candles(…, store=…)``."""

from __future__ import annotations

import sys
from typing import Any

from .._errors import RequestError

__all__ = ["update"]


def update(api: Any, codes: Any, interval: str = "D", start: Any = None, *, adjusted: bool = True,
           store: Any = True) -> Any:
    import pandas as pd

    if isinstance(codes, str):
        codes = [codes]
    listed = list(dict.fromkeys(str(c) for c in (codes.tolist() if hasattr(codes, "tolist") else list(codes))))
    if store is False or store is None:
        raise RequestError("update() keeps candles in the store: pass store=True or a folder, not store=False")
    progress, api.progress = api.progress, None  # one bar over the codes, not one per code
    bar = api._bar(f"update {interval}", len(listed), "stock") if progress else None
    api.progress = progress
    rows, failed = [], {}
    try:
        for code in listed:
            api.progress = None
            try:
                frame = api.candles(code, interval, start, adjusted=adjusted, store=store)
            except RequestError as exc:  # this code only; an error that ends everything (token, network) stops
                failed[code] = str(exc)
                continue
            finally:
                api.progress = progress
                if bar is not None:
                    bar.update(1)
            pages = frame.attrs.get("pages", 0)
            rows.append({"code": code, "rows": len(frame), "pages": pages,
                         "last": frame.index.max() if len(frame) else None})
            if bar is not None:
                bar.set_postfix_str(f"{code} {pages} page{'s' * (pages != 1)}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
    result = pd.DataFrame(rows, columns=["code", "rows", "pages", "last"])
    result.attrs = {"interval": interval, "failed": failed}
    fresh = int((result["pages"] > 0).sum())
    line = (f"update {interval}: {len(result) - fresh:,} up to date, {fresh:,} fetched ({int(result['pages'].sum()):,} "
            f"pages), {len(failed):,} failed" + (" — see .attrs[\"failed\"]" if failed else ""))
    if progress or failed:
        print(line, file=sys.stderr)
    return result
