"""kiwoom_nb: log Jupyter and IPython sessions in to the Kiwoom Securities REST API.

``%load_ext kiwoom_nb`` then ``%kiwoom_login`` and ``%kiwoom API_ID field=value``; in scripts
``kiwoom_nb.Client(appkey, secretkey)``. Importing this package stays cheap: httpx, ipywidgets, pandas
and the magics are imported when first used.
"""

from __future__ import annotations

from typing import Any

from ._client import MOCK_URL, PRODUCTION_URL, issue_token, revoke_token
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
from ._token import AccessToken

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
    "TokenError",
    "UnknownStockError",
    "client",
    "describe",
    "find_trs",
    "forget_keys",
    "issue_token",
    "load_ipython_extension",
    "login",
    "revoke_token",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    from ._magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from ._magics import unload

    unload(ipython)


def _panel_login(appkey: str, secretkey: str, mock: bool) -> str:
    """What kiwoom_nb.LoginPanel() does on "log in": what %kiwoom_login does, in this kernel."""
    from ._magics import current

    return current().login_with_keys(appkey, secretkey, mock=mock, source="login panel")


def __getattr__(name: str) -> Any:
    if name == "LoginPanel":
        from ._panel import LoginPanel

        if LoginPanel.default_login is None:
            LoginPanel.default_login = staticmethod(_panel_login)
        return LoginPanel
    if name in ("Client", "Answer"):
        from . import _api

        return getattr(_api, name)
    if name == "describe":
        from ._describe import describe

        return describe
    if name == "find_trs":
        from ._trs import find_trs

        return find_trs
    if name == "client":
        from ._magics import client

        return client
    if name == "login":
        from ._magics import login

        return login
    if name == "forget_keys":
        from ._keys import forget_keys

        return forget_keys
    raise AttributeError(f"module 'kiwoom_nb' has no attribute {name!r}")
