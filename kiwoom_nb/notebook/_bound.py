"""Clients bound to the kernel's logins, one per variable: they ask the session for the token on every request,
and a re-issue they do is published so the variable and the panels follow. No IPython."""

from __future__ import annotations

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

    def tokens(self, var: str) -> "SessionTokens":
        from ..auth._tokens import SessionTokens

        return SessionTokens(self.session, var, refresh=self._refresh, publish=self._publish)

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
            from ..rest._client import Client

            self[var] = Client.bound(self.tokens(var), pace=pace)
        return self[var]

    def set_pace(self, pace: float | None) -> None:
        for client in self.values():
            client.pace = pace
