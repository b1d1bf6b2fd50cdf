"""%kiwoom_watch (WatchMagics) and ``display(stream)``: live boards of Kiwoom's real-time stream in a notebook; and
%kiwoom_order (TicketMagics), the order ticket's magic (the ticket itself is notebook.panel._ticket).

The stream (kiwoom_nb.live) knows nothing of boards: this module registers, with IPython's display formatter, how a
Stream is shown (a board in a kernel, its status line elsewhere). Boards are kept truthful with the login panels
(inert on logout, kernel restart or shutdown) through the login class's registry.
"""

from __future__ import annotations

from typing import Any, Callable

from IPython.core.magic import Magics, line_magic, magics_class

from .._errors import KiwoomError
from ._magic_args import argument, lazy_arguments, parse


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


def names_for(logins: Any, var: str | None) -> Callable[[str], str]:
    """code -> 종목명 for boards: the day's codes cache, else ka10001 (the board asks once per item)."""
    client = logins.client_for(var)

    def name_of(code: str) -> str:
        from ..rest._codes import cached_name

        return cached_name(client, code, False) or str(client.call("ka10001", stk_cd=code).get("stk_nm", "")).strip()

    return name_of


def show_stream(stream: Any) -> None:
    """``display(live)``: a live board of what it watches (kiwoom_nb.notebook._board), in a kernel; the status line
    elsewhere (terminal IPython shows no widgets)."""
    from IPython import get_ipython
    from IPython.display import display

    shell = get_ipython()
    if getattr(shell, "kernel", None) is None:
        display({"text/plain": repr(stream)}, raw=True)
        return
    from ._board import board_for

    logins = shell.magics_manager.registry.get("KiwoomMagics")  # the login class, while the extension is loaded
    if logins is None:  # kiwoom_nb.Stream in a kernel without %load_ext
        display(board_for(stream))
        return
    board = board_for(stream, rate=logins.board_rate, name_of=names_for(logins, stream.var) if stream.var else None)
    logins.track_board(stream.var, board)
    display(board)


def show_streams_as_boards(shell: Any) -> None:
    """Register show_stream with ``shell``'s display formatter for kiwoom_nb.Stream (once; it stays after an unload,
    when a board is shown as for a stream opened without %load_ext)."""
    formatter = getattr(getattr(shell, "display_formatter", None), "ipython_display_formatter", None)
    if formatter is not None:  # by name: kiwoom_nb.live is not imported for it (%load_ext stays cheap)
        formatter.for_type_by_name("kiwoom_nb.live._stream", "Stream", show_stream)


@magics_class
class WatchMagics(Magics):
    """%kiwoom_watch, with the logins of the shell's KiwoomMagics (its ``board_rate`` setting)."""

    def __init__(self, shell: Any, logins: Any) -> None:
        super().__init__(shell=shell)
        self.logins = logins
        self._boards: dict[Any, Any] = {}  # (cell, n-th %kiwoom_watch in it) -> the board it made

    @lazy_arguments
    @argument("items", nargs="*", help="Stock codes or names (005930 SK하이닉스), or $variables holding them.")
    @argument("--type", default="0B", metavar="TYPE", help="0B (체결: a board, the default) or 0D (호가: an order book).")
    @argument("--orders", action="store_true", help="The account's order fills (00) and balance changes (04).")
    @argument("--positions", action="store_true", help="The holdings (kt00018) kept current by the 04 events.")
    @argument("--condition", metavar="SEQ", help="A saved condition's hits (its seq from live.conditions()).")
    @argument("--rate", type=float, metavar="N", help="Updates per second at most (default: the board_rate trait).")
    @argument("--var", metavar="NAME", help="Another login's variable (default: kiwoom_token).")
    @line_magic
    def kiwoom_watch(self, line: str = "") -> None:
        """A live board of Kiwoom's real-time stream with the login in kiwoom_token:

            %kiwoom_watch 005930 000660          # 0B: 종목명, price (red up, blue down), change, %, volume, time
            %kiwoom_watch 005930 --type 0D       # an order book: 10 ask over 10 bid levels
            %kiwoom_watch --orders               # order fills (00) and balance changes (04), newest on top
            %kiwoom_watch --positions            # the holdings (kt00018), moved by each 04 (잔고) event
            %kiwoom_watch --condition 1          # a condition's hits, entries and exits highlighted

        Codes, names (삼성전자) and $variables (a list, or a string of codes) are taken as %kiwoom takes them. The
        board opens its own stream (sharing the app key's socket) and closes it with its Stop button; logout
        and the kernel's restart or shutdown stop it too, with a line saying so. ``display(live)`` shows the same
        board for a stream you opened. At a terminal, which shows no boards, it returns the stream
        (``live = %kiwoom_watch 005930``, then ``live.latest("0B")``).
        """
        from ..auth._checks import MAX_RATE, check_number

        args = parse(self.kiwoom_watch, line)
        check_number("--rate", args.rate, none=True, maximum=MAX_RATE)  # before a stream opens
        args.items = watch_items(args.items)
        kind = args.type.strip().upper()
        if not (args.orders or args.positions or args.condition is not None) and (
                not args.items or kind not in ("0B", "0D")):
            raise KiwoomError("%kiwoom_watch needs codes and --type 0B or 0D (e.g. %kiwoom_watch 005930 000660), "
                              "or --orders, --positions, or --condition SEQ")
        if getattr(self.shell, "kernel", None) is None:
            return self._watch_here(args, kind)
        from IPython.display import display

        from . import _board

        live = self.logins.stream_for(args.var)
        options = {"rate": args.rate or self.logins.board_rate, "own": True, "name_of": names_for(self.logins, args.var)}
        try:
            if args.orders:
                live.watch([], "00")
                live.watch([], "04")
                board = _board.Orders(live, **options)
            elif args.positions:
                live.watch([], "04")  # before kt00018 is read: no change falls between the two
                held = self.logins.client_for(args.var).rows("kt00018", qry_tp="1", dmst_stex_tp="KRX")
                board = _board.Positions(live, held, **options)
            elif args.condition is not None:
                board = _board.Conditions(live, args.condition, live.watch_condition(args.condition), **options)
            else:
                live.watch(args.items, kind)
                board = (_board.Ladder if kind == "0D" else _board.Board)(live, **options)
        except BaseException:
            live.close()
            raise
        self.logins.track_board(live.var, board)
        key, self.logins._watches = (self.logins._cell, self.logins._watches), self.logins._watches + 1
        replaced, self._boards[key] = self._boards.get(key), board
        if replaced is not None:  # this cell ran before: its board goes, timer, callbacks and stream
            replaced.stop("replaced by a new run of its cell")
            replaced.close()
        display(board)
        return None

    def _watch_here(self, args: Any, kind: str) -> Any:
        """%kiwoom_watch at a terminal: no widgets there, so the stream itself, and a line saying how to read it."""
        live = self.logins.stream_for(args.var)
        try:
            if args.orders or args.positions:
                if args.orders:
                    live.watch([], "00")
                live.watch([], "04")
                kind = "00" if args.orders else "04"
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


@magics_class
class TicketMagics(Magics):
    """%kiwoom_order: an order ticket for a login of the shell's KiwoomMagics (``logins``)."""

    def __init__(self, shell: Any, logins: Any) -> None:
        super().__init__(shell=shell)
        self.logins = logins

    @line_magic
    def kiwoom_order(self, line: str = "") -> Any:
        """An order ticket: ``%kiwoom_order [CODE [QTY]] [--var NAME]`` — code or name, side, quantity, price or
        market; the preview line as you type; 주문 then 확인 (production in red); then the live order. Same as
        kiwoom_nb.ticket()."""
        from .panel._ticket import Ticket  # the ticket's code only when one is asked for (goal 1: %load_ext)

        words, var = line.split(), None
        for at, word in enumerate(words):  # --var=NAME, as argparse takes it in the other magics
            if word.startswith("--var="):
                words[at:at + 1] = ["--var", word[len("--var="):]]
                break
        if "--var" in words:
            at = words.index("--var")
            if at + 1 >= len(words) or not words[at + 1]:  # "--var=" names nothing either
                raise KiwoomError("%kiwoom_order --var needs a name, e.g. --var kiwoom_mock")
            var = words[at + 1]
            del words[at:at + 2]
        # isdigit() alone takes "²", which int() refuses (a ValueError's traceback): ASCII digits only; an option
        # it does not know ("--", "-v", "--vars x") is no code
        qty_ok = len(words) < 2 or (words[1].isascii() and words[1].isdigit())
        if len(words) > 2 or not qty_ok or (words and words[0].startswith("-")):
            raise KiwoomError(f"%kiwoom_order {line.strip()}: use %kiwoom_order [CODE [QTY]] [--var NAME]")
        return Ticket(self.logins.client_for(var), words[0] if words else "", int(words[1]) if len(words) > 1 else 1)
