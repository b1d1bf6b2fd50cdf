"""Kiwoom's real-time wire: the WebSocket URLs and their rules, REG / REMOVE frames, codes in answers.

Stdlib only (orjson decodes frames when installed: the ``fast`` extra); no I/O. The socket (kiwoom_nb.live._socket)
and the streams (kiwoom_nb.live._stream) build their frames here.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from ..auth._client import _is_loopback, _normal
from .._errors import KiwoomError, one_line
from ._reading import SEP

__all__ = ["MOCK_WS_URL", "PRODUCTION_WS_URL", "read_frame", "reg_frame", "resolve_ws_url"]

PRODUCTION_WS_URL = "wss://api.kiwoom.com:10000/api/dostk/websocket"
MOCK_WS_URL = "wss://mockapi.kiwoom.com:10000/api/dostk/websocket"
PATHS = {"domestic": "/api/dostk/websocket", "us": "/api/us/websocket"}
_CODE = re.compile(r"CODE=(\d+)")
#: a text frame longer than this (characters) is skipped as bad; a connection ends over a message of MAX_MESSAGE bytes
MAX_FRAME = 1 << 20
MAX_MESSAGE = 1 << 24
#: the key read_frame adds to a REAL message: its entries' values, each joined by SEP
JOINED = "\x00joined"
#: every trnm Kiwoom sends on the real-time socket (US condition search: the same with a "G" in front)
TRNMS = frozenset({"LOGIN", "PING", "SYSTEM", "REAL", "REG", "REMOVE", "CNSRLST", "CNSRREQ", "CNSRCLR",
                   "GCNSRLST", "GCNSRREQ", "GCNSRCLR"})


def resolve_ws_url(ws_url: str | None, mock: bool, market: str = "domestic",
                   production_url: str | None = None) -> str:
    """The socket to connect to: ``ws_url`` (wss, or ws on a loopback host) or Kiwoom's, with ``market``'s path.

    A mock URL that is Kiwoom's production host or ``production_url`` (KIWOOM_WS_URL) is refused: mock never
    falls back to production.
    """
    if market not in PATHS:
        raise KiwoomError(f"market={market!r}: use market='domestic' or market='us'")
    from ..auth._checks import check_url

    url = check_url("ws_url", ws_url or (MOCK_WS_URL if mock else PRODUCTION_WS_URL), ("wss", "ws"), PRODUCTION_WS_URL)
    parts = urlsplit(url)
    if parts.scheme == "ws" and not _is_loopback(parts.hostname):
        raise KiwoomError(f"refusing plain ws to {parts.hostname}: the token would travel unencrypted; use wss "
                          "(ws is allowed only for localhost / 127.0.0.1 test servers)")
    base = url
    for path in PATHS.values():
        if base.endswith(path):
            base = base[: -len(path)]
    if mock and (parts.hostname == urlsplit(PRODUCTION_WS_URL).hostname or production_url and
                 _normal(_strip(production_url)) == _normal(base)):
        raise KiwoomError(f"mock trading was asked for, but {url} is the production WebSocket; leave it out for "
                          "mockapi.kiwoom.com, or set KIWOOM_MOCK_WS_URL to a mock server")
    return base + PATHS[market]


def _strip(url: str) -> str:
    url = url.strip().rstrip("/")
    for path in PATHS.values():
        if url.endswith(path):
            return url[: -len(path)]
    return url


def reg_frame(items: list[str], kind: str, trnm: str = "REG") -> dict[str, Any]:
    frame: dict[str, Any] = {"trnm": trnm, "grp_no": "1"}
    if trnm == "REG":
        frame["refresh"] = "1"  # keep what is registered already
    frame["data"] = [{"item": items, "type": [kind]}]
    return frame


def read_frame(text: Any) -> tuple[dict[str, Any] | None, str]:
    """One frame as received (a text frame's str or UTF-8 bytes) -> (the message, or None to skip it; why it is bad,
    or "").

    Checked for shape before use: a text frame of at most MAX_FRAME characters holding a JSON object with a known
    ``trnm``; a REAL's ``data`` a list of entries, each with ``type`` and ``item`` strings and ``values`` an object of
    strings. Bad REAL entries are left out (the others are kept) and the frame is still called bad.
    """
    if type(text) is bytes:
        if len(text) > MAX_FRAME and len(text.decode(errors="replace")) > MAX_FRAME:  # characters, as for a str
            return None, f"a frame over {MAX_FRAME:,} characters"
        if _loads is json.loads:  # json reads bytes its own way (a BOM, UTF-16): as the str they stand for
            text = _text(text)
            if text is None:
                return None, "not JSON"
    elif type(text) is not str:
        return None, "a binary frame"
    elif len(text) > MAX_FRAME:
        return None, f"a frame over {MAX_FRAME:,} characters"
    try:
        message = _loads(text)
    except (ValueError, RecursionError):  # orjson refuses what json takes (lone surrogates, huge ints): json decides
        text = _text(text)
        if text is None:  # not UTF-8
            return None, "not JSON"
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return None, "not JSON"
    if not isinstance(message, dict):
        return None, "not a JSON object"
    trnm = message.get("trnm")
    if not isinstance(trnm, str) or trnm not in TRNMS:
        return None, "an unknown trnm"
    if trnm != "REAL":  # rare: json's reading (orjson makes an int beyond 64 bits a float)
        if _loads is json.loads:
            return message, ""
        try:
            return json.loads(_text(text)), ""  # orjson read it: UTF-8, so a str
        except (ValueError, RecursionError):  # nested deeper than json goes (orjson goes to 1024)
            return None, "not JSON"
    data = message.get("data")
    if not isinstance(data, list):
        return None, "a REAL without a list of entries"
    try:  # the usual frame in one pass; any odd entry sends the whole frame the careful way
        joined = [SEP.join(entry["values"].values()) if type(entry["type"]) is str and type(entry["item"]) is str
                  and type(entry["values"]) is dict else None for entry in data]
    except (TypeError, KeyError, AttributeError):
        joined = [_joined(entry) for entry in data]
    if None not in joined:
        message[JOINED] = joined
        return message, ""
    good = [(entry, text) for entry, text in zip(data, joined) if text is not None]
    return ({"trnm": "REAL", "data": [entry for entry, _ in good], JOINED: [text for _, text in good]},
            "REAL entries without type / item / values (an object of strings)")


def _text(text: str | bytes) -> str | None:
    """A text frame as str (its bytes decoded as UTF-8, strictly), or None when they are not UTF-8."""
    if type(text) is str:
        return text
    try:
        return text.decode()
    except UnicodeDecodeError:
        return None


def _fastest_loads() -> Any:
    """orjson.loads when installed (about twice as fast on Kiwoom's frames), else json.loads."""
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


_loads = _fastest_loads()


def _joined(entry: Any) -> str | None:
    """An entry's values joined by SEP (what a buffered row keeps, _reading.compact), or None for an entry without
    ``type`` and ``item`` strings and ``values`` an object of strings."""
    if type(entry) is not dict:
        return None
    values = entry.get("values")
    if not (type(entry.get("type")) is str and type(entry.get("item")) is str and type(values) is dict):
        return None
    try:
        return SEP.join(values.values())  # every value a string (a decoder makes no str subclass); faster than type()
    except TypeError:
        return None


def _chunks(items: list[str], size: int = 100) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[""]]


def _quiet_logger() -> logging.Logger:
    """websockets' logger for our sockets, never at DEBUG: at DEBUG it logs every frame, the LOGIN (with the token)
    included, and a notebook's ``logging.basicConfig(level=logging.DEBUG)`` must not put the token in a cell."""
    quiet = logging.getLogger("kiwoom_nb.websockets")
    if quiet.level == logging.NOTSET or quiet.level < logging.INFO:
        quiet.setLevel(logging.INFO)
    return quiet


def _code(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _kiwoom_code(message: dict[str, Any]) -> int | None:
    found = _CODE.search(str(message.get("return_msg", "")))
    return int(found.group(1)) if found else None


def _reason(exc: BaseException) -> str:
    text = one_line(str(exc) or type(exc).__name__, 160)
    return text if text != "None" else type(exc).__name__
