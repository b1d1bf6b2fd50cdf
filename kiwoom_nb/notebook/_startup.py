"""Whether IPython's configuration loads kiwoom_nb into every new kernel, so that a restarted or fresh kernel has
%kiwoom_login without %load_ext. Reads the running application's settings (or the shell's config); imports
traitlets only, and never raises: when in doubt the answer is no, and the advice names %load_ext.
"""

from __future__ import annotations

import re
import sys
from typing import Any

__all__ = ["loaded_by_config"]

#: Where IPython takes what it loads at startup: ``c.InteractiveShellApp.extensions`` (or the same trait set on
#: IPKernelApp / TerminalIPythonApp), ``--ext NAME`` (extra_extensions), and %load_ext lines in exec_lines.
#: Startup files (profile_default/startup/*.py) are not read: a kernel loading kiwoom_nb there is told to
#: %load_ext, which then only says it is already loaded.
_SECTIONS = ("InteractiveShellApp", "IPKernelApp", "TerminalIPythonApp")
_LISTS = ("extensions", "extra_extensions", "default_extensions")
_LOAD_LINE = re.compile(r"load_ext(?:ension)?\W+kiwoom_nb\b")


def _values(value: Any) -> list[str]:
    if hasattr(value, "get_value"):  # a traitlets LazyConfigValue: c.X.extensions.append("kiwoom_nb")
        value = value.get_value([])
    return [str(item) for item in value] if isinstance(value, (list, tuple, set)) else []


def _settings(shell: Any) -> tuple[list[str], list[str]]:
    """(extension names, exec_lines) this kernel was started with."""
    from traitlets.config import Application

    app = Application.instance() if Application.initialized() else None
    if app is not None and app.has_trait("extensions"):  # IPKernelApp, TerminalIPythonApp: config and command line resolved
        names = [name for trait in _LISTS if app.has_trait(trait) for name in _values(getattr(app, trait))]
        return names, _values(getattr(app, "exec_lines", []))
    config = getattr(shell, "config", None)  # no IPython application (an embedded shell): the config it was given
    names, lines = [], []
    for section in _SECTIONS:
        settings = config.get(section) if hasattr(config, "get") else None
        if hasattr(settings, "get"):
            names += [name for trait in _LISTS for name in _values(settings.get(trait, []))]
            lines += _values(settings.get("exec_lines", []))
    return names, lines


def loaded_by_config(shell: Any = None) -> bool:
    """Whether a new kernel started like this one loads kiwoom_nb before its first cell (``shell``: the IPython
    shell, default the current one)."""
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
    try:
        names, lines = _settings(shell)
    except Exception:  # noqa: BLE001 - an odd application or config: give the advice that always works
        return False
    return any(name.strip() == "kiwoom_nb" for name in names) or any(_LOAD_LINE.search(line) for line in lines)
