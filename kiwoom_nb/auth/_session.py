"""The live tokens of one kernel: log in, reuse, replace, refresh, log out, revoke all once at exit.

No IPython, no printing, no environment. Keys are held here, in memory only, for refresh and revoke.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any, Callable

from ._client import issue_token, revoke_token
from .._errors import KiwoomError, KiwoomTimeout
from ._holders import Holders
from ._token import AccessToken, Login

__all__ = ["Login", "Session"]

log = logging.getLogger("kiwoom_nb")

#: The before-cell refresh waits at most this long (or the session timeout, if shorter): the token is
#: still valid then, so a slow Kiwoom should delay the user's cell as little as possible.
REFRESH_TIMEOUT = 3.0

#: After Kiwoom hands back the same near-expiry token (or a refresh fails), wait this long before
#: trying again, so the before-cell check does not call Kiwoom on every cell.
RETRY_SECONDS = 60.0

#: Rejections after which the token is still valid somewhere, so it is revoked (best effort) when replaced:
#: 8031 (the token belongs to the other environment: valid there) and 8010 (issued to another IP).
STILL_VALID = (8031, 8010)

#: How long that best-effort revoke may take; it runs while other threads wait for the new token.
REJECTED_REVOKE_TIMEOUT = 3.0

#: Every session of this process: a token one of them still uses is not revoked by another (Kiwoom may hand the
#: same token to the kernel's login and to a Client or Stream with the same keys).
_sessions: "weakref.WeakSet[Session]" = weakref.WeakSet()


class Session:
    """All logins of this process, by variable name."""

    def __init__(self, *, timeout: float = 10.0, transport: Any = None, holders: Holders | None = None) -> None:
        self.timeout = timeout
        self.transport = transport
        self.holders = holders if holders is not None else Holders()
        self.logins: dict[str, Login] = {}
        self.orphans: list[Login] = []  # replaced or logged out, but the revoke failed: retried at exit
        self.margin = 0.0  # seconds before expiry at which a token is re-issued
        self.next_due = float("inf")  # epoch seconds of the next refresh check; inf when none
        self.revoking = False  # True while revoke_all waits for its requests
        # One login, logout, refresh or re-issue at a time: threads sharing a client re-issue a stale
        # token once, and a logout waits for a re-issue in flight instead of missing its token.
        self._lock = threading.RLock()
        #: Called as ``observer("hold", login)`` when a token is tracked and ``observer("release", login)``
        #: when this process revoked it or left it to another holder (the revoker listens here).
        self.observer: Callable[[str, Login], None] | None = None
        _sessions.add(self)

    # -- logging in -------------------------------------------------------------------------------

    def find(self, var: str) -> Login | None:
        return self.logins.get(var)

    def login(
        self,
        appkey: str,
        secretkey: str,
        *,
        var: str,
        mock: bool = False,
        base_url: str | None = None,
        source: str = "arguments",
        force: bool = False,
    ) -> tuple[Login, bool]:
        """Log in and track the token under ``var``; returns (login, reused).

        A token for the same keys and environment that is not due for refresh (``margin``) is
        reused unless ``force``. On failure the previous login stays as it was.
        """
        with self._lock:
            old = self.logins.get(var)
            if old and not force and old.same_keys(appkey, secretkey, mock, base_url) \
                    and not old.token.is_expired(self.margin):
                return old, True
            token = issue_token(appkey, secretkey, mock=mock, base_url=base_url, timeout=self.timeout,
                                transport=self.transport)
            new = Login(var, token, source, base_url, appkey.strip(), secretkey.strip())
            try:
                self._track(new, replacing=old)
            except KiwoomError as exc:  # the new token is in ``var``; the old one stays in orphans for exit
                new.note = f"could not revoke the replaced token ({exc}); it is revoked when the kernel stops"
            return new, False

    def _track(self, new: Login, replacing: Login | None, *, timeout: float | None = None) -> None:
        self.logins[new.var] = new
        self.holders.add(new.token)
        self._notify("hold", new)
        try:
            if replacing is not None and replacing.token != new.token:
                self._release(replacing, timeout=timeout)
        finally:
            self._update_due()

    def _holders_elsewhere(self, login: Login) -> list[tuple["Session", Login]]:
        """Logins of this process, in any session, that use ``login``'s token (``login`` itself aside)."""
        return [(session, other) for session in list(_sessions) for other in list(session.logins.values())
                if other is not login and other.token == login.token]

    def _release(self, login: Login, *, timeout: float | None = None) -> str | None:
        """Revoke a token this session no longer uses, unless someone else still holds it. Returns None when revoked,
        else why it was kept. A failed revoke raises, and the login stays in ``orphans`` so exit tries again."""
        sharing = self._holders_elsewhere(login)
        if sharing:
            if all(session is not self for session, _ in sharing):  # that session (and its revoker) covers it
                self._notify("release", login)
                if login in self.orphans:
                    self.orphans.remove(login)
            return f"{sharing[0][1].var} holds the same token"
        others = self.holders.others(login.token)
        if others:
            self.holders.remove(login.token)
            self._notify("release", login)
            return "another kernel on this machine (pid " + ", ".join(map(str, others)) + ") still uses it"
        try:
            if timeout is not None and timeout < 0.01:  # the caller's time is up: the exit revoke (or revoker) does it
                raise KiwoomTimeout("Logout (au10002) was not tried: no time was left for it")
            revoke_token(login.appkey, login.secretkey, login.token, mock=login.mock, base_url=login.base_url,
                         timeout=timeout or login.timeout or self.timeout,
                         transport=login.transport if login.transport is not None else self.transport)
        except KiwoomError:
            if login not in self.orphans:
                self.orphans.append(login)
            raise
        self.holders.remove(login.token)
        self._notify("release", login)
        if login in self.orphans:
            self.orphans.remove(login)
        return None

    def _notify(self, event: str, login: Login) -> None:
        if self.observer is not None:
            try:
                self.observer(event, login)
            except Exception as exc:  # noqa: BLE001 - an observer must not break logging in or out
                log.warning("kiwoom_nb: %s observer failed: %s", event, type(exc).__name__)

    # -- staying logged in ------------------------------------------------------------------------

    def _update_due(self) -> None:
        self.next_due = min((login.due_at(self.margin) for login in self.logins.values()), default=float("inf"))

    def set_margin(self, margin: float) -> None:
        self.margin = margin
        self._update_due()

    def refresh_due(self, now: float | None = None) -> list[tuple[Login, KiwoomError | None]]:
        """Re-issue every token that expires within the margin; returns (login, error or None) for each tried.

        Kiwoom may answer with the same token while it is still valid: then wait until it has
        expired (or RETRY_SECONDS) before trying again.
        """
        with self._lock:
            return self._refresh_due(time.time() if now is None else now)

    def _refresh_due(self, now: float) -> list[tuple[Login, KiwoomError | None]]:
        margin = self.margin
        results: list[tuple[Login, KiwoomError | None]] = []
        for login in list(self.logins.values()):
            if login.due_at(margin) > now:
                continue
            try:
                token = issue_token(login.appkey, login.secretkey, mock=login.mock, base_url=login.base_url,
                                    timeout=min(self.timeout, REFRESH_TIMEOUT), transport=self.transport)
            except KiwoomError as exc:
                login.retry_at = now + RETRY_SECONDS
                results.append((login, exc))
                continue
            if token == login.token:  # keep Kiwoom's latest word on its expiry
                login.token = token
                login.retry_at = max(now + RETRY_SECONDS, token.expires_at.timestamp())
                results.append((login, None))
                continue
            fresh = Login(login.var, token, login.source, login.base_url, login.appkey, login.secretkey)
            try:
                self._track(fresh, replacing=login)
            except KiwoomError as exc:  # the new token is tracked; the old one is left for exit
                log.warning("kiwoom_nb: could not revoke the replaced token: %s", exc)
            results.append((fresh, None))
        self._update_due()
        return results

    def reissue(self, var: str, stale: AccessToken, code: int | None = None, *, websocket: bool = False) -> Login:
        """Replace ``var``'s token because Kiwoom rejected ``stale`` with ``code`` (8005, 8010, ...); returns the
        login now in ``var``.

        Once per stale token, whatever the threads: if ``var`` already holds another token (a refresh, a new
        login, another thread's re-issue), that one is returned and nothing is issued. What becomes of ``stale``:
        see :meth:`_let_go_rejected` (``websocket``: the WebSocket refused it, not the REST API).
        """
        with self._lock:
            login = self.logins.get(var)
            if login is None:
                raise KiwoomError(f"no Kiwoom login in {var}; run %kiwoom_login first")
            if login.token != stale:
                return login
            if self.revoking:
                raise KiwoomError("the kernel is stopping and revoking its tokens; no new token is issued")
            token = issue_token(login.appkey, login.secretkey, mock=login.mock, base_url=login.base_url,
                                timeout=self.timeout, transport=self.transport)
            fresh = Login(var, token, login.source, login.base_url, login.appkey, login.secretkey)
            if self.logins.get(var) is not login:  # revoke_all took the logins meanwhile (it does not wait long)
                self.orphans.append(fresh)  # tracked: revoked now, or at exit if that fails
                self.holders.add(token)
                self._notify("hold", fresh)
                try:
                    self._release(fresh)
                except KiwoomError:
                    pass  # left in orphans, held for the revoker process
                raise KiwoomError(f"{var} was logged out while its token was re-issued; run %kiwoom_login again")
            self.logins[var] = fresh
            self.holders.add(token)
            self._notify("hold", fresh)  # the revoker must know the new token, or a kernel death leaves it live
            if token != stale:
                self._let_go_rejected(login, code, websocket)
            self._update_due()
            return fresh

    def _let_go_rejected(self, login: Login, code: int | None, websocket: bool) -> None:
        """Stop holding a token Kiwoom refused. One refused with 8031 / 8010 is still valid where it was issued, and
        one the WebSocket refused may still be taken by the REST API: both are revoked (best effort, bounded), and
        the first kept for the exit revoke if that fails. Any other is dead already and simply let go."""
        if code in STILL_VALID or websocket:
            try:
                self._release(login, timeout=min(login.timeout or self.timeout, REJECTED_REVOKE_TIMEOUT))
                return
            except KiwoomError as exc:
                if code in STILL_VALID:  # kept in orphans: the exit revoke tries again
                    log.warning("kiwoom_nb: could not revoke the %s token rejected with %s: %s",
                                login.token.environment, code, exc)
                    return
                if login in self.orphans:  # a dead token's revoke fails harmlessly: nothing to keep
                    self.orphans.remove(login)
        if not self._holders_elsewhere(login):
            self.holders.remove(login.token)
        self._notify("release", login)

    # -- the own tokens of a Client or a Stream (kiwoom_nb.auth._tokens.KeyTokens) ----------------------

    def hold(self, login: Login, *, replacing: Login | None = None, code: int | None = None,
             websocket: bool = False) -> None:
        """Track a Client's or Stream's own token under ``login.var`` in place of ``replacing``, which is revoked
        unless someone else holds it (a rejected one as :meth:`_let_go_rejected` says). Never raises for the
        old token: a failed revoke keeps it for the exit revoke."""
        with self._lock:
            self.logins[login.var] = login
            self.holders.add(login.token)
            self._notify("hold", login)
            if replacing is not None and replacing.token != login.token:
                if code is not None or websocket:
                    self._let_go_rejected(replacing, code, websocket)
                else:
                    try:
                        self._release(replacing)
                    except KiwoomError as exc:
                        log.warning("kiwoom_nb: could not revoke a replaced token: %s; it is revoked at exit", exc)
            self._update_due()

    def drop(self, login: Login, *, timeout: float | None = None) -> str | None:
        """A Client or Stream closed: revoke its token (within ``timeout``) unless another holder in the process or on
        the machine still uses it; returns why it was kept, if it was. A failed revoke raises, the token kept for exit."""
        with self._lock:
            if self.logins.get(login.var) is not login:
                return "released already"  # revoked at exit, or replaced
            del self.logins[login.var]
            try:
                return self._release(login, timeout=timeout)
            finally:
                self._update_due()

    # -- logging out ------------------------------------------------------------------------------

    def logout(self, var: str) -> tuple[Login, str | None]:
        """Revoke and forget ``var``'s token; returns it and why it was kept, if it was.

        On failure it stays tracked under ``var`` (and the error propagates).
        """
        with self._lock:
            login = self.logins.pop(var)
            try:
                kept = self._release(login)
            except KiwoomError:
                self.orphans.remove(login)
                self.logins[var] = login
                raise
            finally:
                self._update_due()
            return login, kept

    def revoke_all(self, budget: float) -> dict[str, list[Login]]:
        """Revoke every token this process holds now, within ``budget`` seconds in total.

        Each call takes what is tracked at that moment (a login after an earlier call is revoked by the
        next one). It waits for a login or re-issue in flight for at most half the budget; a token that
        one issues later is still tracked (and told to the revoker process). Runs the requests in a daemon
        thread so a server that never answers, or a KeyboardInterrupt arriving during shutdown, cannot
        hold the process past the budget. Never raises.
        """
        outcome: dict[str, list[Login]] = {"revoked": [], "kept": [], "failed": []}
        deadline = time.monotonic() + budget
        self.revoking = True
        locked = False
        try:
            locked = self._lock.acquire(timeout=max(budget / 2, 0.01))
        except KeyboardInterrupt:  # the SIGINT that precedes a kernel shutdown: take the snapshot anyway
            pass
        try:
            pending: list[Login] = []
            for login in [*self.logins.values(), *self.orphans]:
                if all(login.token != seen.token for seen in pending):
                    pending.append(login)
            self.logins.clear()
            self.orphans.clear()
            self.next_due = float("inf")
        finally:
            if locked:
                self._lock.release()
        if not pending:
            self.revoking = False
            return outcome
        results = _release_within(self._release, pending, deadline)
        self.revoking = False
        for login in pending:  # one snapshot: whatever the worker has not settled by now failed
            outcome[results.get(id(login), "failed")].append(login)
        for login in outcome["failed"]:
            log.warning("kiwoom_nb: could not revoke the %s token of %s at exit", login.token.environment, login.var)
        return outcome


def _release_within(release: Any, pending: list[Login], deadline: float) -> dict[int, str]:
    """Run ``release(login, timeout=...)`` for each of ``pending`` in a daemon thread until ``deadline`` (monotonic), so
    a server that never answers, or a KeyboardInterrupt arriving during shutdown, cannot hold the process past it.
    Returns id(login) -> "revoked" / "kept" / "failed" for the logins the worker settled in time."""
    results: dict[int, str] = {}  # written by the worker

    def work() -> None:
        for login in pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                kept = release(login, timeout=remaining)
            except Exception:  # noqa: BLE001 - exit path: report, never raise
                results[id(login)] = "failed"
            else:
                results[id(login)] = "kept" if kept else "revoked"

    thread = threading.Thread(target=work, name="kiwoom-revoke", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no new threads at interpreter shutdown (newer Pythons): run inline
        work()
    except KeyboardInterrupt:  # landed while start() waited for the thread: it runs, wait below
        pass
    while thread.is_alive():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            thread.join(min(left, 0.05))
        except KeyboardInterrupt:  # the SIGINT that precedes a kernel shutdown
            continue
    return results
