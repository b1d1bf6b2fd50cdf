"""Clients bound to the kernel's logins, one per variable: they ask the session for the token on every request,
and a re-issue they do is published so the variable and the panels follow. No IPython.

Only the kernel's main thread (the cells') runs the cell hooks (namespace push, panel sync, stderr): a refresh or
re-issue on a socket, board or callback thread only updates the session, and the variable follows at the next cell.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from .._errors import EnvironmentMismatchError, KiwoomError

if TYPE_CHECKING:  # the client is imported at the first TR call, not at %load_ext
    from ..auth._tokens import SessionTokens
    from ..rest._client import Client
    from ..auth._session import Login, Session


class BoundClients(dict):
    """var -> its Client."""

    def __init__(self, session: "Session", *, refresh: Callable[[], None],
                 publish: Callable[["Login", Any], None]) -> None:
        super().__init__()
        self.session, self._refresh, self._publish = session, refresh, publish
        self._behind: dict[str, Any] = {}  # var -> the token it held before another thread replaced it
        self._lock = threading.Lock()

    def tokens(self, var: str) -> "SessionTokens":
        from ..auth._tokens import SessionTokens

        return SessionTokens(self.session, var, refresh=self._refresh_here, publish=self._publish_here)

    def _refresh_here(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._refresh()
            return
        before = {var: login.token for var, login in self.session.logins.items()}
        for login, error in self.session.refresh_due():  # the session only; an error is tried again later
            if error is None and login.token != before.get(login.var):
                self._remember(login.var, before.get(login.var))

    def _publish_here(self, login: "Login", old: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            self._publish(login, old)
        else:
            self._remember(login.var, old)

    def _remember(self, var: str, old: Any) -> None:
        with self._lock:
            self._behind.setdefault(var, old)

    def catch_up(self) -> None:
        """On the main thread, before a cell: publish what other threads re-issued since the last cell."""
        if not self._behind:
            return
        with self._lock:
            behind, self._behind = self._behind, {}
        for var, old in behind.items():
            login = self.session.find(var)
            if login is not None and login.token != old:
                self._publish(login, old)

    def client(self, var: str, *, mock: bool | None, pace: float | None, explicit: bool) -> "Client":
        """The client of ``var`` (or, unless ``explicit``, of the one login of ``mock``'s environment)."""
        if not explicit and mock is not None:
            found = self.session.find(var)
            if found is None or found.mock != mock:
                var = next((v for v, login in self.session.logins.items() if login.mock == mock), var)
        login = self.session.find(var)
        if login is None:
            how = "%kiwoom_login --mock" if mock else "%kiwoom_login"
            raise KiwoomError(f"no Kiwoom login in {var}; run {how} (or kiwoom_nb.login()) first")
        if mock is not None and login.mock != mock:
            raise EnvironmentMismatchError(
                f"{var} holds a {login.token.environment} token, not a {'mock' if mock else 'production'} one; "
                f"log in with %kiwoom_login {'--mock' if mock else '--production'} --var NAME and pass var=NAME")
        if var not in self:
            from ..orders._client import Client

            self[var] = Client.bound(self.tokens(var), pace=pace)
        return self[var]

    def set_pace(self, pace: float | None) -> None:
        for client in self.values():
            client.pace = pace
