"""issue_token / revoke_token against the fake Kiwoom as a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import queue
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import httpx
import pytest

from kiwoom_nb import (
    EnvironmentMismatchError,
    KiwoomError,
    KiwoomTimeout,
    NetworkError,
    issue_token,
    revoke_token,
)
from kiwoom_nb.testing import DEMO_KEYS, FakeKiwoom
from support import assert_chain_clean, within

pytest_plugins = ["pytester"]

APP = "CANARY-APP-KEY-1234567890"
SECRET = "CANARY-SECRET-KEY-0987654321"
MOCK_APP = "CANARY-MOCK-APP-KEY-1357924680"
MOCK_SECRET = "CANARY-MOCK-SECRET-KEY-2468013579"
KEYS = {"production": (APP, SECRET), "mock": (MOCK_APP, MOCK_SECRET)}


@pytest.fixture
def server():
    with FakeKiwoom(keys=dict(KEYS)) as running:
        yield running


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        threading.Event().wait(0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the happy path -----------------------------------------------------------------------------


def test_issue_and_revoke(server):
    token = issue_token(APP, SECRET, base_url=server.url)

    assert server.is_live(token)
    assert server.issues[0].body == {"grant_type": "client_credentials", "appkey": APP, "secretkey": SECRET}

    revoke_token(APP, SECRET, token, base_url=server.url)

    assert server.revokes[0].body == {"appkey": APP, "secretkey": SECRET, "token": str(token)}
    assert not server.is_live(token)
    assert server.live_tokens() == []


def test_mock_keys_on_the_mock_side(server):
    token = issue_token(MOCK_APP, MOCK_SECRET, mock=True, base_url=server.mock_url)

    assert token.mock is True
    assert server.issues[0].environment == "mock"
    assert server.is_live(token)

    revoke_token(MOCK_APP, MOCK_SECRET, token, mock=True, base_url=server.mock_url)

    assert not server.is_live(token)


@pytest.mark.parametrize(
    "keys, side",
    [(KEYS["production"], "mock_url"), (KEYS["mock"], "url")],
    ids=["production-keys-on-mock", "mock-keys-on-production"],
)
def test_keys_of_the_other_environment_are_refused(server, keys, side):
    with pytest.raises(EnvironmentMismatchError) as caught:
        issue_token(*keys, base_url=getattr(server, side))

    assert caught.value.code == 8030
    assert server.live_tokens() == []


@pytest.mark.parametrize("same_token", [True, False])
def test_reissue(same_token):
    with FakeKiwoom(keys=dict(KEYS), same_token=same_token) as server:
        first = issue_token(APP, SECRET, base_url=server.url)
        second = issue_token(APP, SECRET, base_url=server.url)

        assert (str(first) == str(second)) is same_token
        assert server.is_live(first) and server.is_live(second)


# -- no answer, late answer, nobody there -------------------------------------------------------


def hang_by_flag(server: FakeKiwoom) -> None:
    server.hang_token = True


def hang_by_script(server: FakeKiwoom) -> None:
    server.fail_next("hang")


@pytest.mark.parametrize("hang", [hang_by_flag, hang_by_script], ids=["hang_token", "fail_next-hang"])
def test_hanging_server_times_out(server, hang):
    hang(server)

    started = time.monotonic()
    with pytest.raises(KiwoomTimeout) as caught:  # how soon after the timeout: bench/bench.py measures it
        within(30, issue_token, APP, SECRET, base_url=server.url, timeout=1.0)

    assert time.monotonic() - started >= 0.9  # it did wait for its timeout (a lower bound: load cannot break it)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert len(server.issues) == 1


def test_hanging_revoke_times_out_and_the_token_stays_live(server):
    token = issue_token(APP, SECRET, base_url=server.url)
    server.hang_revoke = True

    with pytest.raises(KiwoomTimeout):
        within(30, revoke_token, APP, SECRET, token, base_url=server.url, timeout=1.0)

    assert server.is_live(token)


def test_slow_answer_still_succeeds(server):
    server.fail_next(("slow", 0.3))

    started = time.monotonic()
    token = issue_token(APP, SECRET, base_url=server.url, timeout=5.0)

    assert time.monotonic() - started >= 0.3
    assert server.is_live(token)


def url_of_a_stopped_server() -> str:
    """A server that answered once (so a kept-alive connection may exist), then stopped."""
    with FakeKiwoom(keys=dict(KEYS)) as server:
        issue_token(APP, SECRET, base_url=server.url)
        return server.url


def url_of_a_closed_port() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize("make_url", [url_of_a_stopped_server, url_of_a_closed_port], ids=["stopped", "closed-port"])
def test_connection_refused_raises_network_error(make_url):
    url = make_url()

    with pytest.raises(NetworkError) as caught:
        issue_token(APP, SECRET, base_url=url, timeout=5.0)

    assert type(caught.value) is NetworkError
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert "\n" not in str(caught.value)
    assert APP not in str(caught.value) and SECRET not in str(caught.value)
    assert_chain_clean(caught.value, APP, SECRET)


def test_stop_returns_with_a_hanging_request_outstanding():
    server = FakeKiwoom(keys=dict(KEYS), hang_token=True).start()
    outcome: list[BaseException] = []

    def login() -> None:
        try:
            issue_token(APP, SECRET, base_url=server.url, timeout=30.0)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    client = threading.Thread(target=login, daemon=True)
    client.start()
    wait_for(lambda: len(server.issues) == 1)

    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5.0

    client.join(timeout=5.0)
    assert not client.is_alive(), "the client is still waiting on a stopped server"
    assert len(outcome) == 1 and isinstance(outcome[0], NetworkError)
    assert not isinstance(outcome[0], KiwoomTimeout)


def test_a_stopped_server_answers_nobody():
    server = FakeKiwoom(keys=dict(KEYS)).start()
    url = server.url
    issue_token(APP, SECRET, base_url=url)
    server.stop()

    with pytest.raises(NetworkError):
        issue_token(APP, SECRET, base_url=url, timeout=5.0)
    assert len(server.issues) == 1


# -- the opt-in pytest plugin -------------------------------------------------------------------

PLUGIN_USER = """
import pytest
from kiwoom_nb import NetworkError, issue_token

pytest_plugins = ["kiwoom_nb.testing"]

seen = {}


def test_issue(kiwoom_server):
    keys = kiwoom_server.keys["production"]
    token = issue_token(*keys, base_url=kiwoom_server.url)
    assert kiwoom_server.is_live(token)
    seen.update(url=kiwoom_server.url, keys=keys)


def test_server_was_stopped_after_the_test():
    with pytest.raises(NetworkError):
        issue_token(*seen["keys"], base_url=seen["url"], timeout=5)
"""


def test_pytest_plugin_provides_kiwoom_server(pytester):
    pytester.makepyfile(test_uses_plugin=PLUGIN_USER)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, warnings=0)


# -- python -m kiwoom_nb.testing ----------------------------------------------------------------


_readers: dict[int, queue.Queue] = {}


def read_lines(stream, count: int, timeout: float) -> list[str]:
    """The next ``count`` lines of ``stream``, or fail after ``timeout`` seconds."""
    lines = _readers.get(id(stream))
    if lines is None:  # one reader thread per stream, so later calls see the lines that follow
        lines = _readers[id(stream)] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    deadline = time.monotonic() + timeout
    got = []
    while len(got) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only got {got!r}"
        try:
            got.append(lines.get(timeout=remaining))
        except queue.Empty:
            pytest.fail(f"the server printed only {got!r} in {timeout} s")
    return got


def test_command_line_server_prints_url_and_keys():
    process = subprocess.Popen(
        [sys.executable, "-m", "kiwoom_nb.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first, production, mock = read_lines(process.stdout, 3, timeout=20)

        urls = re.fullmatch(r"Fake Kiwoom: production (http://127\.0\.0\.1:\d+)  mock (\S+)\n", first)
        assert urls, first
        url, mock_url = urls.groups()
        assert mock_url == url + "/mock"
        assert DEMO_KEYS["production"][0] in production and DEMO_KEYS["production"][1] in production
        assert DEMO_KEYS["mock"][0] in mock and DEMO_KEYS["mock"][1] in mock

        token = issue_token(*DEMO_KEYS["production"], base_url=url)
        mock_token = issue_token(*DEMO_KEYS["mock"], mock=True, base_url=mock_url)
        assert str(token) != str(mock_token)
        with pytest.raises(KiwoomError):
            issue_token(DEMO_KEYS["production"][0], "WRONG-SECRET-0000", base_url=url)

        # one line per request answered: time, environment, api-id, outcome; no key, no whole token
        lines = read_lines(process.stdout, 3, timeout=20)
        assert re.match(r"\d\d:\d\d:\d\d fake Kiwoom production +au10001 +ok \(token …\S{4}\)$", lines[0]), lines
        assert re.match(r"\d\d:\d\d:\d\d fake Kiwoom mock +au10001 +ok", lines[1]), lines
        assert "return_code 3" in lines[2] and "8001" in lines[2], lines
        shown = "".join(lines)
        for secret in (*DEMO_KEYS["production"], *DEMO_KEYS["mock"], "WRONG-SECRET-0000", str(token)[:-4], str(mock_token)[:-4]):
            assert secret not in shown
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_tls_failure_is_a_network_error_that_says_so(tmp_path):
    """A loopback HTTPS server with a self-signed certificate: verification stays on and fails."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert), "-days", "1"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve_one() -> None:
        connection, _ = listener.accept()
        try:
            context.wrap_socket(connection, server_side=True).close()
        except (ssl.SSLError, OSError):
            connection.close()

    threading.Thread(target=serve_one, daemon=True).start()
    try:
        with pytest.raises(NetworkError, match="TLS certificate could not be verified") as info:
            issue_token("app-key", "secret-key", base_url=f"https://127.0.0.1:{listener.getsockname()[1]}", timeout=5)
    finally:
        listener.close()
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert "\n" not in str(info.value) and "secret-key" not in str(info.value)


def test_dns_failure_is_a_network_error_that_says_so():
    """No DNS traffic leaves this machine in tests: the resolver's error comes through a transport."""

    def unresolvable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    with pytest.raises(NetworkError, match="host name did not resolve") as info:
        issue_token("app-key", "secret-key", transport=httpx.MockTransport(unresolvable))
    assert info.value.__cause__ is None and info.value.__context__ is None
