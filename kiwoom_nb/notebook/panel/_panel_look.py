"""What the login panel shows besides its widgets: the field and checkbox texts, the plain-text form, and the CSS
that makes a panel whose kernel is gone say so once. Strings only: no widgets, no IPython.
"""

from __future__ import annotations

from ...auth._lines import log_in_again
from ...auth._token import mask

__all__ = ["PLAIN_TEXT", "RECEIVED", "REMEMBER", "STYLE", "plain_text", "received_appkey"]

RECEIVED = "입력됨 — received (hidden)"  # the secret key: nothing of it is shown
REMEMBER = "이 컴퓨터에 저장 — remember on this computer (OS keyring)"


def received_appkey(appkey: str) -> str:
    """The app key field once its key arrived: its last 4 characters, like a token's (an app key names the
    key pair, so the user can check which one is held; the secret key is what must stay hidden)."""
    return f"입력됨 {mask(appkey.strip())}"


def plain_text(by_config: bool = False) -> str:
    """What a frontend without widgets shows instead of the panel (in this kernel or, saved, in a later one)."""
    return ("Kiwoom login panel (키움 로그인): this frontend cannot show widgets. Set KIWOOM_APPKEY and "
            f"KIWOOM_SECRETKEY in the environment and run {log_in_again(by_config)} (or %kiwoom_login --prompt).")


PLAIN_TEXT = plain_text()

# When the browser loses the kernel (a restart from the Kernel menu disposes every comm before it asks for
# the restart, so show_closed() never arrives), ipywidgets marks each view .jupyter-widgets-disconnected.
# Then CSS alone hides the stale status line, greys the controls out and shows the restart line, unless
# show_closed() got there first (a shutdown) and says why itself.
# ipywidgets draws its broken-link icon (::before) on every view it marks, down the panel's left edge: the panel
# keeps only its outer box's, beside the title, and draws the same one itself when show_closed() made it inert
# while the browser still counts its widgets as connected (a restart the page did not ask for, an unload).
GONE = ".kiwoom-login-panel.jupyter-widgets-disconnected"
CLOSED = ".kiwoom-login-panel:has(.kiwoom-closed):not(.jupyter-widgets-disconnected)"
_ICON = ("content:'\\f127';font:normal normal 900 14px/1 'Font Awesome 5 Free','FontAwesome';color:#d9534f;"
         "padding:3px")  # ipywidgets' own: chain-broken
STYLE = (
    "<style>"
    ".kiwoom-login-panel .kiwoom-gone{display:none}"
    f"{GONE}:not(:has(.kiwoom-closed)) .kiwoom-gone{{display:block;color:#b00020}}"
    f"{GONE}:not(:has(.kiwoom-closed)) :is(.kiwoom-status,.kiwoom-note){{display:none}}"
    f"{GONE} button,{GONE} input{{pointer-events:none;opacity:.5}}"
    ".kiwoom-login-panel .jupyter-widgets-disconnected::before{display:none}"
    f":is({GONE},{CLOSED}){{position:relative;padding-left:22px}}"
    f":is({GONE},{CLOSED})::before{{position:absolute;left:0;top:0}}"
    f"{CLOSED}::before{{{_ICON}}}"
    "</style>"
)
