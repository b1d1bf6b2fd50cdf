"""A TR's fields for people: ``describe()`` (help as a table) and the checks made before a request is sent.

Reads the TR table and field catalogue (kiwoom_nb.rest._trs); sends nothing, imports no IPython and no pandas.
"""

from __future__ import annotations

import difflib
import html
import re
from typing import Any

from .._errors import KiwoomError, RequestError
from ..auth._lines import pad, width
from ._trs import TR, _path_key, closest, fields_of, lookup

__all__ = ["MAX_ORDER_QTY", "TRHelp", "check_fields", "describe", "order_problems"]

#: The most shares (grams of gold) one order may ask for; a cancel's 0 means all that remains.
MAX_ORDER_QTY = 100_000_000
#: trde_tp codes of the order types that trade at a price of the order's own (보통, 조건부지정가, 시간외단일가, 스톱지정가,
#: their IOC / FOK; US 지정가, VWAP / TWAP 지정가, LOC, STOP LIMIT): ord_uv must be given.
PRICED = {"domestic": {"0", "00", "5", "10", "20", "28", "62"}, "us": {"00", "26", "27", "30", "34"}}
#: what Kiwoom's 12-character number fields take: whole numbers (won, shares), dollars to the cent (or 1/10000)
_WON, _DOLLARS = re.compile(r"[0-9]{1,12}"), re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,4})?")


def _codes(codes: dict[str, str]) -> str:
    return ", ".join(f"{code} {meaning}".strip() for code, meaning in codes.items())


class TRHelp:
    """What ``kiwoom_nb.describe(api_id)`` returns: a table in a notebook, text in a terminal.

    ``fields`` are the request fields, required first, each with ``.name``, ``.korean``, ``.required`` and
    ``.codes`` (code -> meaning; empty where the guide enumerates none); ``required`` their required names.
    ``columns`` are the answer's fields, the columns of the DataFrame you get (the list's fields for a TR that
    answers with a list): (name, Korean name) pairs.
    """

    def __init__(self, tr: TR, fields: tuple[Any, ...], response: tuple[Any, ...] = (),
                 observed: dict[str, str] | None = None) -> None:
        self.api_id, self.name, self.category, self.path = tr.api_id, tr.name, tr.category, tr.path
        self.list_key = tr.list_key
        self.fields = sorted(fields, key=lambda field: not field.required)  # stable: the guide's order within
        self.required = [field.name for field in self.fields if field.required]
        seen: set[str] = set()
        self.columns = [(f.name, f.korean) for f in response if f.list_key == tr.list_key and f.type != "LIST"
                        and not (f.name in seen or seen.add(f.name))]
        # fields Kiwoom sends in the rows that the guide's tables lack (observed.json): columns you get as well
        self.columns += [(name, f"{korean} (seen in answers; not in the guide)") for name, korean in
                         (observed or {}).items() if name not in seen]

    def _answer(self) -> str:
        return f"answer: a row per {self.list_key} item" if self.list_key else "answer: one row"

    def _rows(self) -> list[tuple[str, str, str, str]]:
        return [(f.name, f.korean, "required" if f.required else "", _codes(f.codes) or f.format)
                for f in self.fields]

    def __repr__(self) -> str:
        head = f"{self.api_id} {self.name} [{self.category}] {self.path}" + \
            (f"  list: {self.list_key}" if self.list_key else "")
        rows = [("field", "한글명", "", "codes / format"), *self._rows()]
        if len(rows) == 1:
            return head + "\n(no request fields)" + self._columns_text()
        widths = [max(width(r[i]) for r in rows) for i in range(4)]
        text = head + "\n" + "\n".join("  ".join(pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows)
        return text + self._columns_text()

    def _columns_text(self) -> str:
        if not self.columns:
            return ""
        names = max(width(name) for name, _ in self.columns)
        return f"\n{self._answer()} (columns):\n" + "\n".join(f"  {pad(name, names)}  {korean}".rstrip()
                                                               for name, korean in self.columns)

    def _repr_html_(self) -> str:
        cells = "".join(
            "<tr>" + "".join(f'<td style="text-align:left">{html.escape(c)}</td>' for c in (
                f"{name} *" if needed else name, korean, codes)) + "</tr>"
            for name, korean, needed, codes in self._rows())
        head = html.escape(f"{self.api_id} {self.name} [{self.category}] {self.path}")
        request = (f'<table class="kiwoom-describe"><caption style="text-align:left">request</caption>'
                   f'<tr><th style="text-align:left">field</th>'
                   f'<th style="text-align:left">한글명</th><th style="text-align:left">codes / format</th></tr>'
                   f"{cells}</table>" if self.fields else "<p>(no request fields)</p>")
        answer = "".join(f'<tr><td style="text-align:left">{html.escape(name)}</td>'
                         f'<td style="text-align:left">{html.escape(korean)}</td></tr>' for name, korean in self.columns)
        if answer:  # beside the request: the columns the DataFrame will have
            answer = (f'<table class="kiwoom-columns"><caption style="text-align:left">{html.escape(self._answer())}'
                      f'</caption><tr><th style="text-align:left">column</th><th style="text-align:left">한글명</th>'
                      f"</tr>{answer}</table>")
        return (f"<p><b>{head}</b>{' — * required' if self.required else ''}</p>"
                f'<div style="display:flex;gap:2em;align-items:flex-start">{request}{answer}</div>')


def describe(api_id: str) -> TRHelp:
    """The TR's name, category, path, request fields (required first, Korean names, allowed codes) and the answer's
    fields: the columns you will get, with their Korean names."""
    api_id = str(api_id).strip()
    tr = lookup(api_id)
    if tr is None:
        close = closest(api_id)
        hint = f"; did you mean {close}?" if close else "; kiwoom_nb.find_trs() searches the table"
        raise KiwoomError(f"{api_id} is not in kiwoom_nb's TR table{hint}", api_id=api_id)
    spec = fields_of(api_id)
    from ._catalogue import observed_labels

    return TRHelp(tr, spec.request if spec else (), spec.response if spec else (), observed_labels(api_id))


def order_problems(api_id: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, why) for each quantity or price of order TR ``api_id`` that no order can have: a quantity that is not a
    whole number from 1 to MAX_ORDER_QTY (a cancel's may be 0: all that remains), a price that is not positive, not
    whole won (domestic) or cents (US), or missing from an order type that trades at its own price. Empty fields are
    the missing-field check's. What the fake refuses too, as Kiwoom does."""
    tr = lookup(api_id)
    if tr is None or tr.category not in ("주문", "신용주문"):
        return []
    market = "us" if tr.market == "us" else "domestic"
    problems = []
    for name in ("ord_qty", "mdfy_qty", "cncl_qty"):
        text = str(body.get(name, "")).strip()
        least = 0 if name == "cncl_qty" else 1
        if text and not (_WON.fullmatch(text) and least <= int(text) <= MAX_ORDER_QTY):
            problems.append((name, f"{name}={_shown(body[name])} is not a quantity: a whole number from {least} to "
                                   f"{MAX_ORDER_QTY:,}" + (" (0 cancels all that remains)" if least == 0 else "")))
    kind = str(body.get("trde_tp", "")).strip()
    for name in ("ord_uv", "mdfy_uv", "cond_uv", "mdfy_cond_uv", "stop_pric"):
        text = str(body.get(name, "")).strip()
        if not text or name == "ord_uv" and text == "0" and kind not in PRICED[market]:  # at market: no price
            continue
        if not (_DOLLARS if market == "us" else _WON).fullmatch(text) or not float(text) > 0:
            problems.append((name, f"{name}={_shown(body[name])} is not a price: a positive number of " + (
                "dollars (185.25)" if market == "us" else "whole won (160400)")))
    spec = fields_of(api_id)
    takes_price = spec is not None and any(field.name == "ord_uv" for field in spec.request)
    if kind in PRICED[market] and takes_price and not str(body.get("ord_uv", "")).strip():
        problems.append(("ord_uv", f"ord_uv={_shown(body.get('ord_uv', ''))} is no price, and trde_tp={kind} trades "
                                   f"at the order's own (trde_tp={'03' if market == 'us' else '3'} is at market)"))
    return problems


def _shown(value: Any) -> str:
    return repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."


def check_fields(api_id: str, path: str | None, body: dict[str, Any]) -> None:
    """Raise RequestError, before anything is sent, for a missing required field, an unknown field name or a
    value outside the codes the guide enumerates. TRs the catalogue lacks, or sent to another path, pass."""
    tr = lookup(api_id)
    spec = fields_of(api_id) if tr is not None else None
    if spec is None or (path and _path_key(path) != _path_key(tr.path)):
        return
    known = {field.name: field for field in spec.request}
    problems = []
    for name in body:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5) or \
                [k for k in known if k.startswith(name[:3])][:3]
            problems.append(f"no field {name}" + (
                f" (did you mean {', '.join(f'{c} ({known[c].korean})' for c in close)}?)" if close else
                f" (its fields: {', '.join(known) or 'none'})"))
    missing = [field for field in known.values() if field.required and (  # a blank is no value (stk_cd=""); a
        field.name not in body or (not field.codes and isinstance(body[field.name], str)  # coded one lists its
                                   and not body[field.name].strip()))]  # codes below
    if missing:
        problems.append("missing " + ", ".join(f"{f.name} ({f.korean})" for f in missing))
    for name, value in body.items():
        field = known.get(name)
        if field is None or not field.codes or not isinstance(value, str) or value in field.codes:
            continue
        if value == "" and not field.required:  # Kiwoom's own examples send it: the documented default
            continue
        problems.append(f"{name}={value} is not one of {_codes(field.codes)}")
    problems += [why for _, why in order_problems(api_id, body)]
    if problems:
        raise RequestError(f"{api_id} ({tr.name}): {'; '.join(problems)} — nothing was sent; "
                           f"kiwoom_nb.describe({api_id!r}) lists its fields, check=False (--no-check) sends as is",
                           api_id=api_id)
