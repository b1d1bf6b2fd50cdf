"""Arguments checked before anything is sent: api-ids, stock codes, dates in TR fields, typed options.

Each bad value raises one KiwoomError line naming the argument and what it takes. Stdlib only, no I/O: a
pandas.Timestamp is a datetime, so dates need no pandas.
"""

from __future__ import annotations

import numbers
import re
from datetime import date, datetime
from typing import Any

from .._errors import KiwoomError, RequestError

__all__ = ["MAX_MARGIN", "MAX_PACE", "MAX_PAGES", "MAX_RATE", "MAX_ROWS", "MAX_WAIT", "check_api_id", "check_code", "check_flag", "check_number", "check_url", "date_field"]

#: A KRX short code: six digits and capital letters with at least one digit (005930, 0106J0), an A / J / Q before it
#: as account TRs write it (A005930), and a market suffix (_NX Nextrade, _AL smart routing).
_KRX_CODE = re.compile(r"[AJQ]?(?=[A-Z]*\d)[0-9A-Z]{6}(?:_(?:NX|AL))?")
#: Looks like a number someone meant as a code (5930, 0059300, 5930_NX): refused rather than sent or looked up.
_DIGITS = re.compile(r"\d+(?:_[0-9A-Z]+)?")
_API_ID = re.compile(r"[A-Za-z0-9_]{1,20}")
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: A host name as a URL carries it: dot-separated labels of ASCII letters, digits, "-" and "_" (a trailing dot too).
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_HOST = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?")
#: Looks like an IPv4 address (as httpx decides): then it must be one.
_IPV4_LIKE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")


def check_api_id(value: Any) -> str:
    """``value`` stripped: an api-id is a short ASCII name (ka10001, au10001, usa06011)."""
    if isinstance(value, str) and _API_ID.fullmatch(value.strip()):
        return value.strip()
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise KiwoomError(f"api_id={shown}: an api-id is a short ASCII name such as 'ka10001'; "
                      "kiwoom_nb.find_trs() (%kiwoom --find) searches them — nothing was sent")


def check_code(value: Any, what: str = "stk_cd", *, us: bool = False, items: bool = False) -> str:
    """``value`` stripped, if it can name a stock: a string, not empty; a domestic one that is all digits must be a
    KRX code of six (a name, 삼성전자, is looked up by the caller). ``items``: "|"-joined codes are several.

    The one check of codes for TR fields, ``candles`` and ``watch``: an int (5930) has lost its leading zeros, so it is
    refused rather than guessed.
    """
    example = "'AAPL'" if us else "'005930'"
    if not isinstance(value, str):
        hint = ""
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1_000_000 and not us:
            hint = f" (as a string: '{value:06d}')"
        raise KiwoomError(f"{what}={value!r}: a stock code is a string such as {example}{hint}, or the stock's name "
                          "— nothing was sent")
    text = value.strip()
    for part in text.split("|") if items else [text]:
        part = part.strip()
        if not part:
            raise KiwoomError(f"{what}={value!r}: empty; pass a stock code such as {example}, or the stock's name "
                              "— nothing was sent")
        if not us and _DIGITS.fullmatch(part) and not _KRX_CODE.fullmatch(part):
            raise KiwoomError(f"{what}={part!r} is not a KRX code: six digits and capital letters (005930, 0106J0), "
                              "optionally _NX or _AL — nothing was sent")
    return text


def date_field(api_id: str, name: str, value: Any, *, check: bool = True) -> Any:
    """A TR field the catalogue types as a date (YYYYMMDD) as Kiwoom takes it: a date, datetime or pandas.Timestamp
    and "2024-01-01" become "20240101"; "20240101" (or 20240101) stays. Anything else raises, unless ``check`` is
    False (then it is sent as it is)."""
    text = None
    if isinstance(value, date):  # datetime and pandas.Timestamp too
        try:
            text = value.strftime("%Y%m%d")
        except ValueError:  # pandas.NaT
            text = None
        if text is not None and len(text) == 8:  # strftime writes year 999 as 999: no YYYYMMDD
            return text
        text = None
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
    if text == "":
        return value  # a blank optional field: Kiwoom's documented default (a required one is caught as missing)
    if text is not None:
        found = _ISO_DAY.fullmatch(text)
        day = "".join(found.groups()) if found else text
        if len(day) == 8 and day.isdigit():
            try:
                datetime.strptime(day, "%Y%m%d")
                return day
            except ValueError:
                pass
    if not check:
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise RequestError(f"{api_id}: {name}={shown} is not a date: {name} takes YYYYMMDD ('20240101'), '2024-01-01', "
                       "or a datetime.date / pandas.Timestamp — nothing was sent", api_id=api_id)


#: the longest wait (seconds) a timeout may ask for: the OS's waits overflow past ~24 days (epoll: 2**31 ms)
MAX_WAIT = 1_000_000.0
#: the most a refresh margin may be (12 h): a token lives about a day, so a longer one re-issues at nearly every call
MAX_MARGIN = 43_200.0
#: requests per second per TR a pace may allow (Kiwoom allows about 5)
MAX_PACE = 1_000.0
#: rows a stream may keep per type, and pages a fetch may ask for: far past any memory, short of an overflow
MAX_ROWS, MAX_PAGES = 10_000_000, 1_000_000
#: updates per second a live board may send to the browser
MAX_RATE = 100.0


def check_number(name: str, value: Any, *, minimum: float = 0.0, none: bool = False, integer: bool = False,
                 maximum: float | None = None) -> Any:
    """``value`` if it is a finite number (an int where ``integer``) of at least ``minimum`` (None where ``none``),
    and at most ``maximum`` when given (timeouts: MAX_WAIT, as a huge one would overflow the waits)."""
    import math

    if value is None and none:
        return value
    kind = numbers.Integral if integer else numbers.Real  # numpy's numbers too
    finite = isinstance(value, numbers.Integral) or isinstance(value, numbers.Real) and math.isfinite(value)
    if isinstance(value, bool) or not isinstance(value, kind) or not finite or value < minimum \
            or (maximum is not None and value > maximum):
        most = f" and at most {maximum:,.0f}" if maximum is not None else ""
        raise KiwoomError(f"{name}={value!r}: {'a whole number' if integer else 'a number'} of at least {minimum:g}{most}{' or None' if none else ''} "
                          f"(e.g. {name}={10 if integer else 10.0}) — nothing was sent")
    return value


def check_flag(name: str, value: Any) -> bool:
    """``value`` if it is True or False."""
    if not isinstance(value, bool):
        raise KiwoomError(f"{name}={value!r}: True or False — nothing was sent")
    return value


def check_url(name: str, value: Any, schemes: tuple[str, ...] = ("https", "http"),
              example: str = "https://api.kiwoom.com") -> str:
    """``value`` without blanks around it and a trailing "/", if a request can go there: one of ``schemes``, a host
    (an ASCII name, an IPv4 address, or an IPv6 one in brackets), a port of 1-65535 if any, a path, and no user name,
    password, query or fragment. Otherwise one line naming ``name`` — before anything is sent."""
    import ipaddress
    from urllib.parse import urlsplit

    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."

    def refuse(why: str) -> KiwoomError:
        return KiwoomError(f"{name}={shown} is not a URL kiwoom_nb can use ({why}); use one such as {example!r}"
                           " — nothing was sent")

    if not isinstance(value, str):
        raise KiwoomError(f"{name}={shown}: a URL string such as {example!r}, or None — nothing was sent")
    url = value.strip().rstrip("/")
    if not url.isascii() or not url.isprintable() or any(c.isspace() for c in url):
        raise refuse("write it in ASCII, without spaces; a host in another script in its xn-- form")
    try:
        parts = urlsplit(url)
    except ValueError:  # brackets unbalanced, or around something that is no IPv6 address
        raise refuse("[brackets] hold an IPv6 address, such as [::1]") from None
    if parts.scheme.lower() not in schemes:
        raise refuse(f"it must start with {' or '.join(s + '://' for s in schemes)}")
    if "@" in parts.netloc:
        raise refuse("a user name or password in it; keys are never part of a URL")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise refuse("a query or fragment in it")
    authority = parts.netloc
    end = authority.find("]") + 1 if authority.startswith("[") else len(authority.partition(":")[0])
    host, port = authority[:end], authority[end:]
    if port and not (port[0] == ":" and port[1:].isdigit() and 0 < int(port[1:]) < 65536):
        raise refuse("its port must be a number from 1 to 65535")
    try:
        if host.startswith("["):
            ipaddress.IPv6Address(host[1:-1])
        elif _IPV4_LIKE.fullmatch(host):
            ipaddress.IPv4Address(host)
        elif not _HOST.fullmatch(host):
            raise ValueError(host)
        elif any(label.lower().startswith("xn--") for label in host.split(".")):  # httpx decodes these: they must be
            import idna  # IDNA's A-labels (httpx brings idna)

            idna.decode(host)
    except ValueError:  # IDNAError is a UnicodeError, a ValueError
        raise refuse(f"{host!r} is not a host name or address" if host else "no host in it") from None
    return url
