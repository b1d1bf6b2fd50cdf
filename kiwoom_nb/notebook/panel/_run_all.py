"""Run All with a login panel: until the panel logs in, a cell that uses the token's variable fails with one line
saying what to do, instead of a NameError wall. Owns IPython's custom-exception slot while it waits, and chains
whatever handler was there."""

from __future__ import annotations

from typing import Any, Callable

from ...auth._lines import _NOT_SET


class RunAllGuard:
    """``await_login(var)`` when a panel is shown for an unset ``var``; ``settled(var)`` once it is set."""

    def __init__(self, shell: Any, logged_in: Callable[[str], bool]) -> None:
        self.shell, self._logged_in = shell, logged_in
        self.pending: dict[str, int] = {}  # var -> the cell whose panel will fill it
        self._previous: tuple[tuple[type[BaseException], ...], Any] | None = None
        self._ours: Any = None  # the shell's CustomTB while ours is installed

    def await_login(self, var: str) -> None:
        """Run All does not wait for the panel (no supported way to block a cell on widget input in
        ipykernel 7), so the next cells run at once; this makes the first of them say what to do."""
        # the running cell's number: its input is stored before it runs (IPython 8 and 9 differ on when
        # execution_count moves on, so that is not used)
        inputs = getattr(getattr(self.shell, "history_manager", None), "input_hist_parsed", None)
        self.pending[var] = max(1, len(inputs) - 1) if inputs else self.shell.execution_count
        if self._ours is not None and self.shell.CustomTB is self._ours:
            return
        # chain whatever handler is set now (set_custom_exc has one slot)
        self._previous = (self.shell.custom_exceptions, self.shell.CustomTB)
        self.shell.set_custom_exc(tuple(self.shell.custom_exceptions) + (NameError,), self._on_custom_exc)
        self._ours = self.shell.CustomTB

    def settled(self, var: str) -> None:
        self.pending.pop(var, None)

    def _on_custom_exc(self, shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> Any:
        name = getattr(value, "name", None)
        if isinstance(value, NameError) and name in self.pending and not self._logged_in(name):
            message = _NOT_SET.format(var=name, cell=self.pending[name])
            value.args = (message,)  # the error's evalue, as nbclient and papermill report it
            shell._showtraceback(etype, value, [f"{etype.__name__}: {message}"])
            return None
        previous_types, previous_handler = self._previous or ((), None)
        if previous_types and isinstance(value, previous_types):
            return previous_handler(etype, value, tb, tb_offset=tb_offset)
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
        return None

    def stop(self) -> None:
        if self._ours is not None and self.shell.CustomTB is self._ours and self._previous is not None:
            self.shell.custom_exceptions, self.shell.CustomTB = self._previous
        self._previous = self._ours = None
        self.pending.clear()
