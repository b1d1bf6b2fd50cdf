"""AccessToken: the token as a str with a masked repr, and Korea-time expiry parsing; Login: one token with what
refreshing and revoking it need (its variable, keys, source), as a session tracks it.

Stdlib only; no I/O. The raw value is only ever produced by str(), f-strings and string operations.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["KST", "AccessToken", "Login", "parse_expires_dt"]

#: Korea Standard Time: UTC+9 all year (Korea has no daylight saving), so a fixed offset is exact
#: and needs no tz database (often missing on Windows).
KST = timezone(timedelta(hours=9), "KST")


def parse_expires_dt(value: str) -> datetime:
    """Parse Kiwoom's ``expires_dt`` (``YYYYMMDDHHMMSS``, Korea wall-clock time) to an aware datetime."""
    text = str(value).strip()
    if len(text) != 14 or not text.isdigit():
        raise ValueError("expires_dt is not YYYYMMDDHHMMSS")
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=KST)


def mask(value: str) -> str:
    """Show at most the last 4 characters of a secret."""
    return "…" + value[-4:] if len(value) > 8 else "…"


class AccessToken(str):
    """A Kiwoom access token: a ``str`` holding the raw value, plus what Kiwoom said about it.

    ``str(token)`` and f-strings give the raw value (``f"Bearer {token}"``); ``repr()`` and rich
    displays show only the last 4 characters, so echoing the variable in a cell does not leak it.
    """

    token_type: str
    mock: bool
    expires_at: datetime

    def __new__(cls, value: str, *, expires_at: datetime, token_type: str = "Bearer", mock: bool = False):
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        self = super().__new__(cls, value)
        self.token_type = "Bearer" if token_type.lower() == "bearer" else token_type
        self.mock = bool(mock)
        self.expires_at = expires_at
        return self

    @property
    def value(self) -> str:
        """The raw token as a plain ``str``."""
        return str.__str__(self)

    @property
    def environment(self) -> str:
        return "mock" if self.mock else "production"

    @property
    def authorization(self) -> str:
        """The ``authorization`` header value: ``Bearer <token>``."""
        return f"{self.token_type} {self.value}"

    def expires_in(self, now: datetime | None = None) -> timedelta:
        """Time left until expiry (negative once expired)."""
        return self.expires_at - (now or datetime.now(timezone.utc))

    def is_expired(self, margin: float | timedelta = 0, now: datetime | None = None) -> bool:
        """True if the token expires within ``margin`` (seconds or a timedelta)."""
        if not isinstance(margin, timedelta):
            margin = timedelta(seconds=margin)
        return self.expires_in(now) <= margin

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"<AccessToken {self.environment} {mask(self.value)} expires {self.expires_at.astimezone(KST):%Y-%m-%d %H:%M} KST>"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        import html

        return f"<code>{html.escape(repr(self))}</code>"

    def __reduce__(self):
        return (_rebuild, (self.value, self.expires_at, self.token_type, self.mock))


def _rebuild(value: str, expires_at: datetime, token_type: str, mock: bool) -> AccessToken:
    return AccessToken(value, expires_at=expires_at, token_type=token_type, mock=mock)


def format_left(delta: timedelta) -> str:
    """``23h 59m`` style time left; ``expired`` once past."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "expired"
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {rest % 60:02d}s"


class Login:
    """One tracked token and what is needed to refresh and revoke it. The repr shows no secret.

    A plain class rather than a dataclass: generating one costs ~0.4 ms of every ``%load_ext``.
    Equality is identity.
    """

    def __init__(self, var: str, token: AccessToken, source: str, base_url: str | None, appkey: str,
                 secretkey: str, retry_at: float = 0.0, *, transport: Any = None, timeout: float | None = None) -> None:
        self.var = var
        self.token = token
        self.source = source
        self.base_url = base_url
        self.appkey = appkey
        self.secretkey = secretkey
        self.retry_at = retry_at  # epoch seconds; no refresh attempt before this
        # A Client's or Stream's own: its transport and timeout (None: the session's). A token behind an
        # in-process transport is not told to the revoker process, which could not reach it.
        self.transport = transport
        self.timeout = timeout
        self.note: str | None = None  # a warning to show with this login (the replaced token could not be revoked)

    def __repr__(self) -> str:
        return (f"Login(var={self.var!r}, token={self.token!r}, source={self.source!r}, "
                f"base_url={self.base_url!r}, retry_at={self.retry_at!r})")

    @property
    def mock(self) -> bool:
        return self.token.mock

    def same_keys(self, appkey: str, secretkey: str, mock: bool, base_url: str | None) -> bool:
        return (self.appkey, self.secretkey, self.mock, self.base_url) == (appkey.strip(), secretkey.strip(), mock, base_url)

    def due_at(self, margin: float) -> float:
        return max(self.token.expires_at.timestamp() - margin, self.retry_at)
