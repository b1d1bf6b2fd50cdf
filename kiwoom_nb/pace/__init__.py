"""Owns the pacing budgets shared beyond one process (issue 33): Kiwoom limits requests per app key, not per process.

By default every process of this OS user that uses one app key shares one budget on this machine
(kiwoom_nb.pace._local, a SQLite file under the user's cache directory). ``KIWOOM_PACE_URL=redis://…`` or
``%config KiwoomMagics.pace_url`` moves it into Redis (kiwoom_nb.pace._redis) so several machines share it;
``off`` leaves pacing to each process. Stdlib only until Redis is asked for; must not import anything of kiwoom_nb
but kiwoom_nb._errors, and never holds or shows a key or a Redis password. The in-process rules (threads) stay in kiwoom_nb.rest._pace, which asks :func:`budget_for`.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

__all__ = ["budget_for", "check_url", "describe", "masked", "set_url", "url", "version"]

ENV = "KIWOOM_PACE_URL"
SCHEMES = ("redis", "rediss", "unix")
_NAMED = ("http", "https", "tcp", "memcached", "valkey", "redis+sentinel", "sqlite", "file", "postgres", "postgresql")

_url: str | None = None  # set by %config KiwoomMagics.pace_url; None: the environment decides
version = 0  # bumped whenever the URL changes: each pacer asks for its budget again
_budgets: dict[tuple[str, str, str], Any] = {}
longest_wait = 0.0  # the longest any call of this process waited for other processes' turns, in seconds
_lock = threading.Lock()


def _after_fork() -> None:
    """A forked child: a lock another thread of the parent held at the fork would stay held for ever."""
    global _lock
    _lock = threading.Lock()
    for budget in list(_budgets.values()):
        for one in (budget, getattr(budget, "_local", None)):
            if one is not None:
                one._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def check_url(value: str) -> str:
    """``value`` if it can be a pace URL ("", "local", "off" or a Redis URL), else a one-line KiwoomError that
    names the scheme only (the URL may hold a password)."""
    from .._errors import KiwoomError

    text = (value or "").strip()
    if text.lower() in ("", "local", "off"):
        return text.lower()
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if scheme not in SCHEMES and scheme not in _NAMED:  # what precedes :// may be a password typed out of place
        scheme = ""
    if scheme not in SCHEMES:
        raise KiwoomError(f"pace_url: {'a ' + scheme + ':// URL' if scheme else 'that value'} is not a Redis URL; use "
                          "redis://host:6379/0 (rediss:// for TLS), 'local' for this machine's budget, or 'off'")
    return text


def set_url(value: str | None) -> None:
    """Use ``value`` instead of $KIWOOM_PACE_URL (None: the environment again)."""
    global _url, version
    _url = None if value is None else check_url(value)
    version += 1


def url() -> str:
    if _url is not None:
        return _url
    try:
        return check_url(os.environ.get(ENV, ""))
    except Exception:  # noqa: BLE001 - a bad variable: this machine's budget, with one line
        if not getattr(url, "warned", False):
            url.warned = True  # type: ignore[attr-defined]
            import logging

            logging.getLogger("kiwoom_nb").warning("kiwoom_nb: %s is not a Redis URL (redis://host:6379/0); "
                                                   "pacing with this machine's budget", ENV)
        return ""


def budget_for(name: str) -> Any:
    """The shared budget of the app key digested as ``name``: this machine's, Redis's, or None (``off``)."""
    where = url()
    if where == "off":
        return None
    from ._local import LocalBudget, default_directory

    directory = str(default_directory())
    key = (name, where, directory)
    with _lock:
        budget = _budgets.get(key)
        if budget is None:
            local = LocalBudget(name, directory)
            if where in ("", "local"):
                budget = local
            else:
                from ._redis import RedisBudget

                budget = RedisBudget(where, name, local)
            _budgets[key] = budget
        return budget


def masked(value: str) -> str:
    """``value`` fit to be shown: a Redis URL's password (and user) replaced by ``***``."""
    scheme, sep, rest = value.partition("://")
    if "@" in rest:  # not urlsplit: a password may hold an unencoded / ? or # that ends its netloc early
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + re.sub(r"(?i)(password=)[^&#]*", r"\1***", rest)  # redis-py's ?password=


def waited(seconds: float) -> None:
    """A call of this process waited ``seconds`` for other processes' turns."""
    global longest_wait
    longest_wait = max(longest_wait, seconds)


def describe() -> str:
    """One line for %kiwoom_status: where the pace of this kernel's keys is shared, and the longest wait so far."""
    where = url()
    if where == "off":
        return "Pace: each process paces alone (pace_url is off)"
    waits = f"; the longest wait for other processes' turns: {longest_wait:.1f} s" if longest_wait >= 0.05 else ""
    if where in ("", "local"):
        from ._local import default_directory

        return f"Pace: shared per app key by this user's processes on this machine ({default_directory()}){waits}"
    from ._redis import host_of

    down = any(getattr(b, "down", False) for b in list(_budgets.values()))
    return f"Pace: shared per app key through Redis at {host_of(where)}" + (
        " — unreachable now: this machine's budget until it answers" if down else "") + waits
