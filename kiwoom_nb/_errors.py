"""The KiwoomError tree and the mapping from Kiwoom's answers to it.

Stdlib only. Messages are one line, say what to do next, and never carry a key or a token.

    KiwoomError
     ├── CredentialsError         wrong, missing or blank app key / secret key (8001 8002 8011 8012 8020)
     ├── EnvironmentMismatchError keys or token of the other environment (8030 8031)
     ├── TokenError               the token is invalid, expired or revoked (8003 8005 8006 8009 8015 8016)
     ├── AccessDeniedError        IP or device authentication (8010 8040 8050 8103)
     ├── RateLimitError           too many requests (HTTP 429, return_code 5, 1700-1702)
     ├── RequestError             the request itself is wrong (1501-1517 input, 1634 too many items, 1687)
     │    └── UnknownStockError   unknown market or stock code (1901-1903)
     ├── NotSupportedError        not offered here: mock trading (8104, 1999) or corporate customers (8200)
     ├── OrderNotConfirmed        a production order without confirm=True: nothing was sent
     ├── ServerError              HTTP 5xx, an HTML page, an unreadable answer
     ├── NetworkError             the request did not complete (refused, DNS, TLS)
     │    └── KiwoomTimeout       no answer within the timeout
     └── KeyringUnavailableError  no secure OS keyring to save keys in, or it failed or did not answer
"""

from __future__ import annotations

import re

__all__ = [
    "AccessDeniedError",
    "CredentialsError",
    "EnvironmentMismatchError",
    "KiwoomError",
    "KeyringUnavailableError",
    "KiwoomTimeout",
    "NetworkError",
    "NotSupportedError",
    "OrderNotConfirmed",
    "RateLimitError",
    "RequestError",
    "ServerError",
    "TokenError",
    "UnknownStockError",
]


class KiwoomError(Exception):
    """Base of every kiwoom_nb error; context is carried as attributes, never parsed from the text."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        return_code: int | None = None,
        return_msg: str | None = None,
        status_code: int | None = None,
        api_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.return_code = return_code
        self.return_msg = return_msg
        self.status_code = status_code
        self.api_id = api_id

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message already says what to do.
        return [f"{type(self).__name__}: {self}"]


class CredentialsError(KiwoomError):
    """The app key or secret key is wrong, missing or blank."""


class EnvironmentMismatchError(KiwoomError):
    """The keys or token belong to the other environment (production vs mock)."""


class TokenError(KiwoomError):
    """The token is invalid, expired, already revoked, or could not be created."""


class AccessDeniedError(KiwoomError):
    """The request came from another IP, or device authentication failed."""


class RateLimitError(KiwoomError):
    """Kiwoom refused the request because too many were sent."""


class RequestError(KiwoomError):
    """Kiwoom refused the request as written: a missing or malformed field, an unknown api-id, too many items."""


class UnknownStockError(RequestError):
    """The market or stock code is not known to Kiwoom."""


class NotSupportedError(KiwoomError):
    """The TR is not offered in this environment (mock trading) or to this kind of customer."""


class OrderNotConfirmed(KiwoomError):
    """A production order was not sent because ``confirm=True`` (``--confirm``) was not given; the message says
    what would have been sent (``Client.preview`` gives the same line)."""


class ServerError(KiwoomError):
    """Kiwoom answered with an error page or something that is not a usable answer."""


class NetworkError(KiwoomError):
    """The request did not reach Kiwoom or no answer came back."""


class KiwoomTimeout(NetworkError):
    """No answer came within the timeout."""


class KeyringUnavailableError(KiwoomError):
    """Keys could not be saved in (or removed from) the OS keyring: none is secure here, or it failed."""


# code -> (class, what to do); the Korean return_msg is kept on the exception, not repeated here.
_CODES: dict[int, tuple[type[KiwoomError], str]] = {}


def _register(codes: tuple[int, ...], cls: type[KiwoomError], advice: str) -> None:
    for code in codes:
        _CODES[code] = (cls, advice)


_register(
    (8001, 8002, 8011, 8012, 8020),
    CredentialsError,
    "the app key or secret key was rejected; check both keys in Kiwoom's Open API portal and log in again",
)
_register(
    (8030, 8031),
    EnvironmentMismatchError,
    "the keys belong to the other environment; switch between production (실전투자) and mock (모의투자, --mock) "
    "or use that environment's keys",
)
_register(
    (8003, 8005, 8006, 8009, 8015, 8016),
    TokenError,
    "the token is invalid, expired or already revoked; log in again to get a new one",
)
_register(
    (8010,),
    AccessDeniedError,
    "the token was issued to another IP address (did the network change?); log in again with --force",
)
_register(
    (8040, 8050, 8103),
    AccessDeniedError,
    "device (terminal) authentication failed; register this machine's IP for the app key in Kiwoom's portal",
)
_register(
    (1700, 1701, 1702),
    RateLimitError,
    "too many requests; wait a few seconds and try again",
)

_register(
    (1501, 1512, 1513, 1514, 1515, 1516),
    RequestError,
    "Kiwoom could not read the request (api-id or header missing or malformed)",
)
_register((1504,), RequestError, "this api-id is not served at this URL; pass the right path= for it")
_register((1505,), RequestError, "Kiwoom does not know this api-id; check it with kiwoom_nb.find_trs() (or %kiwoom --find)")
_register(
    (1511, 1517),
    RequestError,
    "a field is missing or has the wrong format; add or fix the field Kiwoom names",
)
_register(
    (1634,),
    RequestError,
    "too many items in one request (not a rate limit, so it is not retried); send fewer items per call",
)
_register((1687,), RequestError, "Kiwoom blocked a recursive call; send the requests one after another")
_register(
    (1901, 1902, 1903),
    UnknownStockError,
    "unknown market or stock code; check stk_cd (e.g. 005930, 005930_NX, 005930_AL)",
)
_register((8104,), NotSupportedError, "this TR is not offered in mock trading (모의투자); use production")
_register(
    (1999,),
    NotSupportedError,
    "Kiwoom reported an unexpected error, which it also answers for TRs not offered in mock trading; "
    "try production, or again later",
)
_register((8200,), NotSupportedError, "this TR is not offered to corporate customers")

_EMBEDDED_CODE = re.compile(r"\[(\d{4})\s*[:\]]")  # [1700:…] and also [1634] with no colon


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def status_of(answer: dict) -> tuple[object, object]:
    """(return_code, return_msg) of an answer, also when written ``returnCode`` / ``returnMsg`` (two of the guide's
    examples); the message without the spaces around it (Kiwoom sends " 조회가 완료되었습니다." too)."""
    code = answer.get("return_code", answer.get("returnCode", 0))
    msg = answer.get("return_msg", answer.get("returnMsg"))
    return code, msg.strip() if isinstance(msg, str) else msg


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace so a message stays one line, and cut it to a readable length."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_for_answer(
    what: str,
    *,
    return_code: object,
    return_msg: object,
    status_code: int,
    api_id: str | None,
) -> KiwoomError:
    """Build the error for a Kiwoom answer whose return_code is not 0 (or whose HTTP status is 429)."""
    rc = _as_int(return_code)
    msg = one_line(return_msg) if isinstance(return_msg, str) else ""
    found = _EMBEDDED_CODE.search(msg)
    code = int(found.group(1)) if found else (rc if rc is not None and rc >= 1000 else None)
    if code in _CODES:
        cls, advice = _CODES[code]
    elif status_code == 401:
        cls, advice = TokenError, "Kiwoom refused the token (HTTP 401); log in again to get a new one"
    elif status_code == 429 or rc == 5:
        cls, advice = RateLimitError, "too many requests; wait a few seconds and try again"
    elif status_code >= 500:
        cls, advice = ServerError, f"Kiwoom answered HTTP {status_code}; try again later"
    else:
        cls, advice = KiwoomError, "see the message from Kiwoom"
    shown = f"[{code}] " if code is not None and f"{code}" not in msg else ""
    detail = f" (Kiwoom: {shown}{msg})" if msg else (f" (Kiwoom code {code})" if code else "")
    return cls(
        f"{what} failed: {advice}{detail}",
        code=code,
        return_code=rc,
        return_msg=msg or None,
        status_code=status_code,
        api_id=api_id,
    )
