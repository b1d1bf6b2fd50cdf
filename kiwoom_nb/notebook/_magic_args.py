"""IPython's @magic_arguments, made lazy: the argparse parser and its help text are built at first use.

Owns only that, and parsing a line with it (one-line errors that never echo the line). Keeps ``%load_ext kiwoom_nb`` cheap (see BENCHMARKS.md).
"""

from __future__ import annotations

from typing import Any, Callable


def argument(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """IPython's ``@argument`` for a ``@lazy_arguments`` magic: recorded now, added to its parser at first use."""

    def record(func: Any) -> Any:
        func.__dict__.setdefault("arguments", []).append((args, kwargs))
        return func

    return record


def lazy_arguments(func: Any) -> Any:
    """IPython's ``@magic_arguments()``, but the argparse parser, and the help text it formats (slowly:
    with IPython's magic_arguments module, over a third of ``%load_ext``), is built at first use: the
    first call, or ``?`` and Shift-Tab, which ask the object's ``getdoc()`` before its ``__doc__``."""

    def getdoc() -> str:
        parser_of(func)
        return func.__doc__

    func.getdoc = getdoc
    return func


def parser_of(func: Any) -> Any:
    """The magic's parser, built on first use; the function's ``__doc__`` is then its help text."""
    func = getattr(func, "__func__", func)
    if "parser" not in vars(func):
        from IPython.core import magic_arguments

        for args, kwargs in func.__dict__.get("arguments", []):  # innermost first, as IPython records them
            magic_arguments.argument(*args, **kwargs)(func)
        func.parser = magic_arguments.magic_arguments()(func).parser
    return func.parser


def parse(magic: Any, line: str) -> Any:
    """``line`` parsed by ``magic``'s parser; a word it does not know is a one-line KiwoomError that never echoes
    the line (argparse would, and the word may be a key pasted onto it)."""
    from IPython.core.error import UsageError

    try:
        return parser_of(magic).parse_argstring(line)
    except UsageError:
        from .._errors import KiwoomError

        name = magic.__name__
        raise KiwoomError(
            f"%{name} takes only the options listed in %{name}? (keys are never typed on the magic "
            "line, which is saved in history and in the notebook; set KIWOOM_APPKEY / KIWOOM_SECRETKEY)"
        ) from None
