"""issue_token / revoke_token against the fake Kiwoom as a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import httpx
import pytest

from kiwoom_nb import (
    Client,
    EnvironmentMismatchError,
    KiwoomError,
    KiwoomTimeout,
    NetworkError,
    UnknownStockError,
    issue_token,
    revoke_token,
)
from kiwoom_nb.testing import DEMO_KEYS, FakeKiwoom, wait_until
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


EXPORTED = ("KIWOOM_BASE_URL", "KIWOOM_MOCK_BASE_URL", "KIWOOM_APPKEY", "KIWOOM_SECRETKEY",
            "KIWOOM_MOCK_APPKEY", "KIWOOM_MOCK_SECRETKEY")
EXPORT = re.compile(r"export (KIWOOM_\w+)=(\S+)")


class CommandLine:
    """``python -m kiwoom_nb.testing ARGUMENTS`` as a subprocess, its output collected line by line."""

    def __init__(self, *arguments: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "kiwoom_nb.testing", *arguments],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True)
        self.reader.start()

    def banner(self, timeout: float = 20) -> list[str]:
        """The lines up to the last export line (the server is then listening)."""
        def end() -> int:
            return next((i + 1 for i, line in enumerate(self.lines) if line.startswith("export KIWOOM_MOCK_SECRETKEY=")), 0)

        wait_until(lambda: end() or self.process.poll() is not None, timeout, "the export lines")
        assert end(), self.lines
        return self.lines[:end()]

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> str:
        """Send ``signum`` and wait for the exit (killed after ``timeout`` s: a failure); all it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"python -m kiwoom_nb.testing did not exit within {timeout} s of signal {signum}")
        finally:
            self.reader.join(timeout)
            self.process.stdout.close()
        return "".join(self.lines)


def exports_of(lines: list[str]) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in (EXPORT.fullmatch(line.strip()) for line in lines) if m}


def test_command_line_server_prints_url_and_keys():
    server = CommandLine("--port", "0")
    try:
        banner = server.banner()
        first, production, mock = banner[:3]

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
        wait_until(lambda: len(server.lines) >= len(banner) + 3, 20, "a line per request")
        lines = server.lines[len(banner):]
        assert re.match(r"\d\d:\d\d:\d\d fake Kiwoom production +au10001 +ok \(token …\S{4}\)$", lines[0]), lines
        assert re.match(r"\d\d:\d\d:\d\d fake Kiwoom mock +au10001 +ok", lines[1]), lines
        assert "return_code 3" in lines[2] and "8001" in lines[2], lines
        shown = "".join(lines)
        for secret in (*DEMO_KEYS["production"], *DEMO_KEYS["mock"], "WRONG-SECRET-0000", str(token)[:-4], str(mock_token)[:-4]):
            assert secret not in shown
    finally:
        server.stop()


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


# -- issue 19: what the fake serves, what its command line prints ---------------------------------

def test_command_line_prints_export_lines_for_both_environments():
    server = CommandLine("--port", "0", "--quiet")
    try:
        banner = server.banner()
        exports = exports_of(banner)

        assert sorted(exports) == sorted(EXPORTED + ("KIWOOM_WS_URL", "KIWOOM_MOCK_WS_URL")), banner
        url = re.search(r"production (http://127\.0\.0\.1:\d+) ", banner[0]).group(1)
        assert exports["KIWOOM_BASE_URL"] == url and exports["KIWOOM_MOCK_BASE_URL"] == url + "/mock"
        assert (exports["KIWOOM_APPKEY"], exports["KIWOOM_SECRETKEY"]) == DEMO_KEYS["production"]
        assert (exports["KIWOOM_MOCK_APPKEY"], exports["KIWOOM_MOCK_SECRETKEY"]) == DEMO_KEYS["mock"]
        # pasted as they are, both environments log in
        issue_token(exports["KIWOOM_APPKEY"], exports["KIWOOM_SECRETKEY"], base_url=exports["KIWOOM_BASE_URL"])
        issue_token(exports["KIWOOM_MOCK_APPKEY"], exports["KIWOOM_MOCK_SECRETKEY"], mock=True,
                    base_url=exports["KIWOOM_MOCK_BASE_URL"])
    finally:
        server.stop()


@pytest.mark.parametrize("port,ws_port", [(None, None), ("8765", None), ("8765", "8766")],
                         ids=["no-port", "port-8765", "both-ports"])
def test_command_line_help_prints_export_lines(port, ws_port):
    """All four URL lines (issue 30), with the ports given or named PORT / WS_PORT."""
    done = subprocess.run([sys.executable, "-m", "kiwoom_nb.testing", *(["--port", port] if port else []),
                           *(["--ws-port", ws_port] if ws_port else []), "--help"],
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "--ws-port" in done.stdout
    exports = exports_of(done.stdout.splitlines())
    assert sorted(exports) == sorted(EXPORTED + ("KIWOOM_WS_URL", "KIWOOM_MOCK_WS_URL")), done.stdout
    assert (exports["KIWOOM_APPKEY"], exports["KIWOOM_SECRETKEY"]) == DEMO_KEYS["production"]
    assert (exports["KIWOOM_MOCK_APPKEY"], exports["KIWOOM_MOCK_SECRETKEY"]) == DEMO_KEYS["mock"]
    where = f"http://127.0.0.1:{port or 'PORT'}"
    assert exports["KIWOOM_BASE_URL"] == where and exports["KIWOOM_MOCK_BASE_URL"] == where + "/mock"
    socket_at = f"ws://127.0.0.1:{ws_port or 'WS_PORT'}"
    assert exports["KIWOOM_WS_URL"] == socket_at + "/api/dostk/websocket"
    assert exports["KIWOOM_MOCK_WS_URL"] == socket_at + "/mock/api/dostk/websocket"
    assert "prints the exact" in " ".join(done.stdout.split())


def test_command_line_listens_on_the_ws_port_given():
    """--ws-port fixes the WebSocket's port as --port fixes HTTP's, so the export lines can be kept in a file."""
    with socket.socket() as probe:  # a port free a moment ago; the server takes it
        probe.bind(("127.0.0.1", 0))
        ws_port = probe.getsockname()[1]
    server = CommandLine("--port", "0", "--ws-port", str(ws_port), "--quiet")
    try:
        exports = exports_of(server.banner())
        assert exports["KIWOOM_WS_URL"] == f"ws://127.0.0.1:{ws_port}/api/dostk/websocket"
        from websockets.sync.client import connect

        with connect(exports["KIWOOM_WS_URL"], open_timeout=10):
            pass  # it answers the handshake there
    finally:
        server.stop()


def logged_in_command_line(*arguments: str) -> tuple[CommandLine, dict[str, str], str]:
    """The command-line fake, started, with one production token issued against it."""
    server = CommandLine("--port", "0", *arguments)
    try:
        exports = exports_of(server.banner())
        token = issue_token(exports["KIWOOM_APPKEY"], exports["KIWOOM_SECRETKEY"], base_url=exports["KIWOOM_BASE_URL"])
    except BaseException:
        server.stop()
        raise
    return server, exports, str(token)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_command_line_names_the_live_token_at_exit(signum):
    server, _, token = logged_in_command_line()
    shown = server.stop(signum)

    assert server.process.returncode == 0, shown
    assert "issued 1 token(s) and revoked 0" in shown, shown
    assert f"still live: production …{token[-4:]}" in shown, shown
    assert token[:-4] not in shown


def test_command_line_says_no_token_is_live_after_a_revoke():
    server, exports, token = logged_in_command_line("--quiet")
    try:
        revoke_token(exports["KIWOOM_APPKEY"], exports["KIWOOM_SECRETKEY"], token, base_url=exports["KIWOOM_BASE_URL"])
    finally:
        shown = server.stop(signal.SIGTERM)

    assert "issued 1 token(s) and revoked 1" in shown, shown
    assert "none still live" in shown and f"…{token[-4:]}" not in shown, shown


def client_of(fake: FakeKiwoom) -> Client:
    return Client(*fake.keys["production"], transport=fake.transport, pace=None)


def test_a_tr_without_a_hand_made_answer_is_made_up_in_kiwoom_shape():
    fake = FakeKiwoom()
    token = issue_token(*fake.keys["production"], transport=fake.transport)
    with httpx.Client(transport=fake.transport, base_url="https://api.kiwoom.com") as http:
        answer = http.post("/api/dostk/chart", json={"stk_cd": "005930", "tic_scope": "1", "upd_stkpc_tp": "1"},
                           headers={"api-id": "ka50080", "authorization": f"Bearer {token}"})

    assert answer.status_code == 200 and answer.headers["api-id"] == "ka50080" and answer.headers["cont-yn"] == "N"
    body = answer.json()
    assert (body["return_code"], body["return_msg"]) == (0, "정상적으로 처리되었습니다")
    rows = body["gds_min_chart_qry"]
    assert 3 <= len(rows) <= 20 and all(re.fullmatch(r"[+-]?\d+", row["cur_prc"]) for row in rows)

    with client_of(fake) as api:
        chart = api.frame("ka50080", stk_cd="005930", tic_scope="1", upd_stkpc_tp="1")
    assert chart["cur_prc"].tolist() == [int(row["cur_prc"].lstrip("+-")) for row in rows]  # the same request, the same rows


def test_a_tr_outside_the_table_is_1505_in_one_line_without_retry():
    fake = FakeKiwoom()
    with client_of(fake) as api:
        with pytest.raises(KiwoomError) as caught:
            api.frame("ka99999", "/api/dostk/stkinfo", stk_cd="005930")
    assert caught.value.code == 1505 and "\n" not in str(caught.value)
    assert len([r for r in fake.requests if r.api_id == "ka99999"]) == 1


CLOSED = "2026-12-01 15:40"  # the fake's clock after the close of the day its hand-picked prices are true
BULK = ["123450", "234560", "345670", "123450_NX", "345670_AL"]  # outside the fake's stock list (LISTED)


@pytest.mark.parametrize("code", BULK)
def test_any_well_formed_code_has_made_up_data(code):
    with client_of(FakeKiwoom(clock=CLOSED)) as api:
        info = api.call("ka10001", stk_cd=code)
        chart = api.frame("ka10081", stk_cd=code, base_dt="20261201", upd_stkpc_tp="1", pages=1)
    with client_of(FakeKiwoom(clock=CLOSED)) as api:
        again = api.call("ka10001", stk_cd=code)

    assert info["stk_cd"] == code and info["stk_nm"] and code.split("_")[0] in info["stk_nm"]
    assert int(info["cur_prc"].lstrip("+-")) > 0
    assert dict(info) == dict(again)
    assert len(chart) == FakeKiwoom().page_size and (chart["cur_prc"] > 0).all()


def test_made_up_data_is_the_same_in_every_process():
    code = ("import json, kiwoom_nb\nfrom kiwoom_nb.testing import FakeKiwoom\nfake = FakeKiwoom(clock='2026-12-01 15:40')\n"
            "api = kiwoom_nb.Client(*fake.keys['production'], transport=fake.transport, pace=None)\n"
            "print(json.dumps([dict(api.call('ka10001', stk_cd=c)) for c in ('051910', '006400', '005380')]\n"
            "                 + [dict(api.call('ka10027', mrkt_tp='000', sort_tp='1', trde_qty_cnd='0000', stk_cnd='0',\n"
            "                                  crd_cnd='0', updown_incls='0', pric_cnd='0', trde_prica_cnd='0',\n"
            "                                  stex_tp='1'))]))")  # a made-up answer (_synth) too
    seen = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONHASHSEED": seed}) for seed in ("1", "2")]

    assert all(done.returncode == 0 for done in seen), [done.stderr for done in seen]
    assert seen[0].stdout == seen[1].stdout
    *infos, ranking = json.loads(seen[0].stdout)
    assert len({row["stk_nm"] for row in infos}) == 3
    assert len(ranking["pred_pre_flu_rt_upper"]) >= 3


def test_known_stocks_keep_their_data():
    with client_of(FakeKiwoom(clock=CLOSED)) as api:  # their hand-picked close: 2026-12-01's
        info = api.call("ka10001", stk_cd="005930")
    assert (info["stk_nm"], info["cur_prc"], info["base_pric"]) == ("삼성전자", "-160400", "169100")


@pytest.mark.parametrize("code", ["000000", "999999", "12345", "0059300", "ABC123", "005930_XX"])
def test_unlisted_and_malformed_codes_are_1902(code):
    with client_of(FakeKiwoom()) as api:
        with pytest.raises(UnknownStockError) as caught:
            api.call("ka10001", stk_cd=code, check=False)  # the client refuses 0059300 itself unless told not to
    assert caught.value.code == 1902
