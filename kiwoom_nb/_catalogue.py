"""The field catalogue shipped as package data (fields.json, built from Kiwoom's guide by scripts/kiwoom-guide.py).

Beside it observed.json, the project's own file of fields seen in real answers that the guide's tables lack (each with
where it was seen): :func:`observed_labels` gives their Korean labels.

For every TR of trs.tsv: its request fields (name, Korean name, required, type, length, allowed codes) and its
response fields (name, Korean name, the list they belong to). Imported on first use only (kiwoom_nb._trs.fields_of):
the file is read on the first call and each TR parsed on its first call. Stdlib only.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["Field", "Fields", "ResponseField", "about", "api_ids", "fields_of", "observed", "observed_labels"]


class _Record:
    """A small read-only record: attributes named by ``__slots__``, compared and shown like a tuple."""

    __slots__: tuple = ()

    def __init__(self, *values: object) -> None:
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def _astuple(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def _asdict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._astuple() == other._astuple()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, getattr(self, self.__slots__[0])))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__) + ")"


class Field(_Record):
    """One request field of a TR."""

    __slots__ = ("name", "korean", "required", "type", "length", "codes", "examples", "format")
    name: str
    korean: str
    required: bool
    type: str
    length: int | None
    codes: dict[str, str]  # code -> meaning: every value the guide allows; empty where it enumerates none
    examples: dict[str, str]  # code -> meaning the guide names without listing every allowed value (000: 전체)
    format: str  # "YYYYMMDD", "YYYYMM" or "YYYY" for dates; "" otherwise


class ResponseField(_Record):
    """One field of a TR's answer."""

    __slots__ = ("name", "korean", "list_key", "type", "length")
    name: str
    korean: str
    list_key: str  # the list it belongs to; "" for top-level fields (and for the list itself, type "LIST")
    type: str
    length: int | None


class Fields(_Record):
    """A TR's request fields and response fields, each in the guide's order."""

    __slots__ = ("request", "response")
    request: tuple[Field, ...]
    response: tuple[ResponseField, ...]

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.request if f.required]

    def labels(self) -> dict[str, str]:
        """Response field name -> Korean name (the first one where a name repeats)."""
        out: dict[str, str] = {}
        for f in self.response:
            out.setdefault(f.name, f.korean)
        return out


#: fields.json's TR lines by api-id, unparsed (None until the first fields_of()).
_catalogue: dict[str, str] | None = None
_fields: dict[str, Fields] = {}


def _lines() -> dict[str, str]:
    global _catalogue
    if _catalogue is None:
        text = Path(__file__).with_name("fields.json").read_text(encoding="utf-8")
        lines = {}
        for line in text.splitlines():  # one TR a line: "ka10081":{"request":[…],"response":[…]},
            if line.startswith('"') and '":{' in line[:24]:
                api_id, _, body = line.partition(":")
                lines[api_id.strip('"')] = body.rstrip(",")
        _catalogue = lines
    return _catalogue


def fields_of(api_id: str) -> Fields | None:
    """The request and response fields of ``api_id`` as the guide lists them, or None for a TR it does not have."""
    api_id = str(api_id).strip()
    found = _fields.get(api_id)
    if found is not None:
        return found
    body = _lines().get(api_id)
    if body is None:
        return None
    data = json.loads(body)
    found = Fields(tuple(Field(*row) for row in data["request"]),
                   tuple(ResponseField(*row) for row in data["response"]))
    _fields[api_id] = found
    return found


def api_ids() -> list[str]:
    """Every api-id in the catalogue, in file order (sorted)."""
    return list(_lines())


def about() -> list[str]:
    """The catalogue's header: generator, source (package, sha256) and the day the guide was retrieved."""
    text = Path(__file__).with_name("fields.json").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith('"about":'):
            return json.loads(line[len('"about":'):].rstrip(","))
    return []


_observed: dict | None = None


def observed() -> dict:
    """observed.json: ``{"trs": {api-id: {field: {korean, source}}}, "fids": {type: {fid: {name, korean, source}}}}``;
    read on first use. A missing or unreadable file is empty: an unknown field never breaks anything."""
    global _observed
    if _observed is None:
        try:
            data = json.loads(Path(__file__).with_name("observed.json").read_text(encoding="utf-8"))
            _observed = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            _observed = {}
    return _observed


def observed_labels(api_id: str) -> dict[str, str]:
    """Field -> Korean label of the fields seen in ``api_id``'s answers that the guide's tables lack."""
    fields = observed().get("trs", {}).get(str(api_id).strip(), {})
    return {name: str(about.get("korean", "")) for name, about in fields.items() if isinstance(about, dict)}
