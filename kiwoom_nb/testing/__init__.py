"""A fake Kiwoom for tests and demos: au10001 / au10002 (``_oauth``) and the TRs (``_trs``) answered like Kiwoom,
over an httpx transport or a loopback server (``_server``), and the real-time WebSocket (``_ws``) beside them.

Use it as an httpx transport (``FakeKiwoom().transport``) or as a real HTTP server on 127.0.0.1
(``with FakeKiwoom() as server: server.url``). Production lives at ``server.url``, mock trading at
``server.mock_url``; each has its own keys. Stdlib only, except httpx for ``.transport``.

Every TR of the table answers (``_trs``): a few hand-made ones (``_trs.HANDMADE``) for any 6-digit stock code with
made-up, deterministic data (``_stocks``; 000000 and 999999 are the documented unlisted codes, 1902), every other one
in its documented shape with made-up values from the field catalogue (``_synth``). Every price, volume and fill comes
from one market (``_market``: a price path per code, the fake's clock ``FakeKiwoom(clock=...)``, mock orders).
Where Kiwoom's answers were recorded, the fake answers in their shapes: keys, widths, signs, labels and messages
(``_shapes``; tests/fixtures/recorded/): the shape wins for format, the market for values.

With pytest, opt in with ``pytest_plugins = ["kiwoom_nb.testing"]`` for the ``kiwoom_server``
fixture. ``python -m kiwoom_nb.testing`` runs a server with the demo keys until Ctrl-C (``_cli``).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from typing import Any, Callable

from .._token import mask

from . import _oauth, _server, _trs
from ._oauth import _Issued
from ._replies import DEMO_KEYS, ERRORS, _answer, _Reply

__all__ = ["DEMO_KEYS", "ERRORS", "FakeKiwoom", "ReceivedRequest", "wait_until"]


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy (returned), or fail after ``timeout`` seconds.

    For tests: e.g. ``wait_until(lambda: server.revokes, 5, "the revoke at shutdown")``.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)  # a polling interval, not synchronisation: the condition decides


@dataclass
class ReceivedRequest:
    """One request as the server saw it."""

    environment: str  # "production" or "mock"
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it is not JSON
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic())

    @property
    def api_id(self) -> str | None:
        return self.headers.get("api-id")


@dataclass
class FakeKiwoom:
    """Kiwoom's two OAuth endpoints and every TR, with state: which tokens were issued, which are live.

    ``same_token=True`` models the reported behaviour where re-issuing within validity returns the
    same token. ``lifetime`` sets how long issued tokens live. ``fail_next(name)`` queues one of
    :data:`ERRORS` (or ``"hang"`` / ``("slow", seconds)``) for the next request to a path.
    ``clock`` sets the market's clock (an open session by default); ``market`` is where every price, volume and
    mock fill comes from (``market.orders.matching = False`` / ``market.orders.fill(...)`` pace the fills).
    """

    keys: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(DEMO_KEYS))
    same_token: bool = False
    lifetime: timedelta = timedelta(hours=24)
    token_type: str = "bearer"
    requests: list[ReceivedRequest] = field(default_factory=list)
    tokens: list[_Issued] = field(default_factory=list)
    hang_token: bool = False  # never answer au10001
    hang_revoke: bool = False  # never answer au10002
    #: called with one line per request answered (time, environment, api-id, outcome; never a key or a
    #: whole token), e.g. ``FakeKiwoom(log=print)``; ``python -m kiwoom_nb.testing`` and ``make demo`` do
    log: Callable[[str], None] | None = None
    # TRs (_trs): each chart (ka10079-ka10094, usa06010-usa06015) serves at most `candles` rows (None: the market's
    # whole history, back to the code's listing date), `page_size` rows per page
    candles: int | None = None
    page_size: int = 600
    #: the fake market's clock (_market.Clock): None runs an open session from the moment the fake is made (a demo at
    #: night shows live prices); "2026-12-01 08:30" (Korea time) starts it there, e.g. before the open. It runs in real
    #: time; Clock("…", speed=0) holds it still. ``fake.clock.set(...)`` / ``.advance(seconds)`` move it.
    clock: Any = None
    rate_limit: Any = None  # requests per second per api-id: an int, or {api_id or "*": int}; None = unlimited
    mock_unsupported: frozenset = field(default_factory=lambda: frozenset(_trs.MOCK_UNSUPPORTED))
    orders: list[ReceivedRequest] = field(default_factory=list)  # orders (kt10000, ust20000 …) that were accepted
    #: every chart page served: api_id, stk_cd, rows, next_key sent, cont_yn / next_key_in received
    served: list[dict] = field(default_factory=list)
    rate_refusals: int = 0  # 429s answered by the rate limit

    def __post_init__(self) -> None:
        from ._market import Market, as_clock
        from ._stocks import stock

        self.clock = as_clock(self.clock)
        #: every number the fake serves: one price path per code, this clock, the mock order book (_market)
        self.market = Market(self.clock, stock)
        self._lock = threading.Lock()
        self._queued: list[tuple[str | None, Any]] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._windows: dict[str, list[float]] = {}
        self._next_keys: dict[str, tuple] = {}
        self._revoke_countdown: int | None = None
        self._ws: Any = None

    @property
    def ws(self) -> Any:
        """The WebSocket side (kiwoom_nb.testing._ws.FakeSocket): settings ``ping_interval``, ``rate``; faults
        ``drop()``, ``refuse_next_login()``; what it saw: ``received(trnm)``, ``closes``, ``live()``."""
        if self._ws is None:
            from ._ws import FakeSocket

            self._ws = FakeSocket(self)
        return self._ws

    # -- scripting ------------------------------------------------------------------------------

    def revoke_after(self, requests: int) -> None:
        """Revoke the token presented by the ``requests``-th TR request from now, just before checking it (8005)."""
        with self._lock:
            self._revoke_countdown = int(requests)

    def fail_next(self, error: Any, *, path: str | None = None) -> None:
        """Answer the next request (to ``path``, e.g. ``"/oauth2/token"``, or an api-id such as ``"ka10081"``,
        or to any path) with an error.

        ``error`` is a name from :data:`ERRORS`, ``"hang"`` (never answer), or ``("slow", seconds)``.
        """
        slow = isinstance(error, tuple) and len(error) == 2 and error[0] == "slow" and isinstance(error[1], (int, float))
        if not slow and error != "hang" and error not in ERRORS:
            raise ValueError(f"unknown error {error!r}; choose from {sorted(ERRORS)}, 'hang' or ('slow', seconds)")
        with self._lock:
            self._queued.append((path, error))

    # -- what happened --------------------------------------------------------------------------

    def received(self, path: str | None = None) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    @property
    def revokes(self) -> list[ReceivedRequest]:
        return self.received("/oauth2/revoke")

    @property
    def issues(self) -> list[ReceivedRequest]:
        return self.received("/oauth2/token")

    def live_tokens(self) -> list[str]:
        now = datetime.now(timezone.utc)
        with self._lock:
            return [t.value for t in self.tokens if not t.revoked and t.expires_at > now]

    def is_live(self, token: str) -> bool:
        return str(token) in self.live_tokens()

    def summary(self) -> str:
        """What ``make demo`` and ``python -m kiwoom_nb.testing`` print at exit: tokens issued, revoked, still
        live (by environment and last 4 characters, never whole)."""
        now = datetime.now(timezone.utc)
        with self._lock:
            issued, revoked = len(self.tokens), sum(t.revoked for t in self.tokens)
            live = [f"{t.environment} {mask(t.value)}" for t in self.tokens if not t.revoked and t.expires_at > now]
        return (f"The fake Kiwoom issued {issued} token(s) and revoked {revoked}; "
                + (f"still live: {', '.join(live)}" if live else "none still live"))

    # -- the protocol ---------------------------------------------------------------------------

    def _report(self, path: str, headers: dict[str, str], reply: "_Reply") -> None:
        if self.log is None:
            return
        environment = "mock" if path.startswith("/mock/") else "production"
        api_id = reply.headers.get("api-id") or {k.lower(): v for k, v in headers.items()}.get("api-id") or path
        if reply.hang:
            outcome = "no answer (hang)"
        else:
            try:
                answer = json.loads(reply.content)
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                outcome = f"HTTP {reply.status}, not JSON"
            elif str(answer.get("return_code", 0)) == "0":
                outcome = "ok" + (f" (token {mask(answer['token'])})" if answer.get("token") else "")
            else:
                outcome = f"HTTP {reply.status}, return_code {answer.get('return_code')}: {answer.get('return_msg', '')}"
        try:
            self.log(f"{datetime.now():%H:%M:%S} fake Kiwoom {environment:<10} {api_id:<8} {outcome}")
        except Exception:  # noqa: BLE001 - a log line must never break an answer
            pass

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> "_Reply":
        """Record one request and decide the answer (the caller does any hang or delay)."""
        environment = "production"
        if path.startswith("/mock/"):
            environment, path = "mock", path[len("/mock"):]
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = raw.decode("utf-8", "replace")
        api_id = {"/oauth2/token": "au10001", "/oauth2/revoke": "au10002"}.get(path) or (
            headers.get("api-id", "") if path.startswith("/api/") else "")
        with self._lock:
            self.requests.append(ReceivedRequest(environment, method, path, headers, body))
            scripted = next((i for i, (p, _) in enumerate(self._queued) if p in (None, path, api_id)), None)
            error = self._queued.pop(scripted)[1] if scripted is not None else None
        delay = 0.0
        if error == "hang" or (error is None and ((path == "/oauth2/revoke" and self.hang_revoke)
                                                  or (path == "/oauth2/token" and self.hang_token))):
            return _Reply(hang=True)
        if isinstance(error, tuple):  # ("slow", seconds): answer normally, late
            delay, error = float(error[1]), None
        if error is not None:
            return _answer(*ERRORS[error], api_id)
        if method == "POST" and path.startswith("/api/"):
            reply = _trs.answer(self, environment, path, headers, body)
            reply.delay = delay
            return reply
        if method != "POST" or not api_id:
            return _answer(404, {"return_code": 2, "return_msg": "요청한 API를 찾을 수 없습니다"}, "json", api_id)
        if not isinstance(body, dict):
            return _answer(200, {"return_code": 2, "return_msg": "입력 값 오류입니다[1501:JSON 형식이 아닙니다]"}, "json", api_id)
        with self._lock:
            if path == "/oauth2/token":
                payload = _oauth.issue(self, environment, body)
            else:
                payload = _oauth.revoke(self, environment, body)
        reply = _answer(200, payload, "json", api_id)
        reply.delay = delay
        return reply

    # -- as an httpx transport ------------------------------------------------------------------

    @property
    def transport(self):
        """An ``httpx.MockTransport`` answering like this server (a hang raises ``httpx.ReadTimeout``)."""
        import httpx

        def handler(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            if request.url.host.rstrip(".") == "mockapi.kiwoom.com":  # Kiwoom's mock domain is the mock side
                path = "/mock" + path
            reply = self.handle(request.method, path, dict(request.headers), request.read())
            self._report(path, dict(request.headers), reply)
            if reply.hang or reply.delay:  # a transport has no clock of its own: report the timeout
                raise httpx.ReadTimeout("fake Kiwoom did not answer", request=request)
            return httpx.Response(reply.status, headers=reply.headers, content=reply.content)

        return httpx.MockTransport(handler)

    # -- as a real server on loopback -----------------------------------------------------------

    def start(self, port: int = 0, host: str = "127.0.0.1", ws_port: int = 0) -> "FakeKiwoom":
        """Serve on ``port`` (HTTP) and ``ws_port`` (the WebSocket); 0 picks a free one."""
        self._stopping.clear()
        self._server, self._thread = _server.serve(self, port, host)
        try:
            self.ws.start(host, ws_port)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        if self._server is not None:
            server, self._server = self._server, None
            _server.shut_down(server, connections)
        if self._ws is not None:
            self._ws.stop()

    def __enter__(self) -> "FakeKiwoom":
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the production side (``KIWOOM_BASE_URL``)."""
        if self._server is None:
            raise RuntimeError("the fake server is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def mock_url(self) -> str:
        """Base URL of the mock-trading side (``KIWOOM_MOCK_BASE_URL``)."""
        return self.url + "/mock"

    @property
    def ws_url(self) -> str:
        """The production WebSocket (``KIWOOM_WS_URL``), on the same loopback host."""
        host = self._server.server_address[0] if self._server is not None else "127.0.0.1"
        return f"ws://{host}:{self.ws.port}/api/dostk/websocket"

    @property
    def mock_ws_url(self) -> str:
        """The mock-trading WebSocket (``KIWOOM_MOCK_WS_URL``)."""
        return self.ws_url.replace("/api/", "/mock/api/", 1)

    def environ(self, environment: str = "production") -> dict[str, str]:
        """Environment variables pointing kiwoom_nb at this server, with its keys for ``environment``."""
        appkey, secretkey = self.keys[environment]
        prefix = "KIWOOM_MOCK_" if environment == "mock" else "KIWOOM_"
        return {
            "KIWOOM_BASE_URL": self.url,
            "KIWOOM_MOCK_BASE_URL": self.mock_url,
            "KIWOOM_WS_URL": self.ws_url,
            "KIWOOM_MOCK_WS_URL": self.mock_ws_url,
            f"{prefix}APPKEY": appkey,
            f"{prefix}SECRETKEY": secretkey,
        }


if "pytest" in sys.modules:  # an opt-in pytest plugin: pytest_plugins = ["kiwoom_nb.testing"]
    import pytest

    @pytest.fixture
    def kiwoom_server():
        """A running :class:`FakeKiwoom` on 127.0.0.1, stopped after the test."""
        with FakeKiwoom() as server:
            yield server


def main(argv: list[str] | None = None) -> int:
    """``python -m kiwoom_nb.testing``: a fake Kiwoom on 127.0.0.1 until Ctrl-C or SIGTERM (``--help``)."""
    from ._cli import run

    return run(argv)
