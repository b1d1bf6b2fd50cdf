"""Every login panel shown in this kernel, by variable, kept truthful: logged in, logged out, or inert and why.

Knows panels only through show_logged_in / show_logged_out / show_closed; imports no widgets and no magics.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("kiwoom_nb")


class PanelRegistry(dict):
    """var -> the panels shown for it. A dict so that ``registry[var]`` lists them."""

    def add(self, var: str, panel: Any) -> None:
        self.setdefault(var, []).append(panel)

    def live(self, var: str | None = None) -> list[Any]:
        """The panels still shown (a closed widget, its comm gone, has nobody to show anything to)."""
        names = [var] if var is not None else list(self)
        live = []
        for name in names:
            self[name] = [p for p in self.get(name, []) if getattr(p, "comm", None) is not None]
            live += self[name]
        return live

    def sync(self, var: str, line: str, *, logged_in: bool = False) -> None:
        """Show ``var``'s new state (logged in with ``line``, or logged out) on every panel made for it."""
        for panel in self.live(var):
            try:
                panel.show_logged_in(line) if logged_in else panel.show_logged_out(line)
            except Exception as exc:  # noqa: BLE001 - a panel must never break a login
                log.warning("kiwoom_nb: could not update a login panel: %s", type(exc).__name__)

    def close_all(self, line: str) -> None:
        """The kernel is going away (or the extension is unloaded): every panel goes inert and says why."""
        for panel in self.live():
            try:
                panel.show_closed(line)
            except Exception:  # noqa: BLE001 - shutdown path
                pass
