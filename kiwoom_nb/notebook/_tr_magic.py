"""%kiwoom (TrMagics) and what it does with its line: parse it, complete it (Tab), search the TR table (--find), fetch
and shape the answer.

No traits, no login: the login class (KiwoomMagics) hands over a client bound to a login. %kiwoom_candles and
%kiwoom_watch have modules of their own beside it.
"""

from __future__ import annotations

import re
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from .._errors import KiwoomError
from ..auth._lines import pad, width
from ..auth._lines import warn as _warn


_HELP_END = re.compile(r"^(\s*(?:[\w.]+\s*=\s*)?%kiwoom\s+)(\w+)\?\s*$")
_TR_LINE = re.compile(r"^\s*(?:[\w.]+\s*=\s*)?%kiwoom\s+(.*)$")
#: %kiwoom's options, for Tab, with what each does.
OPTIONS = {"--pages": "N or all", "--confirm": "send a production order", "--raw": "the answer as Kiwoom sent it",
           "--strings": "no numeric conversion", "--var": "another login's variable", "--help": "the TR's fields",
           "--no-check": "send without checking the fields", "--path": "a TR newer than the table",
           "--find": "search the TR table", "--ko": "Korean column names"}


def help_end(lines: list[str]) -> list[str]:
    """An IPython cleanup transformer: ``%kiwoom ka10081?`` means ``%kiwoom --help ka10081``. Without it IPython
    reads the trailing ``?`` as ``%pinfo ka10081`` ("Object `ka10081` not found")."""
    return [_HELP_END.sub(r"\1--help \2", line.rstrip("\n")) + line[len(line.rstrip("\n")):]
            if "?" in line and "%kiwoom" in line else line for line in lines]


def complete_tr_line(before: str) -> tuple[str, list[tuple[str, str]]] | None:
    """Tab in a %kiwoom line whose text up to the cursor is ``before``: the fragment to replace and the completions
    as (text, what it is): api-ids (the TR's name), then ``field=`` not yet given (required first; Korean name),
    then after ``field=`` its codes (their meaning); options after ``-``. None when the line is not one of these."""
    found = _TR_LINE.match(before)
    if not found:
        return None
    rest = found.group(1)
    current = re.search(r"\S*$", rest).group()
    try:
        args = parse_tr_line(rest[: len(rest) - len(current)])
    except KiwoomError:  # e.g. --pages still waiting for its value
        return None
    if args["find"] is not None:
        return None
    if current.startswith("-"):
        return current, [(option, about) for option, about in OPTIONS.items() if option.startswith(current)]
    from ..rest._trs import fields_of, table  # read at the first Tab, never at %load_ext

    if args["api_id"] is None:
        return current, [(tr.api_id, tr.name) for tr in table().values() if tr.api_id.startswith(current.lower())]
    spec = fields_of(args["api_id"])
    if spec is None:
        return None
    name, is_value, value = current.partition("=")
    if is_value:
        field = next((f for f in spec.request if f.name == name), None)
        codes = (field.codes or field.examples) if field else {}  # examples: values the guide names, not all
        return value, [(code, meaning or field.korean) for code, meaning in codes.items() if code.startswith(value)]
    return current, [(f"{f.name}=", f.korean + " (필수)" * f.required)
                     for f in sorted(spec.request, key=lambda f: not f.required)
                     if f.name.startswith(current) and f.name not in args["fields"]]


def unbroken(text: str) -> str:
    """``text`` that cannot break across lines: JupyterLab sizes the type column of its completer to the narrowest
    the text fits (CSS grid ``min-content``), which puts Korean one syllable per line, over the next items. Word
    joiners (U+2060, invisible) between the characters and no-break spaces keep it on one line."""
    return "\u2060".join(text.replace(" ", "\u00a0"))


def tr_matcher(completer: Any, *, kernel: bool = False) -> tuple[list[Any], Any]:
    """%kiwoom's Tab completion for IPython's ``completer``: the list to put it in and the matcher to put there.

    IPython >= 8.6 takes a context matcher, whose completions carry a type: the Korean name, which JupyterLab shows
    beside each item (made :func:`unbroken` in a ``kernel``) and terminal IPython in its menu. Older IPython takes
    plain texts from a magic-argument matcher (in order, and alone, but without the names)."""
    try:
        from IPython.core.completer import SimpleCompletion, context_matcher
    except ImportError:
        def complete_plain(line: str) -> list[str]:
            found = complete_tr_line(completer.text_until_cursor)
            return [text for text, _ in found[1]] if found else []

        return completer.magic_arg_matchers, complete_plain

    @context_matcher(identifier="kiwoom_nb.%kiwoom")
    def complete(context: Any) -> dict[str, Any]:
        found = complete_tr_line(context.text_until_cursor)
        fragment, items = found or (context.token, [])
        completions = [SimpleCompletion(text, type=unbroken(about) if kernel else about) for text, about in items]
        return {"completions": completions, "matched_fragment": fragment, "suppress": True, "ordered": True}

    return completer.custom_matchers, complete


def parse_tr_line(line: str) -> dict[str, Any]:
    import shlex

    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise KiwoomError(f"%kiwoom could not read the line ({exc}); quote values that contain spaces") from None
    args: dict[str, Any] = {"api_id": None, "fields": {}, "pages": 1, "confirm": False, "raw": False,
                            "strings": False, "var": None, "path": None, "find": None, "check": True, "help": False, "ko": False}
    i = 0
    while i < len(words):
        word = words[i]
        name, _, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if name == "--find":
            args["find"] = " ".join(([inline] if inline else []) + words[i + 1:])
            break
        if name == "--no-check":
            args["check"] = False
        elif name == "--help":
            args["help"] = True
        elif name in ("--pages", "--var", "--path"):
            value = inline or (words[i + 1] if i + 1 < len(words) else "")
            i += 0 if inline else 1
            if not value:
                raise KiwoomError(f"%kiwoom {name} needs a value")
            if name == "--pages":
                if value.lower() != "all" and not (value.isdigit() and int(value) > 0):
                    raise KiwoomError(f"%kiwoom --pages takes a positive number or all, not {value!r}")
                args["pages"] = None if value.lower() == "all" else int(value)
            else:
                args[name[2:]] = value
        elif name in ("--confirm", "--raw", "--strings", "--ko"):
            args[name[2:]] = True
        elif word.startswith("-"):
            raise KiwoomError(f"%kiwoom does not know the option {name}; %kiwoom? lists the options")
        elif "=" in word:
            key, _, value = word.partition("=")
            if not key.isidentifier():
                raise KiwoomError(f"%kiwoom: {key!r} is not a field name; write fields as name=value")
            if key in args["fields"] and args["fields"][key] != value:  # which one was meant? not the last by chance
                raise KiwoomError(f"%kiwoom: {key} is given twice ({args['fields'][key]!r} and {value!r}); keep one")
            args["fields"][key] = value
        elif args["api_id"] is None:
            args["api_id"], args["help"] = word.rstrip("?"), args["help"] or word.endswith("?")
        else:
            raise KiwoomError(f"%kiwoom: unexpected {word!r} after {args['api_id']}; write fields as name=value")
        i += 1
    return args


class FoundTRs:
    """What ``%kiwoom --find`` shows: text aligned by terminal columns (a Korean character takes two) at a terminal,
    a table in a notebook (whose fonts do not draw Korean exactly two columns wide)."""

    def __init__(self, query: str, found: list[Any], note: str) -> None:
        from ..rest._describe import describe

        self.query, self.found, self.note = query, found, note
        self.required = {tr.api_id: describe(tr.api_id).required for tr in found}

    def __repr__(self) -> str:
        lines = [self.note] if self.note else []
        if not self.found:
            return "\n".join(lines + [f"no TR matches {self.query!r}; try a shorter word (e.g. 일봉, 주문, daily, "
                                       "order, ka10081)"])
        names = max(width(tr.name) for tr in self.found)
        categories = max(width(tr.category) for tr in self.found) + 2
        for tr in self.found:
            line = f"{tr.api_id:<8}  {pad(tr.name, names)}  {pad(f'[{tr.category}]', categories)}  {tr.path}"
            lines.append((line + (f"  list: {tr.list_key}" if tr.list_key else "")).rstrip())
            lines.append(f"{'':<10}required: {' '.join(f'{n}=' for n in self.required[tr.api_id]) or '(none)'}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        if not self.found:
            return note + f"<pre>{html.escape(repr(self).splitlines()[-1])}</pre>"
        cell = '<td style="text-align:left;white-space:nowrap">{}</td>'
        rows = "".join("<tr>" + "".join(cell.format(html.escape(text)) for text in (
            tr.api_id, tr.name, tr.category, tr.path, tr.list_key,
            " ".join(f"{n}=" for n in self.required[tr.api_id]) or "(none)")) + "</tr>" for tr in self.found)
        head = "".join(f'<th style="text-align:left">{name}</th>' for name in
                       ("api-id", "name", "category", "path", "list", "required"))
        return f'{note}<table class="kiwoom-find"><tr>{head}</tr>{rows}</table>'


def show_trs(query: str) -> FoundTRs:
    """``%kiwoom --find``: the TRs matching ``query`` (kiwoom_nb.find_trs), displayed as text or a table."""
    from ..rest._trs import find_trs  # the table is read on first use: %load_ext stays cheap

    note = ""
    if {"condition", "conditions", "조건검색", "screener"} & set(query.lower().split()):
        note = ("조건검색 (condition search) runs on the WebSocket: live = kiwoom_nb.stream(); live.conditions(), "
                "live.search(seq), or %kiwoom_watch --condition SEQ")
    return FoundTRs(query, find_trs(query), note)


def run_tr(api: Any, args: dict[str, Any]) -> Any:
    """Fetch what a parsed %kiwoom line asks for with ``api``: the DataFrame (an empty one with a line saying
    ``0 rows``), or the answer(s) with --raw."""
    pages, api_id, fields = args["pages"], args["api_id"], args["fields"]
    try:
        check = args["check"]
        if args["raw"]:
            answers = [api.call(api_id, args["path"], confirm=args["confirm"], check=check, **fields)] if pages == 1 \
                else list(api.pages(api_id, args["path"], confirm=args["confirm"], max_pages=pages, check=check,
                                    **fields))
            more_pages_note(api_id, pages, answers)
            return answers[0] if pages == 1 else answers
        frame = api.frame(api_id, args["path"], pages=pages, numeric=not args["strings"],
                          confirm=args["confirm"], check=check, labels="ko" if args["ko"] else None, **fields)
    except KeyboardInterrupt:
        got = len(api.last)
        where = f"kiwoom_nb.client({'' if args['var'] is None else repr(args['var'])})"
        _warn(f"interrupted after {got} page{'s' * (got != 1)}; {where}.to_frame() makes them a DataFrame "
              f"({where}.last holds the answers)")
        raise
    if len(frame) == 0:  # an empty table displays as a dash or nothing at all: say it in words
        print(f"{api_id} {fields['stk_cd']}: 0 rows" if fields.get("stk_cd") else f"{api_id}: 0 rows")
    more_pages_note(api_id, pages, api.last)
    from ..rest._trs import lookup

    tr = lookup(api_id)
    flat = tr is not None and not tr.list_key and not args["path"]
    if len(frame) == 1 and (flat or frame.attrs.get("flat")):  # kt00001 with an empty list is its flat fields
        from ..rest._frame import one_row

        return one_row(frame)  # a flat answer: field, 한글명, value down the page, nothing behind a cut
    return frame


def more_pages_note(api_id: str, pages: int | None, answers: list[Any]) -> None:
    """One line when Kiwoom said more remain after the last page fetched, with the option that gets them."""
    if pages is None or not answers or not (answers[-1].cont and answers[-1].next_key):
        return
    got = len(answers)
    print(f"{api_id}: Kiwoom has more pages after {'this one' if got == 1 else f'these {got}'}; "
          f"--pages {got * 2} or --pages all fetches more")


@magics_class
class TrMagics(Magics):
    """%kiwoom, with the logins of the shell's KiwoomMagics; its Tab completion and ``%kiwoom ka10081?`` help."""

    def __init__(self, shell: Any, logins: Any) -> None:
        super().__init__(shell=shell)
        self.logins = logins
        self._matcher: tuple[list[Any], Any] | None = None  # Tab completion: (the completer's list, the matcher)

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
            from ..rest._describe import describe

            return describe(args["api_id"])
        if args["help"]:  # as %kiwoom? shows it
            import inspect

            print(inspect.getdoc(type(self).kiwoom))
            return None
        if not args["api_id"]:
            raise KiwoomError("%kiwoom needs an api-id, e.g. %kiwoom ka10001 stk_cd=005930 (%kiwoom --find 일봉 lists TRs)")
        return run_tr(self.logins.client_for(args["var"]), args)

    def hook(self) -> None:
        """``%kiwoom ka10081?`` as help, and Tab in a %kiwoom line."""
        cleanup = getattr(self.shell, "input_transformers_cleanup", None)
        if cleanup is not None and help_end not in cleanup:
            cleanup.insert(0, help_end)  # before IPython's own: %kiwoom ka10081? is the TR's help
        completer = getattr(self.shell, "Completer", None)
        self._matcher = tr_matcher(completer, kernel=getattr(self.shell, "kernel", None) is not None) \
            if completer is not None else None
        if self._matcher:
            self._matcher[0].append(self._matcher[1])

    def unhook(self) -> None:
        if help_end in getattr(self.shell, "input_transformers_cleanup", []):
            self.shell.input_transformers_cleanup.remove(help_end)
        if self._matcher and self._matcher[1] in self._matcher[0]:
            self._matcher[0].remove(self._matcher[1])
        self._matcher = None
