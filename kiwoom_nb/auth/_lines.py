"""The one-line texts the user sees about logins and the kernel: shared by the magics and the login panel.

Plain strings and formatting only: no IPython, no widgets, no I/O.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import TYPE_CHECKING

from ._token import KST, format_left

if TYPE_CHECKING:
    from ._session import Login


def log_in_again(by_config: bool = False) -> str:
    """What logs in from a new kernel: it has %kiwoom_login only when the IPython configuration loads kiwoom_nb
    (kiwoom_nb.notebook._startup tells); otherwise the magic is "not found" until %load_ext."""
    return "%kiwoom_login" if by_config else "%load_ext kiwoom_nb then %kiwoom_login"


def kernel_restarted(by_config: bool = False) -> str:
    return f"커널이 재시작되었습니다 — the kernel restarted: run {log_in_again(by_config)} to log in again"


def kernel_shut_down(by_config: bool = False) -> str:
    return f"커널이 종료되었습니다 — the kernel shut down: start it and run {log_in_again(by_config)} to log in again"


#: The lines for a kernel that loads kiwoom_nb in a cell, the usual case (and the one to assume when unsure).
KERNEL_RESTARTED = kernel_restarted()
KERNEL_SHUT_DOWN = kernel_shut_down()
UNLOADED = "kiwoom_nb was unloaded: %load_ext kiwoom_nb and %kiwoom_login log in again"
_NOT_SET = "{var} is not set yet: log in with the panel in cell [{cell}], then run the cells below"


def environment_name(mock: bool) -> str:
    return "모의투자 (mock)" if mock else "실전투자 (production)"


def describe(login: "Login", *, reused: bool = False) -> str:
    """The one line shown after a login: environment, variable, expiry (Korea and local), time left."""
    expires = login.token.expires_at
    kst = expires.astimezone(KST)
    local = expires.astimezone()
    when = f"{kst:%Y-%m-%d %H:%M} KST"
    if local.utcoffset() != kst.utcoffset():
        when += f" ({local:%m-%d %H:%M} {local.tzname() or 'local'})"
    left = format_left(login.token.expires_in())
    verb = "already logged in" if reused else "logged in"
    line = f"Kiwoom {environment_name(login.mock)}: {verb} as {login.var} (keys from {login.source}); expires {when}, {left} left"
    return line


def using(base_url: str | None) -> str:
    """``(using KIWOOM_BASE_URL=…)`` when a base URL replaces Kiwoom's own, so a wrong one is seen at login: a line
    of its own under the login line (the panel's one line stays short enough for a narrow window)."""
    if not base_url:
        return ""
    from ._client import base_url_origin

    return f"(using {base_url_origin(base_url) or 'base URL ' + base_url.strip().rstrip('/')})"


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and full-width characters (한글) take two,
    combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    """``text`` left-aligned in ``columns`` terminal columns (``str.ljust`` counts characters, not columns)."""
    return text + " " * (columns - width(text))


def warn(message: str) -> None:
    """One ``kiwoom_nb:`` line on stderr: something the user should know that does not stop the cell."""
    print(f"kiwoom_nb: {message}", file=sys.stderr, flush=True)
