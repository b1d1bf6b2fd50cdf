"""``%load_ext kiwoom_nb`` (load / unload) and the package's notebook functions: kiwoom_nb.login(), client(), stream().

One login class (KiwoomMagics) per shell, and the TR, candle and watch magics beside it using its logins.
"""

from __future__ import annotations

from typing import Any

from .._errors import CredentialsError, KiwoomError
from ..auth import _keys
from ..auth._lines import UNLOADED
from ..auth._lines import warn as _warn
from ._magics import KiwoomMagics, check_remember
from ._magics import remember as save_keys_of

__all__ = ["client", "current", "load", "login", "stream", "unload"]

_instances: dict[int, KiwoomMagics] = {}


def load(shell: Any) -> None:
    """%load_ext: the login class (KiwoomMagics, the configurable), then the TR, candle and watch magics using its
    logins; display(stream) shows a board from now on."""
    if id(shell) in _instances:
        return
    from ._candles_magic import CandleMagics
    from ._tr_magic import TrMagics
    from ._watch_magic import TicketMagics, WatchMagics, show_streams_as_boards

    magics = KiwoomMagics(shell=shell)
    tr = TrMagics(shell, magics)
    magics.companions = [tr, CandleMagics(shell, magics), WatchMagics(shell, magics), TicketMagics(shell, magics)]
    for each in (magics, *magics.companions):
        shell.register_magics(each)
    magics.hook()
    tr.hook()  # Tab in a %kiwoom line, %kiwoom ka10081? as help
    show_streams_as_boards(shell)
    _instances[id(shell)] = magics
    from ..rest._wide import want

    want()  # pandas' east_asian_width, so Korean columns line up; pandas is not imported for it


def unload(shell: Any) -> None:
    magics = _instances.pop(id(shell), None)
    if magics is None:
        return
    for login in list(magics.session.logins.values()):
        magics.forget_var(login)
    magics.panels.close_all(UNLOADED)
    if magics.mock_hosts:  # the hosts it named are mock no longer
        from ..auth._client import set_mock_hosts

        set_mock_hosts("")
    magics.exit.revoke_everything()
    magics.unhook()
    for each in magics.companions:
        if hasattr(each, "unhook"):
            each.unhook()
    # Unregister the magics too: an unhooked instance would log in with nothing left to revoke at exit.
    manager = shell.magics_manager
    for each in (magics, *magics.companions):
        if each in getattr(shell, "configurables", []):
            shell.configurables.remove(each)
        for table in manager.magics.values():
            for name in [n for n, f in table.items() if getattr(f, "__self__", None) is each]:
                del table[name]
        if manager.registry.get(type(each).__name__) is each:
            del manager.registry[type(each).__name__]


def current() -> KiwoomMagics:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise KiwoomError("kiwoom_nb.login() needs IPython or Jupyter; outside them use kiwoom_nb.issue_token()")
    if id(shell) not in _instances:
        load(shell)
    return _instances[id(shell)]


_warned_literal = False


def _warn_if_literal(shell: Any, *keys: str) -> None:
    """Warn once when a key passed to login() is written in the cell: the cell is already saved."""
    global _warned_literal
    if _warned_literal:
        return
    cells = shell.user_ns.get("_ih") or [""]
    if any(key and len(key) >= 4 and key in cells[-1] for key in keys):
        _warned_literal = True
        _warn("a key is written in this cell, so it is now saved in the notebook and in IPython history; "
              "read keys from the environment or a secrets manager instead, and consider reissuing the key")


def login(appkey: str | None = None, secretkey: str | None = None, *, mock: bool = False, var: str | None = None,
          force: bool = False, remember: bool = False) -> Any:
    """Do what ``%kiwoom_login`` does, with keys from a secrets manager (or, when omitted, the
    environment, Colab secrets or the OS keyring).

    Puts the token in ``var`` (default ``kiwoom_token``), tracks it for refresh and exit revoke, prints
    the same line as the magic and returns the token. ``remember=True`` then saves the keys in the OS
    keyring (``forget_keys()`` removes them). Raises KiwoomError on failure.
    """
    magics = current()
    if remember:
        check_remember("remember=True")
    source = "arguments"
    if appkey is None or secretkey is None:
        found_app, found_secret, found_source = _keys.find_keys(mock, warn=_warn)
        source = found_source if (appkey, secretkey) == (None, None) else "arguments and environment"
        appkey, secretkey = appkey or found_app, secretkey or found_secret
        if not (appkey and secretkey):
            if _keys.only_production_keys(mock):
                raise CredentialsError(_keys.ONLY_PRODUCTION)
            names = " and ".join(_keys.ENV_NAMES[mock])
            raise CredentialsError(f"no Kiwoom keys given or found; pass appkey= and secretkey=, or set {names}")
    _warn_if_literal(magics.shell, appkey, secretkey)
    print(magics.login_with_keys(appkey, secretkey, mock=mock, var=var, force=force, source=source)
          + magics.using(mock))
    if remember:
        print(save_keys_of(magics.session, var or magics.var))
    return magics.session.find(var or magics.var).token


def client(var: str | None = None, mock: bool | None = None) -> Any:
    """The TR client bound to the notebook's login in ``var`` (default ``kiwoom_token``; ``mock=`` picks by environment).

    It asks the kernel's session for the token on every request, so a refresh or a new %kiwoom_login is
    picked up, and a re-issue it does updates the variable and the exit revoke. Outside IPython use
    ``kiwoom_nb.Client(appkey, secretkey)``.
    """
    from IPython import get_ipython

    if get_ipython() is None:
        raise KiwoomError("kiwoom_nb.client() needs IPython or Jupyter; in a script use kiwoom_nb.Client(appkey, secretkey)")
    return current().client_for(var, mock)


def stream(var: str | None = None, mock: bool | None = None, market: str = "domestic", buffer: int | None = None,
           silence: float = 120.0) -> Any:
    """Kiwoom's real-time WebSocket with the notebook's login in ``var`` (default ``kiwoom_token``; ``mock=`` picks
    by environment, as client()). ``market="us"`` is the US socket. Streams of one app key share one socket; they
    are closed before the token is revoked (%kiwoom_logout, and when the kernel stops). In a script use
    ``kiwoom_nb.Stream(appkey, secretkey)``."""
    from IPython import get_ipython

    if get_ipython() is None:
        raise KiwoomError("kiwoom_nb.stream() needs IPython or Jupyter; in a script use kiwoom_nb.Stream(appkey, secretkey)")
    return current().stream_for(var, mock, market, buffer, silence)


def ticket(code: str = "", qty: int = 1, *, var: str | None = None, mock: bool | None = None) -> Any:
    """An order ticket (issue 35) for the login in ``var``: code, side, quantity, price or market, the preview line as
    you type, 주문 then 확인 (production in red); after sending, the live order with modify and cancel."""
    from .panel._ticket import Ticket

    return Ticket(client(var, mock), code, qty)
