"""au10001 (issue) and au10002 (revoke) over httpx: Kiwoom's wire names live here and nowhere else.

No printing, no environment, no files. Every failure leaves as a KiwoomError, translated once here,
with the keys and the token scrubbed from anything the server echoed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._errors import (
    CredentialsError,
    KiwoomError,
    NotSupportedError,
    RateLimitError,
    RequestError,
    ServerError,
    UnknownStockError,
    error_for_answer,
    status_of,
)
from ._token import AccessToken, parse_expires_dt

if TYPE_CHECKING:
    import httpx

__all__ = ["MOCK_URL", "PRODUCTION_URL", "configured", "is_mock_destination", "issue_token", "post_tr", "resolve_base_url",
           "revoke_token"]

PRODUCTION_URL = "https://api.kiwoom.com"
MOCK_URL = "https://mockapi.kiwoom.com"
_CONTENT_TYPE = "application/json;charset=UTF-8"

#: The settings a base URL or WebSocket is read from when none is given, by environment (mock: True), as
#: %kiwoom_login reads them (its traits' defaults): scripts and magics follow the same exports.
BASE_URL_SETTINGS = {False: "KIWOOM_BASE_URL", True: "KIWOOM_MOCK_BASE_URL"}
WS_URL_SETTINGS = {False: "KIWOOM_WS_URL", True: "KIWOOM_MOCK_WS_URL"}


def configured(value: str | None, mock: bool, settings: dict[bool, str] = BASE_URL_SETTINGS) -> str | None:
    """``value`` when given (an explicit argument wins), else ``mock``'s setting from the environment, else None
    (Kiwoom's own host). Mock never borrows production's setting."""
    import os

    return value or os.environ.get(settings[mock], "").strip() or None


def resolve_base_url(base_url: str | None, mock: bool, *, revoke: bool = False) -> str:
    """The domain to call: ``base_url`` if given (https, or http on a loopback host), else Kiwoom's.

    A mock base URL that is a known production one is refused (except to revoke a token where it was
    issued); a production login that succeeds makes its base URL one (:func:`issue_token`).
    """
    if not base_url:
        return MOCK_URL if mock else PRODUCTION_URL
    import os

    from ._checks import check_url

    setting = BASE_URL_SETTINGS[mock]
    url = check_url(setting if os.environ.get(setting, "").strip() == base_url.strip() else "base_url", base_url)
    parts = urlsplit(url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise KiwoomError(
            f"refusing plain http to {parts.hostname}: keys would travel unencrypted; use https "
            "(http is allowed only for localhost / 127.0.0.1 test servers)"
        )
    if mock and not revoke and _is_production(url):
        raise KiwoomError(
            f"mock trading was asked for, but {url} is a production server ({_why_production(url)}); "
            "leave the base URL out for mockapi.kiwoom.com, or set KIWOOM_MOCK_BASE_URL to a mock server"
        )
    return url


# -- where a request goes decides whether it can move money ----------------------------------------
# Base URLs a production login succeeded at in this process: they stay production. A failed one is not
# remembered, so the retry its message advises (mock=True there) is not refused for it.
_seen: dict[bool, set[str]] = {False: set()}


def _normal(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # a malformed setting (KIWOOM_BASE_URL=https://[::x]): equal to no URL a request goes to
        return url.strip().lower()
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}{parts.path.rstrip('/')}"


#: Ports a URL may leave out: ``https://mockapi.kiwoom.com:443`` is ``https://mockapi.kiwoom.com``.
_DEFAULT_PORTS = {"https": 443, "http": 80, "wss": 443, "ws": 80}

#: Hosts named as mock destinations in code (``%config KiwoomMagics.mock_hosts``); KIWOOM_MOCK_HOSTS adds to them.
_mock_hosts: set[str] = set()


def _host_port(url: str) -> tuple[str, int | None]:
    """The host of ``url`` (lower case, no trailing dot) and its port, None when it is the scheme's default."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:  # malformed (a port that is not a number): no host a setting could name
        return url.strip().lower(), -1
    return host, None if port == _DEFAULT_PORTS.get(parts.scheme.lower()) else port


def set_mock_hosts(hosts: str | list[str] | tuple[str, ...]) -> None:
    """Name the hosts (``host`` or ``host:port``, comma-separated) that are mock servers besides mockapi.kiwoom.com
    and loopback: a reverse proxy to mock trading, say. Replaces the ones named before."""
    _mock_hosts.clear()
    _mock_hosts.update(_hosts_in(hosts))


def _hosts_in(hosts: str | list[str] | tuple[str, ...]) -> set[str]:
    items = hosts.split(",") if isinstance(hosts, str) else list(hosts)
    return {str(item).strip().lower().rstrip(".") for item in items if str(item).strip()}


def _named_mock(url: str) -> bool:
    import os

    named = _mock_hosts | _hosts_in(os.environ.get("KIWOOM_MOCK_HOSTS", ""))
    host, port = _host_port(url)
    port = port or _DEFAULT_PORTS.get(urlsplit(url.strip()).scheme.lower())
    return host in named or f"{host}:{port}" in named


def _why_production(url: str) -> str:
    import os

    if _host_port(url)[0] == urlsplit(PRODUCTION_URL).hostname:
        return "Kiwoom's production host"
    configured = os.environ.get("KIWOOM_BASE_URL", "")
    if configured and _normal(configured) == _normal(url):
        return "it is KIWOOM_BASE_URL"
    return "it was used for production in this process"


def _is_production(url: str) -> bool:
    import os

    normal = _normal(url)
    configured = os.environ.get("KIWOOM_BASE_URL", "")
    return (_host_port(normal)[0] == urlsplit(PRODUCTION_URL).hostname or normal in _seen[False]
            or bool(configured) and _normal(configured) == normal)


def is_mock_destination(url: str) -> bool:
    """True only where orders cannot move money: mockapi.kiwoom.com (any case, a trailing dot, its default port),
    a loopback host (a test server), or a host named in KIWOOM_MOCK_HOSTS / ``%config KiwoomMagics.mock_hosts``;
    never a URL known as production. The order guard asks this of the URL a request is about to go to: any other
    host given for mock trading (a proxy, a typo) counts as production.
    """
    if _is_production(url):
        return False
    host, port = _host_port(url)
    if host == urlsplit(MOCK_URL).hostname and port is None:
        return True
    return _is_loopback(host) or _named_mock(url)


def base_url_origin(url: str) -> str:
    """What set a base URL (or a request URL under it), for messages: ``KIWOOM_BASE_URL=…`` or
    ``KIWOOM_MOCK_BASE_URL=…`` (the longer one when both fit), else ``""``."""
    import os

    normal, found = _normal(url), ""
    for name in ("KIWOOM_BASE_URL", "KIWOOM_MOCK_BASE_URL"):
        value = os.environ.get(name, "").strip().rstrip("/")
        if value and (normal == _normal(value) or normal.startswith(_normal(value) + "/")) \
                and len(value) > len(found.partition("=")[2]):
            found = f"{name}={value}"
    return found


def where_sent(url: str) -> str:
    """``sent to <host>``, and what chose that host when it is not Kiwoom's. A wrong address is the usual cause of
    errors that look like wrong keys or tokens (8030 / 8031, 8001, 8005), so those messages name both."""
    import os

    host = urlsplit(url).netloc
    if host == urlsplit(PRODUCTION_URL).netloc:
        return f"sent to {host}"
    if host == urlsplit(MOCK_URL).netloc:
        unset = os.environ.get("KIWOOM_BASE_URL") and not os.environ.get("KIWOOM_MOCK_BASE_URL")
        return f"sent to {host}" + (": KIWOOM_MOCK_BASE_URL is not set (KIWOOM_BASE_URL is production's)"
                                    if unset else "")
    origin = base_url_origin(url)
    return f"sent to {host}, set by {origin}" if origin else \
        f"sent to {host}, a base URL given in code or by %config KiwoomMagics"


def _is_loopback(host: str) -> bool:
    host = host.rstrip(".")
    if host.lower() == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_keys(appkey: object, secretkey: object) -> tuple[str, str]:
    for name, value in (("app key", appkey), ("secret key", secretkey)):
        if not isinstance(value, str) or not value.strip():
            raise CredentialsError(f"the {name} is empty; set KIWOOM_APPKEY and KIWOOM_SECRETKEY or type both keys")
    return appkey.strip(), secretkey.strip()


def _check_timeout(timeout: object) -> None:
    from ._checks import MAX_WAIT, check_number

    check_number("timeout", timeout, minimum=0.001, maximum=MAX_WAIT)


def _post(
    api_id: str,
    what: str,
    path: str,
    body: dict[str, str],
    *,
    mock: bool,
    base_url: str | None,
    timeout: float,
    transport: "httpx.BaseTransport | None",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST one OAuth TR; return its JSON answer and the context for errors, or raise the KiwoomError that fits."""
    secrets = tuple(value for name, value in body.items() if name != "grant_type")
    data, status, headers = post_tr(
        api_id, what, resolve_base_url(base_url, mock, revoke=api_id == "au10002") + path, json.dumps(body).encode(),
        headers={}, secrets=secrets, timeout=timeout, transport=transport,
    )
    return data, {"status_code": status, "api_id": headers.get("api-id") or api_id}


def post_tr(
    api_id: str,
    what: str,
    url: str,
    content: bytes,
    *,
    headers: dict[str, str],
    secrets: tuple[str, ...],
    timeout: float,
    transport: "httpx.BaseTransport | None",
) -> tuple[dict[str, Any], int, Any]:
    """POST a JSON body with Kiwoom's headers plus ``headers``; return (answer, HTTP status, response headers).

    Raises the KiwoomError that fits; ``secrets`` are scrubbed from anything the server echoed.
    """
    import httpx

    from ._http import _client_for, _network_failure, _scrub  # with httpx, at the first request

    failure: KiwoomError | None = None
    try:
        response = _client_for(transport).post(
            url,
            content=content,
            headers={"Content-Type": _CONTENT_TYPE, "api-id": api_id, **headers},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        failure = _network_failure(exc, what, url, api_id, secrets, timeout)
        if where_sent(url) != f"sent to {urlsplit(url).netloc}":  # the host is named already; say what chose it
            failure = _addressed(failure, url)
    if failure is not None:
        # raised here, outside the except block: httpx's exception carries the request (keys, token)
        # and must be neither __cause__ nor __context__ of what the user sees
        raise failure

    status = response.status_code
    answered_id = response.headers.get("api-id") or api_id
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        looks_html = "html" in response.headers.get("content-type", "").lower() or response.text.lstrip().startswith("<")
        if status == 429:
            raise RateLimitError(f"{what} failed: too many requests; wait a few seconds and try again",
                                 status_code=status, api_id=answered_id)
        kind = "an HTML page (maintenance, or a firewall refusing the request?)" if looks_html else "an answer that is not JSON"
        raise _addressed(ServerError(
            f"{what} failed: Kiwoom answered HTTP {status} with {kind}; try again later",
            status_code=status,
            api_id=answered_id,
        ), url)

    return_code, return_msg = status_of(data)
    if status == 429 or str(return_code).strip() not in ("0", ""):
        error = error_for_answer(
            what,
            return_code=return_code,
            # scrub before error_for_answer shortens the text, or a key cut in half would survive
            return_msg=_scrub(return_msg, secrets) if isinstance(return_msg, str) else return_msg,
            status_code=status,
            api_id=answered_id,
        )
        raise _addressed(error, url) if _maybe_misaddressed(error) else error
    if status >= 400:
        raise _addressed(ServerError(
            f"{what} failed: Kiwoom answered HTTP {status}; try again later",
            status_code=status,
            api_id=answered_id,
        ), url)
    return data, status, response.headers


def _maybe_misaddressed(error: KiwoomError) -> bool:
    """Errors a request to the wrong server also gets: keys or tokens refused, an api-id or path unknown there."""
    if isinstance(error, (RateLimitError, UnknownStockError, NotSupportedError)):
        return False
    return not isinstance(error, RequestError) or error.code in (1504, 1505)


def _addressed(error: KiwoomError, url: str) -> KiwoomError:
    """``error`` with where the request went appended to its one line."""
    error.message = f"{error.message} — {where_sent(url)}"
    error.args = (error.message,)
    return error


def issue_token(
    appkey: str,
    secretkey: str,
    *,
    mock: bool = False,
    base_url: str | None = None,
    timeout: float = 10.0,
    transport: "httpx.BaseTransport | None" = None,
) -> AccessToken:
    """Issue an access token (au10001, ``POST /oauth2/token``).

    ``mock=True`` uses the mock-trading domain; ``base_url`` replaces the domain (proxies, test
    servers). Raises a :class:`KiwoomError` subclass on any failure.
    """
    appkey, secretkey = _check_keys(appkey, secretkey)
    _check_timeout(timeout)
    what = "Login (au10001)"
    data, context = _post(
        "au10001",
        what,
        "/oauth2/token",
        {"grant_type": "client_credentials", "appkey": appkey, "secretkey": secretkey},
        mock=mock,
        base_url=base_url,
        timeout=timeout,
        transport=transport,
    )
    value = data.get("token")
    if not isinstance(value, str) or not value.strip():
        raise ServerError(f"{what} failed: Kiwoom's answer has no token; try again later", **context)
    try:
        expires_at = parse_expires_dt(data.get("expires_dt", ""))
    except ValueError:
        raise ServerError(
            f"{what} failed: Kiwoom's answer has an unreadable expires_dt; try again later", **context
        ) from None
    token_type = data.get("token_type") or "Bearer"
    if not mock and base_url:  # a production token came from there: it is production for this process
        _seen[False].add(_normal(resolve_base_url(base_url, False)))
    return AccessToken(value.strip(), expires_at=expires_at, token_type=str(token_type), mock=mock)


def revoke_token(
    appkey: str,
    secretkey: str,
    token: str,
    *,
    mock: bool = False,
    base_url: str | None = None,
    timeout: float = 10.0,
    transport: "httpx.BaseTransport | None" = None,
) -> None:
    """Revoke an access token (au10002, ``POST /oauth2/revoke``); succeeds only on ``return_code`` 0."""
    appkey, secretkey = _check_keys(appkey, secretkey)
    _check_timeout(timeout)
    if not isinstance(token, str) or not str(token).strip():
        raise KiwoomError("Logout (au10002) failed: no token to revoke")
    data, context = _post(
        "au10002",
        "Logout (au10002)",
        "/oauth2/revoke",
        {"appkey": appkey, "secretkey": secretkey, "token": str(token)},
        mock=mock,
        base_url=base_url,
        timeout=timeout,
        transport=transport,
    )
    if str(data.get("return_code", data.get("returnCode", ""))).strip() != "0":  # _post lets a missing or "" return_code through
        raise ServerError("Logout (au10002) failed: Kiwoom's answer has no return_code; try again later",
                          **context)
