"""pandas' ``display.unicode.east_asian_width`` for the user's session, so Korean columns line up in text output.

Set at ``%load_ext`` when pandas is already imported, else when kiwoom_nb first imports it; never imports pandas
itself (``%load_ext`` stays cheap) and never overrides a value the user set. Stdlib only.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["OPTION", "apply", "want"]

OPTION = "display.unicode.east_asian_width"
_wanted = False


def want() -> None:
    """%load_ext: widen now if pandas is imported, else at kiwoom_nb's first import of it (:func:`apply`)."""
    global _wanted
    _wanted = True
    if "pandas" in sys.modules:
        apply(sys.modules["pandas"])


def apply(pd: Any) -> None:
    """Once, if wanted: set the option unless the user already changed it from pandas' default."""
    global _wanted
    if not _wanted:
        return
    _wanted = False
    try:
        from pandas._config.config import _get_registered_option

        default = _get_registered_option(OPTION).defval
        if pd.get_option(OPTION) == default:
            pd.set_option(OPTION, True)
    except Exception:  # noqa: BLE001 - a display nicety, never worth an error (an old or odd pandas)
        pass
