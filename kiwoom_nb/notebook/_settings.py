"""The settings of kiwoom_nb in IPython: every ``%config KiwoomMagics.*`` trait, with its default and check.

Owns only the traits; what they do is the login class's (KiwoomMagics, which inherits them, so the configurable keeps
its name in ``%config`` and in IPython's config files).
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Bool, Float, TraitError, Unicode, default, observe, validate
from traitlets.config import Configurable

from .._errors import KiwoomError
from ..auth._lines import using as using_line


class Settings(Configurable):
    """kiwoom_nb's settings, configured as ``KiwoomMagics`` (``%config KiwoomMagics.timeout = 20``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # stream_hub is read now, so that a later %config is compared with it: traitlets compares a setting with the
        # static default (False) while the dynamic one (on, from the environment) was never read, and stays silent
        hub = self.stream_hub
        if hub != _hub_from_environment():  # set in the config before the extension loaded
            from ..live.hub._client import enabled

            enabled(hub)

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

    store_path = Unicode(
        help="Folder of the candle store (kiwoom_nb.store) instead of $KIWOOM_STORE or the user data dir's "
        "kiwoom_nb/store; candles(store=...) still wins."
    ).tag(config=True)

    @observe("store_path")
    def _on_store_path_change(self, change: dict[str, Any]) -> None:
        from ..store import configure  # paths only: no pyarrow

        configure(change["new"])

    stream_hub = Bool(
        help="Share one real-time WebSocket per app key among this user's processes on this machine through a "
        "local hub process (kiwoom_nb.live.hub), so that a second notebook with the same key does not stop the "
        "first (Kiwoom R10001). On by default; False (or $KIWOOM_STREAM_HUB=0) keeps each process's own WebSocket. "
        "Streams opened afterwards follow."
    ).tag(config=True)

    @default("stream_hub")
    def _default_stream_hub(self) -> bool:
        return _hub_from_environment()

    @observe("stream_hub")
    def _on_stream_hub_change(self, change: dict[str, Any]) -> None:
        from ..live.hub._client import enabled

        enabled(bool(change["new"]))

    pace_url = Unicode(
        help="Where the pace of each app key is shared: '' or 'local' by this user's processes on this machine, "
        "redis://host:6379/0 through Redis by several machines (pip install 'kiwoom_nb[redis]'), 'off' by none. "
        "Empty (the default): $KIWOOM_PACE_URL decides. A password in the URL is shown as ***; $KIWOOM_PACE_URL "
        "keeps it out of the notebook."
    ).tag(config=True)

    @validate("pace_url")
    def _validate_pace_url(self, proposal: dict[str, Any]) -> str:
        from .. import pace

        value = str(proposal["value"])
        if "***" in value and value == self._trait_values.get("pace_url"):
            return value  # the masked URL set back: no change
        try:
            pace.set_url(value or None)  # the URL itself stays with kiwoom_nb.pace; the trait keeps it masked
        except KiwoomError as exc:
            raise TraitError(str(exc)) from None
        return pace.masked(value)

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

    @validate("base_url", "mock_base_url", "ws_url", "mock_ws_url")
    def _validate_url(self, proposal: dict[str, Any]) -> str:
        """A URL no request could go to is refused when set (one line naming it), not at the first login."""
        from ..auth._checks import check_url
        from ..live._wire import PRODUCTION_WS_URL

        name, value = proposal["trait"].name, proposal["value"]
        if not str(value).strip():
            return value  # unset: Kiwoom's own
        ws = name.endswith("ws_url")
        try:
            check_url(f"KiwoomMagics.{name}", value, ("wss", "ws") if ws else ("https", "http"),
                      PRODUCTION_WS_URL if ws else "https://api.kiwoom.com")
        except KiwoomError as exc:  # a TraitError: traitlets keeps the value before; %config logs its one line
            raise TraitError(str(exc)) from None
        return value

    @validate("timeout", "exit_timeout", "refresh_margin", "pace", "board_rate")
    def _validate_number(self, proposal: dict[str, Any]) -> float:
        """inf, nan and the absurd are refused when set (one line; the setting before, and the tokens, are kept)."""
        from ..auth._checks import MAX_MARGIN, MAX_PACE, MAX_RATE, MAX_WAIT, check_number

        name = proposal["trait"].name
        minimum, maximum = {"timeout": (0.001, MAX_WAIT), "exit_timeout": (0.0, 60.0), "refresh_margin": (0.0, MAX_MARGIN),
                            "pace": (0.0, MAX_PACE), "board_rate": (0.0, MAX_RATE)}[name]
        try:
            return check_number(f"KiwoomMagics.{name}", proposal["value"], minimum=minimum, maximum=maximum)
        except KiwoomError as exc:  # a TraitError: traitlets keeps the value before; %config logs its one line
            raise TraitError(str(exc)) from None

    @validate("var")
    def _validate_var(self, proposal: dict[str, Any]) -> str:
        if not str(proposal["value"]).isidentifier():
            raise TraitError(f"{proposal['value']!r} is not a valid Python variable name")
        return proposal["value"]

    board_rate = Float(4.0, help="Updates per second at most that a live board (%kiwoom_watch, display(stream)) sends "
                       "to the browser, whatever the tick rate.").tag(config=True)

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

    def using(self, mock: bool) -> str:
        """For the end of the magic's login line: `` (using KIWOOM_BASE_URL=…)`` when a base URL is overridden. The
        panel's line goes without it, to fit a narrow window."""
        notice = using_line(self.url_for(mock))
        return f" {notice}" if notice else ""


def _hub_from_environment() -> bool:
    """$KIWOOM_STREAM_HUB: the hub is on unless it says 0, false, no or off (kiwoom_nb.live.hub._client.OFF)."""
    return os.environ.get("KIWOOM_STREAM_HUB", "").strip().lower() not in ("0", "false", "no", "off")
