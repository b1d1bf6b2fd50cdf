"""KiwoomMagics, the login class: %kiwoom_login / %kiwoom_logout / %kiwoom_status, and what the kernel's logins need
(the session, the exit guard, clients and streams bound to a login, the panels). Its settings (``%config
KiwoomMagics.*``) are _settings.Settings'; %kiwoom, %kiwoom_candles and %kiwoom_watch are their own Magics classes
beside it, using its logins; leaving (atexit, signals, the revoker) is kiwoom_nb.auth._exit's.

Magics raise KiwoomError: its ``_render_traceback_`` is one line, and unlike IPython's UsageError (a stderr stream)
it reaches nbval, papermill and nbclient as a real error.
"""

from __future__ import annotations

import logging
import sys
from functools import cached_property
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from traitlets import observe

from ..auth import _keys
from .._errors import CredentialsError, KeyringUnavailableError, KiwoomError
from ..auth._exit import ExitGuard
from ._magic_args import argument, lazy_arguments, parse
from ._settings import Settings
from ._kernel import in_kernel, refresh_before_cell, stdin_allowed, unwatch_shutdown, watch_shutdown, way_to_ask
from ..auth._lines import describe, environment_name
from ..auth._lines import warn as _warn
from ..auth._session import Login, Session

__all__ = ["KiwoomMagics", "check_remember", "forget_saved_keys", "remember"]

log = logging.getLogger("kiwoom_nb")


def check_remember(what: str) -> None:
    problem = _keys.keyring_problem()
    if problem:
        raise KeyringUnavailableError(f"{what} cannot save the keys: {problem}; nothing was saved. Keep them in "
                                      "the environment instead (a .env file loaded with %dotenv, or Colab secrets)")


def forget_saved_keys(*, kiwoomcli: bool = False) -> str:
    """Remove kiwoom_nb's saved keys; returns the line to show. Raises KeyringUnavailableError."""
    removed = _keys.forget_keys()
    line = (f"kiwoom_nb: removed the saved keys ({', '.join(removed)}) from the OS keyring" if removed
            else "kiwoom_nb: no keys saved by kiwoom_nb in the OS keyring")
    if kiwoomcli:
        line += "; kiwoomcli's own entries are left alone (kiwoomcli manages them)"
    return line


def remember(session: Any, var: str) -> str:
    """Save ``var``'s keys, which just logged in, in the OS keyring. Raises KeyringUnavailableError."""
    login = session.find(var)
    if login is None:
        raise KiwoomError(f"no Kiwoom login in {var}; nothing to remember")
    if login.source.startswith("OS keyring (kiwoom_nb,"):
        return f"kiwoom_nb: the keys are already saved in the {login.source}"
    where = _keys.remember_keys(login.appkey, login.secretkey, mock=login.mock)
    return f"kiwoom_nb: keys saved in the {where}; %kiwoom_logout --forget removes them"


@magics_class
class KiwoomMagics(Magics, Settings):
    """Log this kernel in to the Kiwoom REST API and revoke its tokens when the kernel goes away; its settings
    (``%config KiwoomMagics.*``) are Settings'."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        self.session = Session()  # first: config applied in super().__init__ fires the observers below
        self.exit = ExitGuard(self.session, warn=_warn)
        super().__init__(shell=shell, **kwargs)
        self.session.timeout = self.timeout
        self.session.set_margin(self.refresh_margin)
        self.exit.configure(enabled=self.revoke_at_exit, budget=self.exit_timeout, use_revoker=self.revoker)
        self._hooked = False
        self._cell: Any = None  # the running cell (its id, else its text): a new run of it replaces its boards
        self._watches = 0  # %kiwoom_watch calls so far in the running cell (WatchMagics keys its boards by both)

    # Built at first use, with their modules: %load_ext imports none of them (BENCHMARKS.md, goal 1).
    @cached_property
    def panels(self) -> Any:
        """The login panels and boards shown for each variable, kept in step with the session."""
        from .panel._desk import PanelDesk

        return PanelDesk(self.shell, lambda var: var in self.session.logins)

    @property
    def _panels(self) -> Any:
        """var -> the LoginPanels (and boards) shown for it."""
        return self.panels.registry

    @cached_property
    def bound(self) -> Any:
        from ._bound import BoundClients

        return BoundClients(self.session, refresh=self.on_pre_run_cell, publish=self._publish)

    @observe("mock_hosts")
    def _on_mock_hosts_change(self, change: dict[str, Any]) -> None:
        from ..auth._client import set_mock_hosts

        set_mock_hosts(change["new"])

    @observe("timeout")
    def _on_timeout_change(self, change: dict[str, Any]) -> None:
        self.session.timeout = change["new"]

    @observe("refresh_margin")
    def _on_refresh_margin_change(self, change: dict[str, Any]) -> None:
        self.session.set_margin(change["new"])

    @observe("revoke_at_exit", "exit_timeout", "revoker")
    def _on_exit_setting_change(self, change: dict[str, Any]) -> None:
        self.exit.configure(enabled=self.revoke_at_exit, budget=self.exit_timeout, use_revoker=self.revoker)

    # -- the login path shared by the magic, the panel and login() ---------------------------------

    def login_with_keys(
        self, appkey: str, secretkey: str, *, mock: bool, var: str | None = None, force: bool = False, source: str
    ) -> str:
        """Log in, put the token in the namespace, and return the line to show. Raises KiwoomError."""
        var = var or self.var
        if not var.isidentifier():
            raise KiwoomError(f"{var!r} is not a valid Python variable name; pass --var with a name like kiwoom_token")
        login, reused = self.session.login(
            appkey, secretkey, var=var, mock=mock, base_url=self.url_for(mock), source=source, force=force
        )
        self.shell.push({var: login.token}, interactive=False)
        if login.note:  # --force whose old token Kiwoom did not revoke: the new one is in var, the old kept for exit
            _warn(login.note)
            login.note = None
        line = describe(login, reused=reused)
        self.sync_panels(var, line, logged_in=True)
        return line

    # -- magics ------------------------------------------------------------------------------------

    @no_var_expand
    @lazy_arguments
    @argument("--mock", action="store_true", help="Log in to mock trading (모의투자, mockapi.kiwoom.com).")
    @argument("--production", action="store_true", help="Log in to production (실전투자) even if mock is the default.")
    @argument("--var", metavar="NAME", help="Variable that receives the token (default: kiwoom_token).")
    @argument("--force", action="store_true", help="Issue a new token even if a valid one exists.")
    @argument("--prompt", action="store_true", help="Ask for the keys with a password prompt.")
    @argument("--panel", action="store_true", help="Show the login panel even if keys are in the environment.")
    @argument("--remember", action="store_true",
              help="After a successful login, save the keys in the OS keyring (kiwoom_nb's own entry).")
    @line_magic
    def kiwoom_login(self, line: str = "") -> None:
        """Log in to the Kiwoom REST API (au10001) and put the access token in a variable.

        Keys are never typed on this line (it is saved in history and in the notebook). They come from,
        first found wins: the environment (KIWOOM_APPKEY / KIWOOM_SECRETKEY; with --mock, only
        KIWOOM_MOCK_APPKEY / KIWOOM_MOCK_SECRETKEY), Colab secrets of the same names, the OS
        keyring (kiwoom_nb's own entry, then kiwoomcli's), then a login panel in notebooks or a
        password prompt in a terminal. Without a way to ask (nbclient, papermill), it fails at once
        naming the variables to set. --remember saves the keys in the OS keyring after the login
        succeeds; %kiwoom_logout --forget removes them.

        Re-running reuses a valid token for the same keys; --force issues a new one (the old one is
        revoked). Every token is revoked when the kernel stops.
        """
        args = parse(self.kiwoom_login, line)
        if args.mock and args.production:
            raise KiwoomError("choose one of --mock and --production")
        mock = True if args.mock else False if args.production else self.mock
        var = args.var or self.var
        if not var.isidentifier():
            raise KiwoomError(f"{var!r} is not a valid Python variable name; use --var with a name like kiwoom_token")
        if args.remember:
            check_remember("--remember")  # before logging in: nothing is issued, nothing is written
        if args.panel:
            self._show_panel(mock=mock, var=var, force=args.force, appkey=_keys.environment_appkey(mock),
                             remember=args.remember)
            return
        appkey, secretkey, source = (None, None, "") if args.prompt else _keys.find_keys(mock, warn=_warn)
        if not secretkey and not args.prompt and _keys.only_production_keys(mock):
            raise CredentialsError(_keys.ONLY_PRODUCTION)
        if not secretkey:
            existing = self.session.find(var)
            if existing and existing.mock == mock and not (args.force or args.prompt) \
                    and not existing.token.is_expired(self.refresh_margin):
                print(describe(existing, reused=True))
                if args.remember:
                    print(remember(self.session, var))
                return
            if not args.prompt and way_to_ask(self.shell) == "panel":
                self._show_panel(mock=mock, var=var, force=args.force, appkey=appkey, remember=args.remember)
                return
            appkey, secretkey, source = _keys.prompt_keys(mock, appkey, stdin_allowed=stdin_allowed(self.shell))
        print(self.login_with_keys(appkey, secretkey, mock=mock, var=var, force=args.force, source=source)
              + self.using(mock))
        if args.remember:
            print(remember(self.session, var))

    @lazy_arguments
    @argument("--var", metavar="NAME", help="The token variable to log out (default: kiwoom_token).")
    @argument("--all", action="store_true", help="Log out every token of this kernel.")
    @argument("--forget", action="store_true",
              help="Also remove the keys kiwoom_nb saved in the OS keyring (both environments).")
    @line_magic
    def kiwoom_logout(self, line: str = "") -> None:
        """Revoke a token now (au10002) and remove its variable.

        If Kiwoom does not confirm the revoke, the token stays in place and is tried again at exit.
        A token that another kernel on this machine still uses is not revoked (the last one out does).
        --forget also removes the keys saved with --remember (kiwoomcli's own entries are left alone);
        with --forget, not being logged in is not an error.
        """
        args = parse(self.kiwoom_logout, line)
        names = list(self.session.logins) if args.all else [args.var or self.var]
        if args.forget:  # forgetting needs no login
            names = [name for name in names if name in self.session.logins]
        elif not names or not all(name in self.session.logins for name in names):
            missing = ", ".join(n for n in names if n not in self.session.logins) or "any variable"
            raise KiwoomError(f"no Kiwoom login in {missing}; %kiwoom_status lists the logged-in variables")
        sources = [self.session.logins[name].source for name in names]
        failures = []
        for name in names:
            try:
                print(self.logout_var(name))
            except KiwoomError as exc:
                failures.append(str(exc))
        if args.forget:
            print(forget_saved_keys(kiwoomcli=any("kiwoomcli" in source for source in sources)))
        if failures:
            raise KiwoomError("; ".join(failures))

    def forget_var(self, login: Login) -> None:
        """Remove ``login``'s variable, unless the user has since put something else there."""
        if self.shell.user_ns.get(login.var) is login.token:
            self.shell.user_ns.pop(login.var, None)
            self.shell.user_ns_hidden.pop(login.var, None)

    def logout_var(self, name: str) -> str:
        """Revoke ``name``'s token and remove the variable; returns the line to show. Raises KiwoomError."""
        if name not in self.session.logins:  # e.g. a stale panel's button after %kiwoom_logout
            raise KiwoomError(f"{name} is not logged in (already logged out?); %kiwoom_login logs in again")
        stream = sys.modules.get("kiwoom_nb.live._stream")
        if stream is not None:  # its streams first: they log in with the token about to be revoked
            stream.close_bound(self.session, name)
        try:
            login, kept = self.session.logout(name)
        except KiwoomError as exc:
            raise type(exc)(f"{exc} — {name} is still logged in; the revoke is retried at exit",
                            code=exc.code, return_code=exc.return_code, return_msg=exc.return_msg,
                            status_code=exc.status_code, api_id=exc.api_id) from None
        self.forget_var(login)
        note = f"; token not revoked: {kept}" if kept else "; token revoked"
        line = f"Kiwoom {environment_name(login.mock)}: logged out {name}{note}"
        self.sync_panels(name, line)
        return line

    @lazy_arguments
    @line_magic
    def kiwoom_status(self, line: str = "") -> None:
        """List this kernel's Kiwoom tokens: environment, variable, masked token, expiry, time left."""
        parse(self.kiwoom_status, line)
        from IPython.display import display

        from .panel._status import status_table

        from .. import pace

        text, markup = status_table(self.session.logins.values(), revoke_at_exit=self.revoke_at_exit,
                                    safety_net=self.exit.safety_net(), pace=pace.describe())
        display({"text/plain": text, "text/html": markup}, raw=True)

    def _show_panel(self, *, mock: bool, var: str, force: bool, appkey: str | None, remember: bool = False) -> None:
        def log_in(app: str, secret: str, mock_: bool) -> str:
            return self.login_with_keys(app, secret, mock=mock_, var=var, force=force, source="login panel")

        self.panels.show(var, log_in=log_in, log_out=lambda: self.logout_var(var), appkey=appkey, mock=mock,
                         save=lambda app, secret, mock_: _keys.remember_keys(app, secret, mock=mock_), remember=remember)

    # -- every panel tells the truth about the session (kiwoom_nb.notebook.panel._desk) ------------------------------

    def sync_panels(self, var: str, line: str, *, logged_in: bool = False) -> None:
        """Show ``var``'s new state (logged in with ``line``, or logged out) on every panel made for it."""
        self.panels.sync(var, line, logged_in=logged_in)

    # -- staying logged in, and leaving ----------------------------------------------------------

    def on_pre_run_cell(self, *args: Any) -> None:
        if args:
            self._cell = getattr(args[0], "cell_id", None) or getattr(args[0], "raw_cell", None)
            self._watches = 0
        if "bound" in vars(self):  # what a socket or board thread re-issued meanwhile: the variable follows now
            self.bound.catch_up()
        refresh_before_cell(self.session, self.shell.user_ns, lambda values: self.shell.push(values, interactive=False),
                            lambda login: self.sync_panels(login.var, describe(login), logged_in=True))

    def hook(self) -> None:
        if self._hooked:
            return
        self._hooked = True
        watch_shutdown(getattr(self.shell, "kernel", None), lambda restart: self.panels.kernel_going(restart))
        self.shell.events.register("pre_run_cell", self.on_pre_run_cell)
        self.exit.hook()

    def unhook(self) -> None:
        if not self._hooked:
            return
        self._hooked = False
        unwatch_shutdown(getattr(self.shell, "kernel", None))
        if "panels" in vars(self):  # built only if a panel or a board was ever shown
            self.panels.stop()
        try:
            self.shell.events.unregister("pre_run_cell", self.on_pre_run_cell)
        except ValueError:
            pass
        self.exit.unhook()

    # -- clients and streams bound to a login, for kiwoom_nb.client() / stream() and the TR, candle and watch magics --
    # The client itself (kiwoom_nb.rest._api) and the stream (kiwoom_nb.live._stream) know nothing of IPython.

    def _publish(self, login: Login, old: Any) -> None:
        """A re-issue replaced ``old``: the variable follows, unless the user has put something else there."""
        current = self.shell.user_ns.get(login.var)
        if current is None or current is old or current == old:
            self.shell.push({login.var: login.token}, interactive=False)
        self.sync_panels(login.var, describe(login), logged_in=True)  # panels show the new expiry

    def client_for(self, var: str | None = None, mock: bool | None = None) -> Any:
        """The client bound to ``var``'s login (default: the trait ``var``, or the one login of ``mock``'s environment)."""
        client = self.bound.client(var or self.var, mock=mock, pace=self.pace or None, explicit=var is not None)
        client.progress = ("notebook" if stdin_allowed(self.shell) else None) if in_kernel(self.shell) else "text"
        return client

    def stream_for(self, var: str | None = None, mock: bool | None = None, market: str = "domestic",
                   buffer: int | None = None, silence: float = 120.0) -> Any:
        """A stream bound to ``var``'s login (chosen as client_for chooses), on the ws_url / mock_ws_url trait."""
        from ..live._stream import BUFFER, Stream

        tokens = self.client_for(var, mock).tokens
        env_mock = tokens.mock
        return Stream.bound(tokens, ws_url=(self.mock_ws_url if env_mock else self.ws_url) or None, market=market,
                            buffer=buffer or BUFFER, silence=silence, var=tokens.var,
                            production_url=self.ws_url or None)

    def track_board(self, var: str | None, board: Any) -> None:
        """Kept truthful with the panels: inert on logout, kernel restart or shutdown (kiwoom_nb.notebook.panel._panel_registry)."""
        self._panels.add(var or self.var, board)

    @observe("pace")
    def _on_pace_change(self, change: dict[str, Any]) -> None:
        self.bound.set_pace(change["new"] or None)
