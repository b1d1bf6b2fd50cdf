"""The ipywidgets login panel. It collects keys and calls an injected login function.

Only this module imports ipywidgets. A key lives in a widget only until the kernel receives it: the
fields never stream keystrokes, are never echoed over IOPub, and are blanked as soon as a value arrives,
so the browser's copy (which JupyterLab saves with the widget state) is empty again at once.
"""

from __future__ import annotations

import html
import logging
from typing import Any, Callable

import ipywidgets as widgets
from traitlets import Unicode

from ..._errors import KiwoomError
from ...auth._keys import NO_OS_KEYRING
from ...auth._lines import kernel_restarted
from ._panel_look import RECEIVED, REMEMBER, STYLE as _STYLE, plain_text, received_appkey
from .._startup import loaded_by_config

__all__ = ["LoginPanel"]

log = logging.getLogger("kiwoom_nb")


class _KeyText(widgets.Text):
    # echo_update=False: ipywidgets 8 would otherwise broadcast the typed key back on IOPub,
    # where nbclient and every other open frontend record it.
    value = Unicode("", help="The key; blanked as soon as it is read.").tag(sync=True, echo_update=False)


class _KeyPassword(widgets.Password):
    value = Unicode("", help="The key; blanked as soon as it is read.").tag(sync=True, echo_update=False)


def _no_login(appkey: str, secretkey: str, mock: bool) -> str:
    raise KiwoomError("this login panel has no login to call: build it as kiwoom_nb.LoginPanel(), or pass login=")


def _default_remember(appkey: str, secretkey: str, mock: bool) -> str:
    from ...auth._keys import remember_keys

    return remember_keys(appkey, secretkey, mock=mock)


class LoginPanel(widgets.VBox):
    """App key, secret key, 실전투자 / 모의투자, and a log-in button; the result shows in the panel.

    ``login(appkey, secretkey, mock) -> str`` does the work and returns the line to show (it
    raises KiwoomError on failure); by default it logs in the way ``%kiwoom_login`` does and sets
    ``kiwoom_token``. ``logout() -> str`` backs the log-out button shown after success.

    ``remember(appkey, secretkey, mock) -> str`` saves the keys after a successful login when the
    "remember" checkbox is ticked (off unless ``remember_checked``) and returns where they went;
    ``remember_problem`` is why that is impossible here (the checkbox is then disabled and says so).
    Without ``remember`` there is no checkbox, except on the default panel, which saves in the OS keyring.
    """

    #: The login of a panel built without ``login=``; wired by whoever hands the class out
    #: (``kiwoom_nb.LoginPanel`` logs in the way %kiwoom_login does). This module imports nothing of the magics.
    default_login: Callable[[str, str, bool], str] | None = None

    def __init__(
        self,
        login: Callable[[str, str, bool], str] | None = None,
        logout: Callable[[], str] | None = None,
        *,
        appkey: str = "",
        mock: bool = False,
        remember: Callable[[str, str, bool], str] | None = None,
        remember_problem: str | None = None,
        remember_checked: bool = False,
        **kwargs: Any,
    ) -> None:
        self._login = login or self.default_login or _no_login
        self._logout = logout
        if remember is None and login is None:  # the default panel logs in and saves the way the magics do
            remember = _default_remember
            if remember_problem is None:
                from ...auth._keys import keyring_note

                remember_problem = keyring_note()
        self._remember = remember
        self._busy = False
        self._logged_in = False
        self._closed = False
        # what a new kernel needs to log in (the restart line and the plain-text form say it): decided now, as the
        # browser shows the line from CSS alone when it drops the widgets before the kernel can say anything
        self._by_config = loaded_by_config()
        gone = f'<span class="kiwoom-gone">{html.escape(kernel_restarted(self._by_config))}</span>'
        self._title = widgets.HTML(f"<b>Kiwoom REST API 로그인 (log in)</b>{gone}{_STYLE}")
        # A preset app key stays in the kernel: sent to the widget, it would be saved with the
        # widget state and recorded by nbclient. The field shows where it comes from instead.
        # It belongs to the environment the panel opened in: toggling to the other one does not carry it over.
        self._preset_appkey, self._preset_mock = appkey.strip(), bool(mock)
        field_layout = {"width": "100%", "max_width": "46em"}  # narrow outputs shrink it instead of clipping
        preset_name = "KIWOOM_MOCK_APPKEY" if mock else "KIWOOM_APPKEY"
        self._appkey = _KeyText(
            description="앱키 App key",
            placeholder=f"환경변수 {preset_name} 사용 (env)" if self._preset_appkey else "App key",
            continuous_update=False, style={"description_width": "10em"}, layout=field_layout,
        )
        self._secretkey = _KeyPassword(
            description="시크릿키 Secret key", placeholder="Secret key", continuous_update=False,
            style={"description_width": "10em"}, layout=field_layout,
        )
        self._placeholders = {field: field.placeholder for field in (self._appkey, self._secretkey)}
        self._received: dict[Any, str] = {}  # field -> the key it sent; the field itself is blanked
        self._submit_pending = False  # Enter was pressed in the secret field; its value follows
        for field in (self._appkey, self._secretkey):
            field.observe(self._on_key_value, names="value")
        self._secretkey.on_msg(self._on_secretkey_message)
        self._environment = widgets.ToggleButtons(
            options=[("실전투자 (production)", False), ("모의투자 (mock)", True)], value=bool(mock),
            style={"button_width": "auto"},
        )
        self._environment.observe(self._on_environment, names="value")
        # Not a secret, so a plain checkbox; off by default: saving keys is the user's choice to make.
        self._remember_box = widgets.Checkbox(
            value=bool(remember_checked and not remember_problem), description=REMEMBER, indent=False,
            disabled=bool(remember_problem), layout={"width": "auto"},
        )
        why = remember_problem if remember_problem == NO_OS_KEYRING else \
            f"저장할 수 없음 — not available: {remember_problem}" if remember_problem else ""
        self._remember_note = widgets.HTML(f'<span class="kiwoom-info" style="opacity:0.75">{html.escape(why)}</span>'
                                           if why else "")
        remember_row = [self._remember_box] + ([self._remember_note] if remember_problem else []) if remember else []
        self._login_button = widgets.Button(description="로그인 Log in", button_style="primary", icon="sign-in",
                                            layout={"width": "max-content"})  # room for ipywidgets' disconnected icon
        self._logout_button = widgets.Button(description="로그아웃 Log out", icon="sign-out", layout={"width": "max-content"})
        self._status = widgets.HTML("")
        self._status_text = ""
        self._form = [self._title, self._appkey, self._secretkey, self._environment, *remember_row,
                      self._login_button, self._status]
        self._login_button.on_click(self._on_login_click)
        self._logout_button.on_click(self._on_logout_click)
        super().__init__(children=self._form, **kwargs)
        self.add_class("kiwoom-login-panel")

    # -- what the user sees ------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """The status line as plain text."""
        return self._status_text

    def _show(
        self, text: str, kind: str = "info", *, note: str = "", note_kind: str = "ok", closed: bool = False
    ) -> None:
        self._status_text = text + (f"\n{note}" if note else "")
        colors = {"error": "#b00020", "ok": "#1b5e20"}
        shown = html.escape(text)
        if kind == "ok":  # "...: logged in as x (keys from y); expires ..., 23h 59m left" on two lines
            shown = shown.replace("; ", "<br>", 1)
        classes = f"kiwoom-status kiwoom-{kind}" + (" kiwoom-closed" if closed else "")
        markup = f'<span class="{classes}" style="color:{colors.get(kind, "inherit")}">{shown}</span>'
        if note:
            color = colors.get(note_kind, "inherit")
            markup += f'<br><span class="kiwoom-note kiwoom-note-{note_kind}" style="color:{color}">{html.escape(note)}</span>'
        self._status.value = markup

    # -- kept in step with the session (the magics call these when another cell changes it) -------

    def show_logged_in(self, line: str) -> None:
        """A login (here, in another cell or panel, or a refresh) holds the variable: show it."""
        self._received.clear()
        self._reset_fields()
        self._logged_in = True
        self._show(line, "ok")
        self.children = [self._title, self._status] + ([self._logout_button] if self._logout else [])

    def show_logged_out(self, line: str) -> None:
        """The variable was logged out (here or by %kiwoom_logout): back to the form."""
        self._logged_in = False
        self.children = self._form
        self._show(line, "info")

    def show_closed(self, line: str) -> None:
        """The kernel is going away: nothing here can log in or out any more."""
        self._received.clear()
        self._reset_fields()
        for control in (self._appkey, self._secretkey, self._environment, self._remember_box, self._login_button,
                        self._logout_button):
            control.disabled = True
        self._closed = True  # a click already on its way does nothing
        self._show(line, "info", closed=True)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = plain_text(self._by_config)  # what a frontend without widgets shows
        return bundle

    def __repr__(self) -> str:
        return plain_text(self._by_config)

    # -- handlers (ipywidgets swallows exceptions raised here, so none may escape) ----------------

    def _on_key_value(self, change: dict[str, Any]) -> None:
        field, value = change["owner"], change["new"]
        if not value:
            return
        # keep the key here and blank the field now, not at the click: with "Save Widget State
        # Automatically" on, a typed-but-unsent key would otherwise be saved in the notebook
        self._received[field] = value
        field.value = ""
        field.placeholder = received_appkey(value) if field is self._appkey else RECEIVED
        if self._closed:
            self._received.clear()
            return
        if field is self._secretkey and self._submit_pending:
            self._on_login_click()

    def _on_secretkey_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        # Enter in the secret field logs in. The browser sends "submit" before the value itself,
        # so the login waits for the value unless it is already here.
        if content.get("event") == "submit":
            self._submit_pending = True
            if self._secretkey in self._received:
                self._on_login_click()

    def _take_keys(self) -> tuple[str, str, bool]:
        """The received keys (the preset app key as fallback). The secret is forgotten at once; the
        app key is kept (shown as received) until a login succeeds, so a wrong secret alone can be retyped."""
        self._submit_pending = False
        typed = self._received.get(self._appkey, "")
        secretkey = self._received.pop(self._secretkey, "")
        self._secretkey.value = ""
        self._secretkey.placeholder = self._placeholders[self._secretkey]
        preset = self._preset_appkey if self._environment.value == self._preset_mock else ""
        return typed or preset, secretkey, bool(secretkey)

    def _on_environment(self, change: dict[str, Any]) -> None:
        """The preset app key is shown (and used) only in its own environment."""
        if self._preset_appkey and self._appkey not in self._received:
            own = change["new"] == self._preset_mock
            self._appkey.placeholder = self._placeholders[self._appkey] if own else "App key"

    def _reset_fields(self) -> None:
        for field, placeholder in self._placeholders.items():
            field.value = ""
            field.placeholder = placeholder
        self._on_environment({"new": self._environment.value})

    def _on_login_click(self, _button: Any = None) -> None:
        if self._busy or self._logged_in or self._closed:  # a second click of a double click, or a stale one
            return
        self._busy = True
        self._login_button.disabled = True
        try:
            appkey, secretkey, typed = self._take_keys()
            if not appkey.strip() or not secretkey.strip():
                # nothing typed right after a failed try is the rest of a double click: keep its message
                if "kiwoom-error" not in self._status.value or typed:
                    self._show("앱키와 시크릿키를 입력하세요 — enter both the app key and the secret key", "error")
                return
            self._show("로그인 중… logging in…")
            try:
                line = self._login(appkey, secretkey, self._environment.value)
            except KiwoomError as exc:
                self._show(str(exc), "error")
                return
            except Exception as exc:  # noqa: BLE001 - show, never let it vanish
                log.error("kiwoom_nb: login panel failed with %s", type(exc).__name__)  # no message: it may hold a key
                self._show(f"login failed with an unexpected {type(exc).__name__}; see the kernel log", "error")
                return
            self.show_logged_in(line)
            if self._remember is not None and self._remember_box.value and not self._remember_box.disabled:
                self._save_keys(line, appkey, secretkey, self._environment.value)
        finally:
            self._busy = False
            self._login_button.disabled = False

    def _save_keys(self, line: str, appkey: str, secretkey: str, mock: bool) -> None:
        """After a successful login: keep the keys in the OS keyring, and say so (or why not) under the line."""
        try:
            where = self._remember(appkey, secretkey, mock)  # type: ignore[misc]
        except KiwoomError as exc:
            self._show(line, "ok", note=f"저장하지 못함 — not saved: {exc}", note_kind="error")
        except Exception as exc:  # noqa: BLE001 - never a raw exception text
            log.error("kiwoom_nb: saving the keys from the panel failed with %s", type(exc).__name__)
            self._show(line, "ok", note=f"저장하지 못함 — not saved: an unexpected {type(exc).__name__}",
                       note_kind="error")
        else:
            self._show(line, "ok", note=f"저장됨 — keys saved in the {where}; %kiwoom_logout --forget removes them")

    def _on_logout_click(self, _button: Any = None) -> None:
        if self._busy or self._closed or self._logout is None:
            return
        self._busy = True
        self._logout_button.disabled = True
        try:
            line = self._logout()
        except KiwoomError as exc:
            self._show(str(exc), "error")
        except Exception as exc:  # noqa: BLE001 - show, never a raw exception text (a KeyError's is a name)
            log.error("kiwoom_nb: logout from the panel failed with %s", type(exc).__name__)
            self._show(f"logout failed with an unexpected {type(exc).__name__}; see the kernel log", "error")
        else:
            self.show_logged_out(line)
        finally:
            self._busy = False
            self._logout_button.disabled = False
