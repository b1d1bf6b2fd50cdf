"""The login panels and live boards of one kernel's logins: shown, kept truthful, made inert when the kernel goes.

Logs nothing in by itself: the login class (KiwoomMagics) hands over what "log in", "log out" and "remember" do.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable

from ...auth._lines import kernel_restarted, kernel_shut_down
from ._panel_registry import PanelRegistry


class PanelDesk:
    """The panels and boards shown for each variable (``registry``), and Run All waiting for a panel's login."""

    def __init__(self, shell: Any, logged_in: Callable[[str], bool]) -> None:
        self.shell, self._logged_in = shell, logged_in
        self.registry = PanelRegistry()

    # Built at first use, with its module: %load_ext imports none of them (BENCHMARKS.md, goal 1).
    @cached_property
    def run_all(self) -> Any:
        from ._run_all import RunAllGuard

        return RunAllGuard(self.shell, self._logged_in)

    def show(self, var: str, *, log_in: Callable[[str, str, bool], str], log_out: Callable[[], str],
             save: Callable[[str, str, bool], str], appkey: str | None, mock: bool, remember: bool) -> None:
        from IPython.display import display

        from ...auth import _keys
        from ._panel import LoginPanel

        panel = LoginPanel(login=log_in, logout=log_out, appkey=appkey or "", mock=mock, remember=save,
                           remember_problem=_keys.keyring_note(), remember_checked=remember)
        self.registry.add(var, panel)
        if var not in self.shell.user_ns:
            self.run_all.await_login(var)
        display(panel)

    def sync(self, var: str, line: str, *, logged_in: bool = False) -> None:
        """Show ``var``'s new state (logged in with ``line``, or logged out) on every panel made for it."""
        if logged_in:
            self.run_all.settled(var)
        self.registry.sync(var, line, logged_in=logged_in)

    def close_all(self, line: str) -> None:
        """The kernel is going away (or the extension is unloaded): every panel goes inert and says why."""
        self.registry.close_all(line)

    def kernel_going(self, restart: bool) -> None:
        from .._startup import loaded_by_config

        self.close_all((kernel_restarted if restart else kernel_shut_down)(loaded_by_config(self.shell)))

    def stop(self) -> None:
        if "run_all" in vars(self):  # built only if a panel was ever shown
            self.run_all.stop()
