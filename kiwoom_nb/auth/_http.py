"""The HTTP under every request to Kiwoom: pooled httpx clients (one per transport), and the one-line KiwoomError
for a network failure, with the keys and the token scrubbed from whatever the exception said.

Knows no api-id, path or answer (kiwoom_nb.auth._client's); no printing. httpx is imported at the first request.
"""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._errors import KiwoomError, KiwoomTimeout, NetworkError, one_line

if TYPE_CHECKING:
    import httpx

# One client per transport, reused so warm logins keep their connection and skip building
# a TLS context (~10 ms) each time. At most _KEEP of them, least recently used out; closing one closes
# its transport (as httpx does), and waits until no request is using it. All closed at exit.
_KEEP = 8
_clients: "OrderedDict[int, _Shared]" = OrderedDict()
_clients_lock = threading.Lock()


class _Shared:
    """One cached httpx.Client, and how many requests are using it right now."""

    def __init__(self, transport: Any, client: "httpx.Client") -> None:
        self.transport, self.client, self.users, self.retired = transport, client, 0, False

    def post(self, *args: Any, **kwargs: Any) -> "httpx.Response":
        try:
            return self.client.post(*args, **kwargs)
        finally:
            with _clients_lock:
                self.users -= 1
                close = self.retired and not self.users
            if close:
                self.client.close()


def _client_for(transport: "httpx.BaseTransport | None") -> _Shared:
    """The cached client for ``transport``, counted as in use until its ``post`` returns: call ``post`` once."""
    idle = []
    with _clients_lock:
        key = id(transport)
        shared = _clients.get(key)  # it holds ``transport``: no other object can have its id meanwhile
        if shared is None:
            import httpx

            shared = _clients[key] = _Shared(transport, httpx.Client(transport=transport))
        _clients.move_to_end(key)
        shared.users += 1
        while len(_clients) > _KEEP:
            old = _clients.popitem(last=False)[1]
            if _retire(old):
                idle.append(old)
    for old in idle:
        old.client.close()
    return shared


def _retire(shared: _Shared) -> bool:
    """Mark ``shared`` for closing (with _clients_lock held); True if nothing uses it, so it can close now."""
    shared.retired = True
    return not shared.users


def _close_all() -> None:
    """At exit (registered on import, before any Client's revoke, so it runs after them): close every
    cached client not in use; one in use closes when its request ends, and a later call makes a new one."""
    with _clients_lock:
        idle = [shared for shared in _clients.values() if _retire(shared)]
        _clients.clear()
    for shared in idle:
        shared.client.close()


atexit.register(_close_all)


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _network_failure(exc: Exception, what: str, url: str, api_id: str, secrets: tuple[str, ...],
                     timeout: float) -> KiwoomError:
    """The KiwoomError for an httpx failure: a scrubbed one-line reason, and no reference to ``exc``."""
    import httpx

    host = urlsplit(url).netloc
    if isinstance(exc, httpx.TimeoutException):
        return KiwoomTimeout(f"{what} failed: no answer from {host} within {timeout:g} s; "
                             "check the network, or try again later", api_id=api_id)
    reason = one_line(_scrub(str(exc) or type(exc).__name__, secrets), 160)
    if "CERTIFICATE_VERIFY_FAILED" in reason or "SSL" in reason:
        advice = "the TLS certificate could not be verified (is a proxy intercepting HTTPS?)"
    elif "Name or service not known" in reason or "nodename nor servname" in reason or "getaddrinfo" in reason:
        advice = "the host name did not resolve; check the network connection and the base URL"
    else:
        advice = "check the network connection"
    return NetworkError(f"{what} failed: could not reach {host} ({reason}); {advice}", api_id=api_id)
