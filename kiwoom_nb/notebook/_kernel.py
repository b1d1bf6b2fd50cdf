"""What the kernel does around cells for its logins: refresh tokens due before a cell runs, and tell the panels
before a shutdown or restart request is answered (the last moment their messages still reach the browser); and what
this frontend can do (a panel, a password prompt, or neither: how %kiwoom_login asks for keys).

Hooks into ipykernel and IPython objects it is given; imports neither.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from ..auth._lines import warn
from ..auth._session import Login, Session


def refresh_before_cell(session: Session, user_ns: dict[str, Any], push: Callable[[dict[str, Any]], None],
                        refreshed: Callable[[Login], None]) -> None:
    """Re-issue the tokens due (one clock comparison when none is); the variable follows unless the user has put
    something else there. Never raises: the cell runs anyway."""
    if time.time() < session.next_due:
        return
    try:
        before = {var: login.token for var, login in session.logins.items()}
        for login, error in session.refresh_due():
            if error is not None:
                warn(f"could not refresh {login.var} ({error}); the cell runs anyway")
                continue
            if user_ns.get(login.var, before[login.var]) == before[login.var]:
                push({login.var: login.token})
            refreshed(login)
    except Exception as exc:  # noqa: BLE001 - never block the user's cell
        warn(f"token refresh failed ({type(exc).__name__}); the cell runs anyway")


def watch_shutdown(kernel: Any, before: Callable[[bool], None]) -> None:
    """Call ``before(restart)`` when the kernel is asked to shut down or restart, then let it."""
    original = getattr(kernel, "do_shutdown", None)
    if original is None or getattr(original, "_kiwoom_nb", False):
        return

    def do_shutdown(restart: bool, *args: Any, **kwargs: Any) -> Any:
        before(restart)
        return original(restart, *args, **kwargs)

    do_shutdown._kiwoom_nb = True  # type: ignore[attr-defined]
    kernel.do_shutdown = do_shutdown


def unwatch_shutdown(kernel: Any) -> None:
    if kernel is not None and getattr(vars(kernel).get("do_shutdown"), "_kiwoom_nb", False):
        del kernel.do_shutdown


# -- what this frontend can do: ask for keys with a panel, a prompt, or not at all ---------------------------------


def in_voila() -> bool:
    """Voilà renders widgets but never allows stdin; it tells its kernels who they are in the environment."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila/") or "VOILA_KERNEL_ID" in os.environ \
        or "VOILA_PREHEAT" in os.environ


def in_kernel(shell: Any) -> bool:
    return getattr(shell, "kernel", None) is not None


def stdin_allowed(shell: Any) -> bool:
    kernel = getattr(shell, "kernel", None)
    if kernel is None:  # terminal IPython
        return True
    return bool(getattr(kernel, "_allow_stdin", True))


def way_to_ask(shell: Any) -> str:
    """How this frontend can be asked for keys: "panel", "prompt", or "" (nobody to ask).

    JupyterLab, Notebook 7 and VS Code allow stdin and render widgets; Voilà renders widgets but
    never allows stdin; nbclient, papermill, nbconvert and nbval do neither (a panel there would
    wait for a click that never comes); terminal IPython has a terminal.
    """
    if not in_kernel(shell):
        return "prompt"
    return "panel" if stdin_allowed(shell) or in_voila() else ""
