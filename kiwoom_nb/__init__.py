"""kiwoom_nb: log Jupyter and IPython sessions in to the Kiwoom Securities REST API.

``%load_ext kiwoom_nb`` then ``%kiwoom_login`` and ``%kiwoom API_ID field=value``; in scripts
``kiwoom_nb.Client(appkey, secretkey)``. ``kiwoom_nb.code("삼성전자")`` turns a name into its code;
``kiwoom_nb.stream()`` (``kiwoom_nb.Stream`` in scripts) is the real-time WebSocket. Importing this package stays cheap: httpx, ipywidgets, pandas
and the magics are imported when first used.
"""

from __future__ import annotations

from typing import Any

from .auth._client import MOCK_URL, PRODUCTION_URL, issue_token, revoke_token
from ._errors import (
    AccessDeniedError,
    CredentialsError,
    EnvironmentMismatchError,
    KeyringUnavailableError,
    KiwoomError,
    KiwoomTimeout,
    NetworkError,
    NotSupportedError,
    OrderNotConfirmed,
    RateLimitError,
    RequestError,
    ServerError,
    TokenError,
    UnknownStockError,
)
from .auth._token import AccessToken

__version__ = "0.1.0"

__all__ = [
    "MOCK_URL",
    "PRODUCTION_URL",
    "AccessDeniedError",
    "AccessToken",
    "Answer",
    "Client",
    "CredentialsError",
    "EnvironmentMismatchError",
    "KeyringUnavailableError",
    "KiwoomError",
    "KiwoomTimeout",
    "LoginPanel",
    "NetworkError",
    "NotSupportedError",
    "OrderNotConfirmed",
    "RateLimitError",
    "RequestError",
    "ServerError",
    "Stream",
    "TokenError",
    "UnknownStockError",
    "client",
    "code",
    "codes",
    "describe",
    "find_trs",
    "forget_keys",
    "issue_token",
    "load_ipython_extension",
    "login",
    "revoke_token",
    "store",
    "stream",
    "ticket",
    "unload_ipython_extension",
    "update",
]


def load_ipython_extension(ipython: Any) -> None:
    from .notebook._load import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook._load import unload

    unload(ipython)


def _panel_login(appkey: str, secretkey: str, mock: bool) -> str:
    """What kiwoom_nb.LoginPanel() does on "log in": what %kiwoom_login does, in this kernel."""
    from .notebook._load import current

    return current().login_with_keys(appkey, secretkey, mock=mock, source="login panel")


def codes(market: str | None = None, *, var: str | None = None) -> Any:
    """The listed stocks as a DataFrame (code, name, market), with the login in ``var`` (default ``kiwoom_token``),
    as ``client()`` has it; cached for the day. ``market=None`` is KOSPI and KOSDAQ; or "kospi", "kosdaq", "us"
    (US adds ``stex_tp``, the exchange code). In a script: ``kiwoom_nb.Client(...).codes()``."""
    from .notebook._load import client

    return client(var).codes(market)


def code(name: str, market: str | None = None, *, var: str | None = None) -> str:
    """The code of the stock called ``name``: ``code("삼성전자") == "005930"`` (``market="us"`` for US stocks), with
    the login in ``var``. An unknown or ambiguous name raises UnknownStockError with the closest names."""
    from .notebook._load import client

    return client(var).code(name, market)


def update(codes: Any, interval: str = "D", start: Any = None, *, adjusted: bool = True, store: Any = True,
           var: str | None = None) -> Any:
    """Bring ``codes`` (a list, or ``codes()["code"]``) to their last finished bar in the candle store
    (``kiwoom_nb.store``), with the login in ``var``: one progress bar, one summary line, refused codes in
    ``attrs["failed"]``; a killed run resumes where it stopped. In a script: ``kiwoom_nb.Client(...).update(...)``."""
    from .notebook._load import client

    return client(var).update(codes, interval, start, adjusted=adjusted, store=store)


def _streams_shown_as_boards() -> None:
    """In IPython, ``display(stream)`` shows a live board, with %load_ext or without: the notebook room registers how
    (kiwoom_nb.live knows nothing of boards). Outside IPython nothing is imported."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        from .notebook._watch_magic import show_streams_as_boards

        show_streams_as_boards(shell)


def __dir__() -> list[str]:
    """The public names, for Tab (``kiwoom_nb.<Tab>``): the lazy ones too, and none of the module's helpers."""
    return sorted({*__all__, "__version__"})


def __getattr__(name: str) -> Any:
    if name == "LoginPanel":
        from .notebook.panel._panel import LoginPanel

        if LoginPanel.default_login is None:
            LoginPanel.default_login = staticmethod(_panel_login)
        return LoginPanel
    if name == "Client":
        from .orders._client import Client

        return Client
    if name == "Answer":
        from .rest._api import Answer

        return Answer
    if name == "describe":
        from .rest._describe import describe

        return describe
    if name == "find_trs":
        from .rest._trs import find_trs

        return find_trs
    if name == "client":
        from .notebook._load import client

        return client
    if name == "Stream":
        from .live._stream import Stream

        _streams_shown_as_boards()
        return Stream
    if name == "stream":
        from .notebook._load import stream

        return stream
    if name == "ticket":
        from .notebook._load import ticket

        return ticket
    if name == "login":
        from .notebook._load import login

        return login
    if name == "store":  # the package kiwoom_nb/store: read, info, sql, clear (pyarrow only when they run)
        import importlib

        return importlib.import_module(".store", __name__)
    if name == "forget_keys":
        from .auth._keys import forget_keys

        return forget_keys
    raise AttributeError(f"module 'kiwoom_nb' has no attribute {name!r}")
