"""KiwoomMagics: %kiwoom_login / %kiwoom_logout / %kiwoom_status and configuration.

The one module that touches the shell and the environment; leaving (atexit, signals, the revoker) is
kiwoom_nb._exit's. Magics raise KiwoomError: its ``_render_traceback_`` is one line, and unlike IPython's
UsageError (a stderr stream) it reaches nbval, papermill and nbclient as a real error.
"""

from __future__ import annotations

import logging
import os
import sys
from functools import cached_property
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from traitlets import Bool, Float, TraitError, Unicode, default, observe, validate

from . import _keys
from ._errors import CredentialsError, KeyringUnavailableError, KiwoomError
from ._exit import ExitGuard
from ._magic_args import argument, lazy_arguments, parser_of
from ._kernel import refresh_before_cell, unwatch_shutdown, watch_shutdown
from ._lines import UNLOADED, describe, environment_name, kernel_restarted, kernel_shut_down, using
from ._lines import warn as _warn
from ._session import Login, Session
from ._tr_magic import help_end, parse_candles_line, parse_tr_line, run_candles, run_tr, show_trs, tr_matcher

__all__ = ["KiwoomMagics", "client", "load", "login", "stream", "unload"]

log = logging.getLogger("kiwoom_nb")


def in_voila() -> bool:
    """Voilà renders widgets but never allows stdin; it tells its kernels who they are in the environment."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila/") or "VOILA_KERNEL_ID" in os.environ \
        or "VOILA_PREHEAT" in os.environ


def _check_remember(what: str) -> None:
    problem = _keys.keyring_problem()
    if problem:
        raise KeyringUnavailableError(f"{what} cannot save the keys: {problem}; nothing was saved. Keep them in "
                                      "the environment instead (a .env file loaded with %dotenv, or Colab secrets)")


@magics_class
class KiwoomMagics(Magics):
    """Log this kernel in to the Kiwoom REST API and revoke its tokens when the kernel goes away."""

    mock = Bool(False, help="Log in to mock trading (모의투자) unless --production is given.").tag(config=True)
    var = Unicode("kiwoom_token", help="Name of the variable that receives the access token.").tag(config=True)
    timeout = Float(10.0, help="Seconds to wait for each request to Kiwoom.").tag(config=True)
    revoke_at_exit = Bool(True, help="Revoke (au10002) every live token when the kernel stops.").tag(config=True)
    revoker = Bool(
        True, help="At the first login, start a small helper process that revokes the tokens if the kernel dies "
                   "without revoking them (killed, crashed, out of memory)."
    ).tag(config=True)
    exit_timeout = Float(
        1.0, help="Seconds all revokes together may take at exit; the kernel is killed 2.5 s into a shutdown."
    ).tag(config=True)
    refresh_margin = Float(600.0, help="Re-issue a token before a cell runs when it expires within this many seconds.").tag(
        config=True
    )
    base_url = Unicode(help="Production base URL instead of https://api.kiwoom.com (default: $KIWOOM_BASE_URL).").tag(
        config=True
    )
    mock_base_url = Unicode(
        help="Mock-trading base URL instead of https://mockapi.kiwoom.com (default: $KIWOOM_MOCK_BASE_URL). "
        "Never falls back to base_url: mock goes to mockapi.kiwoom.com unless this names another server."
    ).tag(config=True)
    mock_hosts = Unicode(
        help="Hosts (comma-separated, host or host:port) that are mock-trading servers besides mockapi.kiwoom.com "
        "and loopback, e.g. a reverse proxy to mock trading; orders to them go without --confirm. Added to "
        "$KIWOOM_MOCK_HOSTS. Any other host given as the mock base URL counts as production for orders."
    ).tag(config=True)

    ws_url = Unicode(
        help="Production WebSocket instead of wss://api.kiwoom.com:10000 (default: $KIWOOM_WS_URL), for kiwoom_nb.stream()."
    ).tag(config=True)
    mock_ws_url = Unicode(
        help="Mock-trading WebSocket instead of wss://mockapi.kiwoom.com:10000 (default: $KIWOOM_MOCK_WS_URL). Never "
        "falls back to ws_url."
    ).tag(config=True)

    pace = Float(
        5.0, help="Requests per second per TR (api-id) for %kiwoom and kiwoom_nb.client(); 0 leaves only the "
        "limits Kiwoom states in its 1700 answers (유량=N), which always apply."
    ).tag(config=True)

    @default("base_url")
    def _default_base_url(self) -> str:
        return os.environ.get("KIWOOM_BASE_URL", "")

    @default("ws_url")
    def _default_ws_url(self) -> str:
        return os.environ.get("KIWOOM_WS_URL", "")

    @default("mock_ws_url")
    def _default_mock_ws_url(self) -> str:
        return os.environ.get("KIWOOM_MOCK_WS_URL", "")

    @default("mock_base_url")
    def _default_mock_base_url(self) -> str:
        return os.environ.get("KIWOOM_MOCK_BASE_URL", "")

    @validate("var")
    def _validate_var(self, proposal: dict[str, Any]) -> str:
        if not str(proposal["value"]).isidentifier():
            raise TraitError(f"{proposal['value']!r} is not a valid Python variable name")
        return proposal["value"]

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        self.session = Session()  # first: config applied in super().__init__ fires the observers below
        self.exit = ExitGuard(self.session, warn=_warn)
        super().__init__(shell=shell, **kwargs)
        self.session.timeout = self.timeout
        self.session.set_margin(self.refresh_margin)
        self.exit.configure(enabled=self.revoke_at_exit, budget=self.exit_timeout, use_revoker=self.revoker)
        self._hooked = False
        self._matcher: tuple[list[Any], Any] | None = None  # %kiwoom's Tab completion: (the completer's list, it)
        self._cell: Any = None  # the running cell (its id, else its text): a new run of it replaces its board
        self._boards: dict[Any, Any] = {}  # (cell, n-th %kiwoom_watch in it) -> the board it made
        self._watches = 0

    # Built at first use, with their modules: %load_ext imports none of them (BENCHMARKS.md, goal 1).
    @cached_property
    def _panels(self) -> Any:
        """var -> the LoginPanels shown for it, kept in step with the session."""
        from ._panel_registry import PanelRegistry

        return PanelRegistry()

    @cached_property
    def run_all(self) -> Any:
        from ._run_all import RunAllGuard

        return RunAllGuard(self.shell, lambda var: var in self.session.logins)

    @cached_property
    def bound(self) -> Any:
        from ._bound import BoundClients

        return BoundClients(self.session, refresh=self.on_pre_run_cell, publish=self._publish)

    @observe("mock_hosts")
    def _on_mock_hosts_change(self, change: dict[str, Any]) -> None:
        from ._client import set_mock_hosts

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

    def url_for(self, mock: bool) -> str | None:
        """The base URL of ``mock``'s environment; mock never borrows the production one."""
        if not mock:
            return self.base_url or None
        if self.mock_base_url and self.base_url and \
                self.mock_base_url.strip().rstrip("/") == self.base_url.strip().rstrip("/"):
            raise KiwoomError(
                f"the mock base URL is the production one ({self.base_url.strip()}); set KIWOOM_MOCK_BASE_URL "
                "(or %config KiwoomMagics.mock_base_url) to the mock server, or unset it for mockapi.kiwoom.com")
        return self.mock_base_url or None

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

    def using(self, mock: bool) -> str:
        """For the end of the magic's login line: `` (using KIWOOM_BASE_URL=…)`` when a base URL is overridden. The
        panel's line goes without it, to fit a narrow window."""
        notice = using(self.url_for(mock))
        return f" {notice}" if notice else ""

    def find_keys(self, mock: bool) -> tuple[str | None, str | None, str]:
        """Keys from the environment, Colab's secrets or the OS keyring (see _keys.find_keys)."""
        return _keys.find_keys(mock, warn=_warn)

    def remember(self, var: str) -> str:
        """Save ``var``'s keys, which just logged in, in the OS keyring. Raises KeyringUnavailableError."""
        login = self.session.find(var)
        if login is None:
            raise KiwoomError(f"no Kiwoom login in {var}; nothing to remember")
        if login.source.startswith("OS keyring (kiwoom_nb,"):
            return f"kiwoom_nb: the keys are already saved in the {login.source}"
        where = _keys.remember_keys(login.appkey, login.secretkey, mock=login.mock)
        return f"kiwoom_nb: keys saved in the {where}; %kiwoom_logout --forget removes them"

    def stdin_allowed(self) -> bool:
        kernel = getattr(self.shell, "kernel", None)
        if kernel is None:  # terminal IPython
            return True
        return bool(getattr(kernel, "_allow_stdin", True))

    def in_kernel(self) -> bool:
        return getattr(self.shell, "kernel", None) is not None

    def way_to_ask(self) -> str:
        """How this frontend can be asked for keys: "panel", "prompt", or "" (nobody to ask).

        JupyterLab, Notebook 7 and VS Code allow stdin and render widgets; Voilà renders widgets but
        never allows stdin; nbclient, papermill, nbconvert and nbval do neither (a panel there would
        wait for a click that never comes); terminal IPython has a terminal.
        """
        if not self.in_kernel():
            return "prompt"
        return "panel" if self.stdin_allowed() or in_voila() else ""

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
        args = self._parse(self.kiwoom_login, line)
        if args.mock and args.production:
            raise KiwoomError("choose one of --mock and --production")
        mock = True if args.mock else False if args.production else self.mock
        var = args.var or self.var
        if not var.isidentifier():
            raise KiwoomError(f"{var!r} is not a valid Python variable name; use --var with a name like kiwoom_token")
        if args.remember:
            _check_remember("--remember")  # before logging in: nothing is issued, nothing is written
        if args.panel:
            self._show_panel(mock=mock, var=var, force=args.force, appkey=_keys.environment_appkey(mock),
                             remember=args.remember)
            return
        appkey, secretkey, source = (None, None, "") if args.prompt else self.find_keys(mock)
        if not secretkey and not args.prompt and _keys.only_production_keys(mock):
            raise CredentialsError(_keys.ONLY_PRODUCTION)
        if not secretkey:
            existing = self.session.find(var)
            if existing and existing.mock == mock and not (args.force or args.prompt) \
                    and not existing.token.is_expired(self.refresh_margin):
                print(describe(existing, reused=True))
                if args.remember:
                    print(self.remember(var))
                return
            if not args.prompt and self.way_to_ask() == "panel":
                self._show_panel(mock=mock, var=var, force=args.force, appkey=appkey, remember=args.remember)
                return
            appkey, secretkey, source = self._prompt(mock, appkey)
        print(self.login_with_keys(appkey, secretkey, mock=mock, var=var, force=args.force, source=source)
              + self.using(mock))
        if args.remember:
            print(self.remember(var))

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
        args = self._parse(self.kiwoom_logout, line)
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
            print(self.forget_saved_keys(kiwoomcli=any("kiwoomcli" in source for source in sources)))
        if failures:
            raise KiwoomError("; ".join(failures))

    @staticmethod
    def forget_saved_keys(*, kiwoomcli: bool = False) -> str:
        """Remove kiwoom_nb's saved keys; returns the line to show. Raises KeyringUnavailableError."""
        removed = _keys.forget_keys()
        line = (f"kiwoom_nb: removed the saved keys ({', '.join(removed)}) from the OS keyring" if removed
                else "kiwoom_nb: no keys saved by kiwoom_nb in the OS keyring")
        if kiwoomcli:
            line += "; kiwoomcli's own entries are left alone (kiwoomcli manages them)"
        return line

    def forget_var(self, login: Login) -> None:
        """Remove ``login``'s variable, unless the user has since put something else there."""
        if self.shell.user_ns.get(login.var) is login.token:
            self.shell.user_ns.pop(login.var, None)
            self.shell.user_ns_hidden.pop(login.var, None)

    def logout_var(self, name: str) -> str:
        """Revoke ``name``'s token and remove the variable; returns the line to show. Raises KiwoomError."""
        if name not in self.session.logins:  # e.g. a stale panel's button after %kiwoom_logout
            raise KiwoomError(f"{name} is not logged in (already logged out?); %kiwoom_login logs in again")
        stream = sys.modules.get("kiwoom_nb._stream")
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
        self._parse(self.kiwoom_status, line)
        from IPython.display import display

        from ._status import status_table

        text, markup = status_table(self.session.logins.values(), revoke_at_exit=self.revoke_at_exit,
                                    safety_net=self.exit.safety_net())
        display({"text/plain": text, "text/html": markup}, raw=True)

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _parse(magic: Any, line: str) -> Any:
        try:
            return parser_of(magic).parse_argstring(line)
        except UsageError:
            # argparse would echo the unexpected words, which may be a key pasted onto the line
            name = magic.__name__
            raise KiwoomError(
                f"%{name} takes only the options listed in %{name}? (keys are never typed on the magic "
                "line, which is saved in history and in the notebook; set KIWOOM_APPKEY / KIWOOM_SECRETKEY)"
            ) from None

    def _prompt(self, mock: bool, appkey: str | None) -> tuple[str, str, str]:
        return _keys.prompt_keys(mock, appkey, stdin_allowed=self.stdin_allowed())

    def _show_panel(self, *, mock: bool, var: str, force: bool, appkey: str | None, remember: bool = False) -> None:
        from IPython.display import display

        from ._panel import LoginPanel

        def log_in(app: str, secret: str, mock_: bool) -> str:
            return self.login_with_keys(app, secret, mock=mock_, var=var, force=force, source="login panel")

        def log_out() -> str:
            return self.logout_var(var)

        def save(app: str, secret: str, mock_: bool) -> str:
            return _keys.remember_keys(app, secret, mock=mock_)

        panel = LoginPanel(login=log_in, logout=log_out, appkey=appkey or "", mock=mock, remember=save,
                           remember_problem=_keys.keyring_note(), remember_checked=remember)
        self._panels.add(var, panel)
        if var not in self.shell.user_ns:
            self.run_all.await_login(var)
        display(panel)

    # -- every panel tells the truth about the session (kiwoom_nb._panel_registry, _run_all, _kernel) -------

    def sync_panels(self, var: str, line: str, *, logged_in: bool = False) -> None:
        """Show ``var``'s new state (logged in with ``line``, or logged out) on every panel made for it."""
        if logged_in:
            self.run_all.settled(var)
        self._panels.sync(var, line, logged_in=logged_in)

    def _kernel_going(self, restart: bool) -> None:
        from ._startup import loaded_by_config

        self.close_panels((kernel_restarted if restart else kernel_shut_down)(loaded_by_config(self.shell)))

    def close_panels(self, line: str) -> None:
        """The kernel is going away (or the extension is unloaded): every panel goes inert and says why."""
        self._panels.close_all(line)

    # -- staying logged in, and leaving ----------------------------------------------------------

    def on_pre_run_cell(self, *args: Any) -> None:
        if args:
            self._cell = getattr(args[0], "cell_id", None) or getattr(args[0], "raw_cell", None)
            self._watches = 0
        if "bound" in vars(self):  # what a socket or board thread re-issued meanwhile: the variable follows now
            self.bound.catch_up()
        refresh_before_cell(self.session, self.shell.user_ns, lambda values: self.shell.push(values, interactive=False),
                            lambda login: self.sync_panels(login.var, describe(login), logged_in=True))

    def revoke_everything(self) -> None:
        """Exit path: revoke every live token within exit_timeout. Logs failures; a signal that arrived
        meanwhile is acted on afterwards (its previous handler may raise, e.g. KeyboardInterrupt)."""
        self.exit.revoke_everything()

    def hook(self) -> None:
        if self._hooked:
            return
        self._hooked = True
        watch_shutdown(getattr(self.shell, "kernel", None), self._kernel_going)
        self.shell.events.register("pre_run_cell", self.on_pre_run_cell)
        cleanup = getattr(self.shell, "input_transformers_cleanup", None)
        if cleanup is not None and help_end not in cleanup:
            cleanup.insert(0, help_end)  # before IPython's own: %kiwoom ka10081? is the TR's help
        completer = getattr(self.shell, "Completer", None)
        self._matcher = tr_matcher(completer, kernel=self.in_kernel()) if completer is not None else None
        if self._matcher:
            self._matcher[0].append(self._matcher[1])
        self.exit.hook()

    def unhook(self) -> None:
        if not self._hooked:
            return
        self._hooked = False
        unwatch_shutdown(getattr(self.shell, "kernel", None))
        if "run_all" in vars(self):  # built only if a panel was ever shown
            self.run_all.stop()
        if help_end in getattr(self.shell, "input_transformers_cleanup", []):
            self.shell.input_transformers_cleanup.remove(help_end)
        if self._matcher and self._matcher[1] in self._matcher[0]:
            self._matcher[0].remove(self._matcher[1])
        try:
            self.shell.events.unregister("pre_run_cell", self.on_pre_run_cell)
        except ValueError:
            pass
        self.exit.unhook()

    # -- TRs (issue 11): %kiwoom, and clients bound to a login ------------------------------------
    # Kept in one section at the end of the class: the token of a variable, its re-issue, the bound
    # clients, and the magic. The client itself (kiwoom_nb._api) knows nothing of IPython.

    def token_of(self, var: str) -> Any:
        """The current token of ``var``, refreshed first when it expires within refresh_margin."""
        return self._tokens_of(var).current()

    def reissue(self, var: str, stale: Any) -> Any:
        """Re-issue ``var``'s token because Kiwoom rejected ``stale``; once per stale token. Returns the new one."""
        return self._tokens_of(var).reissue(stale)

    def _tokens_of(self, var: str) -> Any:
        return self.bound.tokens(var)

    def _publish(self, login: Login, old: Any) -> None:
        """A re-issue replaced ``old``: the variable follows, unless the user has put something else there."""
        current = self.shell.user_ns.get(login.var)
        if current is None or current is old or current == old:
            self.shell.push({login.var: login.token}, interactive=False)
        self.sync_panels(login.var, describe(login), logged_in=True)  # panels show the new expiry

    def client_for(self, var: str | None = None, mock: bool | None = None) -> Any:
        """The client bound to ``var``'s login (default: the trait ``var``, or the one login of ``mock``'s environment)."""
        client = self.bound.client(var or self.var, mock=mock, pace=self.pace or None, explicit=var is not None)
        client.progress = ("notebook" if self.stdin_allowed() else None) if self.in_kernel() else "text"
        return client

    def stream_for(self, var: str | None = None, mock: bool | None = None, market: str = "domestic",
                   buffer: int | None = None, silence: float = 120.0) -> Any:
        """A stream bound to ``var``'s login (chosen as client_for chooses), on the ws_url / mock_ws_url trait."""
        from ._stream import BUFFER, Stream

        tokens = self.client_for(var, mock).tokens
        env_mock = tokens.mock
        return Stream.bound(tokens, ws_url=(self.mock_ws_url if env_mock else self.ws_url) or None, market=market,
                            buffer=buffer or BUFFER, silence=silence, var=tokens.var,
                            production_url=self.ws_url or None)

    board_rate = Float(4.0, help="Updates per second at most that a live board (%kiwoom_watch, display(stream)) sends "
                       "to the browser, whatever the tick rate.").tag(config=True)

    def names_for(self, var: str | None) -> Any:
        """code -> 종목명 for boards: the day's codes cache, else ka10001 (the board asks once per item)."""
        client = self.client_for(var)

        def name_of(code: str) -> str:
            from ._codes import cached_name

            return cached_name(client, code, False) or str(client.call("ka10001", stk_cd=code).get("stk_nm", "")).strip()

        return name_of

    def track_board(self, var: str | None, board: Any) -> None:
        """Kept truthful with the panels: inert on logout, kernel restart or shutdown (kiwoom_nb._panel_registry)."""
        self._panels.add(var or self.var, board)

    @lazy_arguments
    @argument("items", nargs="*", help="Stock codes or names (005930 SK하이닉스), or $variables holding them.")
    @argument("--type", default="0B", metavar="TYPE", help="0B (체결: a board, the default) or 0D (호가: an order book).")
    @argument("--orders", action="store_true", help="The account's order fills (00) and balance changes (04).")
    @argument("--condition", metavar="SEQ", help="A saved condition's hits (its seq from live.conditions()).")
    @argument("--rate", type=float, metavar="N", help="Updates per second at most (default: the board_rate trait).")
    @argument("--var", metavar="NAME", help="Another login's variable (default: kiwoom_token).")
    @line_magic
    def kiwoom_watch(self, line: str = "") -> None:
        """A live board of Kiwoom's real-time stream with the login in kiwoom_token:

            %kiwoom_watch 005930 000660          # 0B: 종목명, price (red up, blue down), change, %, volume, time
            %kiwoom_watch 005930 --type 0D       # an order book: 10 ask over 10 bid levels
            %kiwoom_watch --orders               # order fills (00) and balance changes (04), newest on top
            %kiwoom_watch --condition 1          # a condition's hits, entries and exits highlighted

        Codes, names (삼성전자) and $variables (a list, or a string of codes) are taken as %kiwoom takes them. The
        board opens its own stream (sharing the app key's socket) and closes it with its Stop button; logout
        and the kernel's restart or shutdown stop it too, with a line saying so. ``display(live)`` shows the same
        board for a stream you opened. At a terminal, which shows no boards, it returns the stream
        (``live = %kiwoom_watch 005930``, then ``live.latest("0B")``).
        """
        args = self._parse(self.kiwoom_watch, line)
        args.items = watch_items(args.items)
        kind = args.type.strip().upper()
        if not (args.orders or args.condition is not None) and (not args.items or kind not in ("0B", "0D")):
            raise KiwoomError("%kiwoom_watch needs codes and --type 0B or 0D (e.g. %kiwoom_watch 005930 000660), "
                              "or --orders, or --condition SEQ")
        if not self.in_kernel():
            return self._watch_here(args, kind)
        from IPython.display import display

        from . import _board

        live = self.stream_for(args.var)
        options = {"rate": args.rate or self.board_rate, "own": True, "name_of": self.names_for(args.var)}
        try:
            if args.orders:
                live.watch([], "00")
                live.watch([], "04")
                board = _board.Orders(live, **options)
            elif args.condition is not None:
                board = _board.Conditions(live, args.condition, live.watch_condition(args.condition), **options)
            else:
                live.watch(args.items, kind)
                board = (_board.Ladder if kind == "0D" else _board.Board)(live, **options)
        except BaseException:
            live.close()
            raise
        self.track_board(live.var, board)
        key, self._watches = (self._cell, self._watches), self._watches + 1
        replaced, self._boards[key] = self._boards.get(key), board
        if replaced is not None:  # this cell ran before: its board goes, timer, callbacks and stream
            replaced.stop("replaced by a new run of its cell")
            replaced.close()
        display(board)
        return None

    def _watch_here(self, args: Any, kind: str) -> Any:
        """%kiwoom_watch at a terminal: no widgets there, so the stream itself, and a line saying how to read it."""
        live = self.stream_for(args.var)
        try:
            if args.orders:
                live.watch([], "00")
                live.watch([], "04")
                kind = "00"
            elif args.condition is not None:
                live.watch_condition(args.condition)
                kind = "02"
            else:
                live.watch(args.items, kind)
        except BaseException:
            live.close()
            raise
        print(f'kiwoom_nb: boards need a notebook frontend (JupyterLab, Notebook, VS Code); here the stream is '
              f'returned instead: live = _ (or live = %kiwoom_watch ...), then live.latest("{kind}"), '
              f'live.frame("{kind}"), or for event in live.events(): ...; live.close() stops it')
        return live

    @observe("pace")
    def _on_pace_change(self, change: dict[str, Any]) -> None:
        self.bound.set_pace(change["new"] or None)

    @line_magic
    def kiwoom(self, line: str = "") -> Any:
        """Call a Kiwoom TR with the login in kiwoom_token; the value is a DataFrame (the answer with --raw).

            %kiwoom ka10001 stk_cd=005930
            df = %kiwoom ka10081 stk_cd=005930 base_dt=20261201 upd_stkpc_tp=1 --pages all
            %kiwoom --find 일봉          (or English: %kiwoom --find daily chart)

        Usage: %kiwoom API_ID [field=value ...] [options]. Fields are ``name=value`` (sent as strings; $name and
        {expr} are expanded from the namespace); a stock name in stk_cd (stk_cd=삼성전자) is sent as its code
        (kiwoom_nb.code).

        Options:
          --pages N|all     pages to fetch (default 1; a note says when more exist)
          --confirm         required for production orders (주문 / 신용주문 TRs); without it the refusal says what
                            would have been sent
          --raw             the answer as Kiwoom sent it
          --strings         a DataFrame of Kiwoom's strings, no numeric conversion
          --ko              Korean column names (한글명) instead of Kiwoom's field names
          --var NAME        another login's variable (default: kiwoom_token)
          --no-check        send without checking the fields against the catalogue (missing, unknown, codes)
          --path /api/...   a TR newer than the built-in table
          --find WORDS      search the table by api-id, name, category, or English words (daily, order, balance)
          --help            this text; with an api-id (or ka10081?), the TR's fields as kiwoom_nb.describe shows

        Requests are paced per TR (the ``pace`` trait) and retried after a rate-limit refusal; an order is never
        resent after a timeout. Tab completes api-ids, then the TR's fields as name=, then a field's codes, and the
        options.
        """
        args = parse_tr_line(line)
        if args["find"] is not None:
            return show_trs(args["find"])
        if args["help"] and args["api_id"]:
            from ._describe import describe

            return describe(args["api_id"])
        if args["help"]:  # as %kiwoom? shows it
            import inspect

            print(inspect.getdoc(type(self).kiwoom))
            return None
        if not args["api_id"]:
            raise KiwoomError("%kiwoom needs an api-id, e.g. %kiwoom ka10001 stk_cd=005930 (%kiwoom --find 일봉 lists TRs)")
        return run_tr(self.client_for(args["var"]), args)

    @line_magic
    def kiwoom_candles(self, line: str = "") -> Any:
        """Candles of one or more stocks with the login in kiwoom_token: a DataFrame of open high low close volume
        (value where Kiwoom gives it) on an ascending date index; several stocks give a (code, date) index.

            df = %kiwoom_candles 005930 --from 2026-01-01
            df = %kiwoom_candles 005930 000660 035420 --from 2026-01-01 --to 2026-06-30 --interval W
            df = %kiwoom_candles AAPL --exchange ND --interval 5m --from 2026-11-30

        Options: --from DATE (fetch pages back to this day; without it, the latest page only), --to DATE, --interval
        D|W|M|Y (days and longer), 1m|3m|5m|10m|15m|30m|45m|60m (minutes), tick|1t|3t|5t|10t|30t (ticks), or pandas /
        yfinance names (1d 1wk 1mo 1y 5min 1h),
        --unadjusted (prices not adjusted for splits), --exchange ND|NY|NA (a US ticker's exchange: NASDAQ, NYSE,
        AMEX), --krw (US prices in won), --var NAME (another login). A stock Kiwoom refuses is left out and named in
        df.attrs["failed"]; an error that ends everything (the token, the network, the rate limit) stops at once.
        Same as kiwoom_nb.client().candles(...).
        """
        args = parse_candles_line(line)
        return run_candles(self.client_for(args["var"]), args)


def watch_items(words: list[str]) -> list[str]:
    """%kiwoom_watch's items after IPython expanded ``$codes`` / ``{expr}``: a list shows as ``['005930', …]``,
    a string of codes as ``005930 000660``; both become codes (or names, looked up as TR calls look them up). A
    ``$name`` left as written names no variable: refused, rather than watched as text."""
    import re

    items = [item for word in words for item in re.findall(r"[^\s,\[\]()'\"]+", word)]
    for item in items:
        if item.startswith("$") or "{" in item or "}" in item:
            raise KiwoomError(f"%kiwoom_watch: {item} is not a variable of this namespace (nor a code or a name); "
                              "define it first, e.g. codes = ['005930', '000660'], then %kiwoom_watch $codes")
    return items


_instances: dict[int, KiwoomMagics] = {}


def load(shell: Any) -> None:
    if id(shell) in _instances:
        return
    magics = KiwoomMagics(shell=shell)
    shell.register_magics(magics)
    magics.hook()
    _instances[id(shell)] = magics
    from ._wide import want

    want()  # pandas' east_asian_width, so Korean columns line up; pandas is not imported for it


def unload(shell: Any) -> None:
    magics = _instances.pop(id(shell), None)
    if magics is None:
        return
    for login in list(magics.session.logins.values()):
        magics.forget_var(login)
    magics.close_panels(UNLOADED)
    if magics.mock_hosts:  # the hosts it named are mock no longer
        from ._client import set_mock_hosts

        set_mock_hosts("")
    magics.revoke_everything()
    magics.unhook()
    if magics in getattr(shell, "configurables", []):
        shell.configurables.remove(magics)
    # Unregister the magics too: an unhooked instance would log in with nothing left to revoke at exit.
    manager = shell.magics_manager
    for table in manager.magics.values():
        for name in [n for n, f in table.items() if getattr(f, "__self__", None) is magics]:
            del table[name]
    if manager.registry.get(type(magics).__name__) is magics:
        del manager.registry[type(magics).__name__]


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
        _check_remember("remember=True")
    source = "arguments"
    if appkey is None or secretkey is None:
        found_app, found_secret, found_source = magics.find_keys(mock)
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
        print(magics.remember(var or magics.var))
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
