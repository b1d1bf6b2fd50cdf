"""A fake Kiwoom for tests and demos: au10001 / au10002 and the TRs (kiwoom_nb._fake_trs) answered like Kiwoom.

Use it as an httpx transport (``FakeKiwoom().transport``) or as a real HTTP server on 127.0.0.1
(``with FakeKiwoom() as server: server.url``). Production lives at ``server.url``, mock trading at
``server.mock_url``; each has its own keys. Stdlib only, except httpx for ``.transport``.

With pytest, opt in with ``pytest_plugins = ["kiwoom_nb.testing"]`` for the ``kiwoom_server``
fixture. ``python -m kiwoom_nb.testing`` runs a server with the demo keys until Ctrl-C.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from . import _fake_trs
from ._token import KST, mask

__all__ = ["DEMO_KEYS", "ERRORS", "FakeKiwoom", "ReceivedRequest", "wait_until"]

#: Keys the demo server accepts (``make demo``); fake, printed on purpose.
DEMO_KEYS = {
    "production": ("DEMO-APPKEY-0001", "DEMO-SECRETKEY-0001"),
    "mock": ("DEMO-MOCK-APPKEY-0001", "DEMO-MOCK-SECRETKEY-0001"),
}

_OK = "정상적으로 처리되었습니다"

#: The error answers reported from the real Kiwoom: name -> (HTTP status, body or raw text, content type).
ERRORS: dict[str, tuple[int, Any, str]] = {
    "wrong_keys": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다]"}, "json"),
    "invalid_token": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8005:Token이 유효하지 않습니다]"}, "json"),
    "wrong_environment": (200, {"return_code": 2, "return_msg": "입력 값 오류입니다[8030:투자구분(실전/모의)이 달라서 Appkey를 사용할수가 없습니다]"}, "json"),
    "ip_changed": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8010:Token을 발급받은 IP와 서비스를 요청한 IP가 동일하지 않습니다]"}, "json"),
    "device_auth": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8050:지정단말기 인증에 실패했습니다]"}, "json"),
    "top_level_code": (200, {"return_code": 8005, "return_msg": "Token이 유효하지 않습니다"}, "json"),
    "string_code": (200, {"return_code": "8001", "return_msg": "App Key와 Secret Key 검증에 실패했습니다"}, "json"),
    "rate_limited": (429, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다"}, "json"),
    "rate_limited_tr": (429, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다 유량=2, API ID=ka10081]"}, "json"),
    "too_many_items": (200, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1634:한번에 조회 가능한 종목 개수(100개)를 초과하였습니다]"}, "json"),
    "missing_field": (200, {"return_code": 2, "return_msg": "입력 값 오류입니다[1511:필수 입력 값에 값이 존재하지 않습니다 필드=stk_cd]"}, "json"),
    "unknown_stock": (200, {"return_code": 2, "return_msg": "입력 값 오류입니다[1902:종목 정보가 없습니다]"}, "json"),
    "mock_unsupported": (200, {"return_code": 2, "return_msg": "입력 값 오류입니다[8104:모의투자에서는 지원하지 않는 API입니다]"}, "json"),
    "other_environment_token": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8031:투자구분(실전/모의)이 달라서 Token을 사용할수 없습니다]"}, "json"),
    "unauthorized": (401, {"return_code": 3, "return_msg": "인증에 실패했습니다"}, "json"),
    "blocked": (400, "<html><body><h1>Request Blocked</h1></body></html>", "html"),
    "rate_code": (200, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다]"}, "json"),
    "server_error": (500, {"return_code": 99, "return_msg": "Internal Server Error"}, "json"),
    "bad_gateway": (502, "Bad Gateway", "text"),
    "maintenance": (200, "<html><body><h1>시스템 점검 중입니다</h1></body></html>", "html"),
    "not_json": (200, "OK", "text"),
    "no_token": (200, {"expires_dt": "20991231235959", "token_type": "bearer", "return_code": 0, "return_msg": _OK}, "json"),
    "bad_expiry": (200, {"expires_dt": "tomorrow", "token_type": "bearer", "token": "X" * 40, "return_code": 0, "return_msg": _OK}, "json"),
}


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
class _Issued:
    value: str
    environment: str
    appkey: str
    expires_at: datetime
    revoked: bool = False


@dataclass
class FakeKiwoom:
    """Kiwoom's two OAuth endpoints, with state: which tokens were issued, which are live.

    ``same_token=True`` models the reported behaviour where re-issuing within validity returns the
    same token. ``lifetime`` sets how long issued tokens live. ``fail_next(name)`` queues one of
    :data:`ERRORS` (or ``"hang"`` / ``("slow", seconds)``) for the next request to a path.
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
    # TRs (kiwoom_nb._fake_trs): ka10081 serves `candles` daily candles, `page_size` per page
    candles: int = 300
    page_size: int = 100
    rate_limit: Any = None  # requests per second per api-id: an int, or {api_id or "*": int}; None = unlimited
    mock_unsupported: frozenset = field(default_factory=lambda: frozenset(_fake_trs.MOCK_UNSUPPORTED))
    orders: list[ReceivedRequest] = field(default_factory=list)  # kt10000 / kt10001 that were accepted
    served: list[dict] = field(default_factory=list)  # every ka10081 page: rows, next_key sent, cont_yn / next_key_in
    rate_refusals: int = 0  # 429s answered by the rate limit

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: list[tuple[str | None, Any]] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._windows: dict[str, list[float]] = {}
        self._next_keys: dict[str, tuple] = {}
        self._revoke_countdown: int | None = None

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
            reply = _fake_trs.answer(self, environment, path, headers, body)
            reply.delay = delay
            return reply
        if method != "POST" or not api_id:
            return _answer(404, {"return_code": 2, "return_msg": "요청한 API를 찾을 수 없습니다"}, "json", api_id)
        if not isinstance(body, dict):
            return _answer(200, {"return_code": 2, "return_msg": "입력 값 오류입니다[1501:JSON 형식이 아닙니다]"}, "json", api_id)
        with self._lock:
            if path == "/oauth2/token":
                payload = self._token(environment, body)
            else:
                payload = self._revoke(environment, body)
        reply = _answer(200, payload, "json", api_id)
        reply.delay = delay
        return reply

    def _check_keys(self, environment: str, body: dict[str, Any]) -> dict[str, Any] | None:
        appkey, secretkey = body.get("appkey"), body.get("secretkey")
        if not appkey or not secretkey:
            return {"return_code": 2, "return_msg": "입력 값 오류입니다[8020:appkey 또는 secretkey가 없습니다]"}
        other = "mock" if environment == "production" else "production"
        if appkey == self.keys[other][0]:
            return dict(ERRORS["wrong_environment"][1])
        if (appkey, secretkey) != self.keys[environment]:
            return dict(ERRORS["wrong_keys"][1])
        return None

    def _token(self, environment: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") is None:
            return {"return_code": 2, "return_msg": "입력 값 오류입니다[8011:grant_type이 없습니다]"}
        if body.get("grant_type") != "client_credentials":
            return {"return_code": 2, "return_msg": "입력 값 오류입니다[8012:grant_type이 올바르지 않습니다]"}
        refused = self._check_keys(environment, body)
        if refused:
            return refused
        now = datetime.now(timezone.utc)
        issued = None
        if self.same_token:
            issued = next((t for t in self.tokens if t.environment == environment and t.appkey == body["appkey"]
                           and not t.revoked and t.expires_at > now), None)
        if issued is None:
            expires = (now + self.lifetime).replace(microsecond=0)
            issued = _Issued(secrets.token_urlsafe(64), environment, body["appkey"], expires)
            self.tokens.append(issued)
        return {
            "expires_dt": issued.expires_at.astimezone(KST).strftime("%Y%m%d%H%M%S"),
            "token_type": self.token_type,
            "token": issued.value,
            "return_code": 0,
            "return_msg": _OK,
        }

    def _revoke(self, environment: str, body: dict[str, Any]) -> dict[str, Any]:
        refused = self._check_keys(environment, body)
        if refused:
            return refused
        if not body.get("token"):
            return {"return_code": 2, "return_msg": "입력 값 오류입니다[8016:Token이 없습니다]"}
        issued = next((t for t in self.tokens if t.value == body["token"]), None)
        if issued is None or issued.revoked or issued.appkey != body["appkey"]:
            return dict(ERRORS["invalid_token"][1])
        issued.revoked = True
        return {"return_code": 0, "return_msg": _OK}

    # -- as an httpx transport ------------------------------------------------------------------

    @property
    def transport(self):
        """An ``httpx.MockTransport`` answering like this server (a hang raises ``httpx.ReadTimeout``)."""
        import httpx

        def handler(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            if request.url.host == "mockapi.kiwoom.com":  # Kiwoom's mock domain is the mock side
                path = "/mock" + path
            reply = self.handle(request.method, path, dict(request.headers), request.read())
            self._report(path, dict(request.headers), reply)
            if reply.hang or reply.delay:  # a transport has no clock of its own: report the timeout
                raise httpx.ReadTimeout("fake Kiwoom did not answer", request=request)
            return httpx.Response(reply.status, headers=reply.headers, content=reply.content)

        return httpx.MockTransport(handler)

    # -- as a real server on loopback -----------------------------------------------------------

    def start(self, port: int = 0, host: str = "127.0.0.1") -> "FakeKiwoom":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY, as real servers set it: without it the header and body writes meet the
            # client's delayed ACK and every answer takes ~40 ms on loopback instead of <1 ms.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with fake._lock:
                    fake._connections.add(self.connection)

            def finish(self) -> None:
                with fake._lock:
                    fake._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                reply = fake.handle(self.command, self.path, dict(self.headers), raw)
                fake._report(self.path, dict(self.headers), reply)
                if reply.hang or (reply.delay and fake._stopping.wait(reply.delay)):
                    fake._stopping.wait()
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-kiwoom", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:  # keep-alive connections would otherwise go on being answered after stop()
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

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

    def environ(self, environment: str = "production") -> dict[str, str]:
        """Environment variables pointing kiwoom_nb at this server, with its keys for ``environment``."""
        appkey, secretkey = self.keys[environment]
        prefix = "KIWOOM_MOCK_" if environment == "mock" else "KIWOOM_"
        return {
            "KIWOOM_BASE_URL": self.url,
            "KIWOOM_MOCK_BASE_URL": self.mock_url,
            f"{prefix}APPKEY": appkey,
            f"{prefix}SECRETKEY": secretkey,
        }


@dataclass
class _Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    delay: float = 0.0
    hang: bool = False


def _answer(status: int, payload: Any, kind: str, api_id: str) -> _Reply:
    if kind == "json":
        content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        ctype = "application/json;charset=UTF-8"
    else:
        content = str(payload).encode("utf-8")
        ctype = "text/html;charset=UTF-8" if kind == "html" else "text/plain"
    headers = {"Content-Type": ctype, "api-id": api_id, "cont-yn": "N", "next-key": ""}
    return _Reply(status, headers, content)


if "pytest" in sys.modules:  # an opt-in pytest plugin: pytest_plugins = ["kiwoom_nb.testing"]
    import pytest

    @pytest.fixture
    def kiwoom_server():
        """A running :class:`FakeKiwoom` on 127.0.0.1, stopped after the test."""
        with FakeKiwoom() as server:
            yield server


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kiwoom_nb.testing", description="Run a fake Kiwoom server.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--same-token", action="store_true", help="re-issue returns the same token")
    parser.add_argument("--quiet", action="store_true", help="no line per request")
    parser.add_argument("--page-size", type=int, default=100, help="ka10081 candles per page")
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per second per TR (429 beyond)")
    args = parser.parse_args(argv)
    log = None if args.quiet else (lambda line: print(line, flush=True))
    server = FakeKiwoom(same_token=args.same_token, log=log, page_size=args.page_size,
                        rate_limit=args.rate_limit).start(port=args.port)
    print(f"Fake Kiwoom: production {server.url}  mock {server.mock_url}", flush=True)
    for environment, (appkey, secretkey) in server.keys.items():
        print(f"  {environment:<10} appkey {appkey}  secretkey {secretkey}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
