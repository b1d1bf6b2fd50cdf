"""Where a TR client's token comes from: its own keys (KeyTokens: issued on first use, re-issued near expiry, revoked
on close), or a login of the kernel's Session (SessionTokens: asked for on every request). Streams use them too.

No IPython, no printing; the wire is kiwoom_nb.auth._client's.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from .._errors import KiwoomError
from ._client import _check_keys, issue_token

if TYPE_CHECKING:
    from ._session import Login, Session
    from ._token import AccessToken

__all__ = ["KeyTokens", "SessionTokens"]

log = logging.getLogger("kiwoom_nb")


class KeyTokens:
    """A token issued from the client's own keys: issued on first use, re-issued near expiry, revoked on close.

    Each token is held in the process's own-key session (kiwoom_nb.auth._exit.own_session), so the exit path that
    revokes the kernel's logins (atexit, SIGTERM, SIGHUP, the revoker process) revokes it too, and a token Kiwoom
    handed to another holder as well is revoked only by the last one.
    """

    _numbers = itertools.count(1)

    def __init__(self, appkey: str, secretkey: str, *, mock: bool, base_url: str | None, timeout: float,
                 transport: Any, margin: float, kind: str = "Client") -> None:
        self._appkey, self._secretkey = _check_keys(appkey, secretkey)
        self.mock, self.base_url, self.timeout, self.transport, self.margin = mock, base_url, timeout, transport, margin
        self.kind = kind
        self.name = f"<{kind} {next(self._numbers)}>"  # its name in the own-key session (not an identifier)
        self.closed = False
        self._login: "Login | None" = None
        self._lock = threading.Lock()

    @property
    def token(self) -> "AccessToken | None":
        return self._login.token if self._login is not None else None

    @property
    def app_key(self) -> str:
        return self._appkey

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._appkey, self._secretkey)

    def _issue(self, *, code: int | None = None, websocket: bool = False) -> "AccessToken":
        """Issue a token and hold it in the own-key session in place of the one before (with the lock held)."""
        from ._exit import own_session
        from ._session import Login

        token = issue_token(self._appkey, self._secretkey, mock=self.mock, base_url=self.base_url,
                            timeout=self.timeout, transport=self.transport)
        fresh = Login(self.name, token, "own keys", self.base_url, self._appkey, self._secretkey,
                      transport=self.transport, timeout=self.timeout)
        old, self._login = self._login, fresh
        own_session().hold(fresh, replacing=old, code=code, websocket=websocket)
        return token

    def _check_open(self) -> None:
        if self.closed:
            raise KiwoomError(f"this kiwoom_nb.{self.kind} is closed (its token was revoked); create a new one")

    def current(self) -> "AccessToken":
        with self._lock:
            self._check_open()
            if self._login is None or self._login.token.is_expired(self.margin):
                return self._issue()
            return self._login.token

    def reissue(self, stale: "AccessToken", code: int | None = None, *, websocket: bool = False) -> "AccessToken":
        """A new token in place of ``stale``, once whatever the threads; one rejected with 8031 / 8010, or by the
        WebSocket, may still be valid, so it is revoked (best effort, bounded)."""
        with self._lock:
            self._check_open()
            if self._login is not None and self._login.token != stale:
                return self._login.token  # someone else already replaced it
            return self._issue(code=code if code is not None else 0, websocket=websocket)

    def close(self, timeout: float | None = None) -> None:
        """Revoke the token (au10002) if one was issued, unless another holder still uses it; nothing is issued
        after this. ``timeout``: at most this long for the revoke (default: the client's timeout).

        Waits for an issue in flight (another thread's), so its token is the one revoked, within ``timeout`` (after
        it, that token stays held in the own-key session, revoked at exit). Raises KiwoomError if Kiwoom does not
        confirm (the token is then revoked at exit).
        """
        started = time.monotonic()
        locked = self._lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0))
        try:
            self.closed = True
            login, self._login = self._login, None
        finally:
            if locked:
                self._lock.release()
        if login is not None:
            from ._exit import own_session

            left = None if timeout is None else timeout - (time.monotonic() - started)
            own_session().drop(login, timeout=left)


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

    def reissue(self, stale: "AccessToken", code: int | None = None, *, websocket: bool = False) -> "AccessToken":
        login = self.session.reissue(self.var, stale, code, websocket=websocket)
        if login.token != stale and self._publish is not None:
            self._publish(login, stale)
        return login.token

    def close(self, timeout: float | None = None) -> None:
        """The session owns the token: it is revoked by %kiwoom_logout or at exit, not here."""
