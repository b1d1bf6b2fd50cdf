"""Where a TR client's token comes from: its own keys (KeyTokens: issued on first use, re-issued near expiry, revoked
on close), or a login of the kernel's Session (SessionTokens: asked for on every request). Streams use them too.

No IPython, no printing; the wire is kiwoom_nb.auth._client's.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from .._errors import KiwoomError
from ._client import _check_keys, issue_token, revoke_token
from ._session import REJECTED_REVOKE_TIMEOUT, STILL_VALID

if TYPE_CHECKING:
    from ._session import Login, Session
    from ._token import AccessToken

__all__ = ["KeyTokens", "SessionTokens"]

log = logging.getLogger("kiwoom_nb")


class KeyTokens:
    """A token issued from the client's own keys: issued on first use, re-issued near expiry, revoked on close."""

    def __init__(self, appkey: str, secretkey: str, *, mock: bool, base_url: str | None, timeout: float,
                 transport: Any, margin: float) -> None:
        self._appkey, self._secretkey = _check_keys(appkey, secretkey)
        self.mock, self.base_url, self.timeout, self.transport, self.margin = mock, base_url, timeout, transport, margin
        self.token: AccessToken | None = None
        self.closed = False
        self._lock = threading.Lock()

    @property
    def app_key(self) -> str:
        return self._appkey

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._appkey, self._secretkey)

    def _issue(self) -> "AccessToken":
        return issue_token(self._appkey, self._secretkey, mock=self.mock, base_url=self.base_url,
                           timeout=self.timeout, transport=self.transport)

    def _check_open(self) -> None:
        if self.closed:
            raise KiwoomError("this kiwoom_nb.Client is closed (its token was revoked); create a new one")

    def current(self) -> "AccessToken":
        with self._lock:
            self._check_open()
            if self.token is None or self.token.is_expired(self.margin):
                old, self.token = self.token, self._issue()
                if old is not None and old != self.token:
                    self._revoke_quietly(old)
            return self.token

    def reissue(self, stale: "AccessToken", code: int | None = None) -> "AccessToken":
        """A new token in place of ``stale``, once whatever the threads; one rejected with 8031 / 8010 is
        still valid where it was issued, so it is revoked (best effort, bounded)."""
        with self._lock:
            self._check_open()
            if self.token is not None and self.token != stale:
                return self.token  # someone else already replaced it
            self.token = self._issue()
            if code in STILL_VALID and stale != self.token:
                self._revoke_quietly(stale, timeout=min(self.timeout, REJECTED_REVOKE_TIMEOUT))
            return self.token

    def _revoke_quietly(self, token: "AccessToken", timeout: float | None = None) -> None:
        try:
            revoke_token(self._appkey, self._secretkey, token, mock=self.mock, base_url=self.base_url,
                         timeout=timeout or self.timeout, transport=self.transport)
        except KiwoomError as exc:
            log.warning("kiwoom_nb: could not revoke a replaced token: %s", exc)

    def close(self) -> None:
        """Revoke the token (au10002) if one was issued; nothing is issued after this.

        Waits for an issue in flight (another thread's), so its token is the one revoked. Raises
        KiwoomError if Kiwoom does not confirm.
        """
        with self._lock:
            self.closed = True
            token, self.token = self.token, None
        if token is not None:
            revoke_token(self._appkey, self._secretkey, token, mock=self.mock, base_url=self.base_url,
                         timeout=self.timeout, transport=self.transport)


class SessionTokens:
    """The token of one login of the kernel's Session, asked for on every request.

    ``refresh`` runs the session's due refreshes (and updates the namespace); ``publish(login, old)``
    is told when a re-issue here replaced ``old``, so the namespace variable follows.
    """

    def __init__(self, session: "Session", var: str, *, refresh: Callable[[], None] | None = None,
                 publish: Callable[["Login", "AccessToken"], None] | None = None) -> None:
        self.session, self.var, self._refresh, self._publish = session, var, refresh, publish

    def login(self) -> "Login":
        login = self.session.find(self.var)
        if login is None:
            raise KiwoomError(f"no Kiwoom login in {self.var}; run %kiwoom_login (or kiwoom_nb.login()) first")
        return login

    mock = property(lambda self: self.login().mock)
    base_url = property(lambda self: self.login().base_url)
    app_key = property(lambda self: self.login().appkey)
    secrets = property(lambda self: (self.login().appkey, self.login().secretkey))
    timeout = property(lambda self: self.session.timeout)
    transport = property(lambda self: self.session.transport)

    def current(self) -> "AccessToken":
        if self._refresh is not None and time.time() >= self.session.next_due:
            self._refresh()
        return self.login().token

    def reissue(self, stale: "AccessToken", code: int | None = None) -> "AccessToken":
        login = self.session.reissue(self.var, stale, code)
        if login.token != stale and self._publish is not None:
            self._publish(login, stale)
        return login.token

    def close(self) -> None:
        """The session owns the token: it is revoked by %kiwoom_logout or at exit, not here."""
