"""Issue 17: the order guard keys on the destination, nothing secret hangs on an exception, one re-issue per
stale token whatever the threads, and a rejected token that is still valid somewhere is revoked there."""

from __future__ import annotations

import threading

import httpx
import pytest
from support import CANARY, assert_chain_clean, reachable_texts, wait_for

from kiwoom_nb import Client, KiwoomError, NetworkError, OrderNotConfirmed, issue_token, revoke_token
from kiwoom_nb.rest._api import SessionTokens
from kiwoom_nb.auth._session import Session

PRODUCTION, MOCK = CANARY["production"], CANARY["mock"]
ALL_KEYS = (*PRODUCTION, *MOCK)
ORDER = {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "1", "trde_tp": "3"}


@pytest.fixture(autouse=True)
def _no_configured_urls(monkeypatch):
    for name in ("KIWOOM_BASE_URL", "KIWOOM_MOCK_BASE_URL", "KIWOOM_MOCK_HOSTS"):
        monkeypatch.delenv(name, raising=False)


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# -- 1. the order guard decides by where the request goes ----------------------------------------------


def test_a_mock_label_on_kiwoom_s_production_host_is_refused_before_anything_is_sent(fake):
    with pytest.raises(KiwoomError, match="production server") as caught:
        Client(*PRODUCTION, mock=True, base_url="https://api.kiwoom.com", transport=fake.transport)

    assert "\n" not in str(caught.value)
    assert fake.requests == [] and fake.orders == []


@pytest.mark.parametrize("how", ["KIWOOM_BASE_URL", "a production login"])
def test_an_unconfirmed_order_labelled_mock_but_sent_to_production_is_not_sent(fake, monkeypatch, how):
    api = Client(*PRODUCTION, mock=True, base_url=fake.url, pace=None)  # nothing says yet that this is production
    api.call("ka10001", stk_cd="005930")  # a query goes through: it cannot move money
    if how == "KIWOOM_BASE_URL":
        monkeypatch.setenv("KIWOOM_BASE_URL", fake.url)
    else:
        Session().login(*PRODUCTION, var="kiwoom_token", base_url=fake.url)

    with pytest.raises(OrderNotConfirmed) as caught:
        api.call("kt10000", **ORDER)

    assert "production" in str(caught.value) and "labelled mock" in str(caught.value)
    assert fake.orders == [] and [r for r in fake.requests if r.api_id == "kt10000"] == []
    with pytest.raises(KiwoomError, match="production server"):  # and no new mock client goes there
        Client(*PRODUCTION, mock=True, base_url=fake.url)
    api.close()


def test_orders_to_a_known_mock_server_need_no_confirmation(fake):
    with Client(*MOCK, mock=True, base_url=fake.mock_url, pace=None) as api:  # a mock URL given explicitly
        api.call("kt10000", **ORDER)
    with Client(*MOCK, mock=True, transport=fake.transport, pace=None) as api:  # mockapi.kiwoom.com
        api.call("kt10000", **ORDER)

    assert [order.environment for order in fake.orders] == ["mock", "mock"]


def test_kiwoom_s_production_host_spelled_with_a_trailing_dot_is_production(fake):
    """``https://api.kiwoom.com.`` is Kiwoom's production host: a mock label on it is refused, nothing is sent."""
    for url in ("https://api.kiwoom.com.", "https://API.Kiwoom.com.:443", "https://api.kiwoom.com:10443"):
        with pytest.raises(KiwoomError, match="production server"):
            Client(*MOCK, mock=True, base_url=url, transport=fake.transport, pace=None)
    assert fake.requests == [] and fake.orders == []


PROXY = "https://kiwoom-proxy.example.com/mock"  # a reverse proxy: nothing says where it forwards to


def test_a_host_given_for_mock_that_is_not_a_known_mock_server_needs_confirm_for_orders(fake):
    with Client(*MOCK, mock=True, base_url=PROXY, transport=fake.transport, pace=None) as api:
        api.call("ka10001", stk_cd="005930")  # queries go: they cannot move money
        with pytest.raises(OrderNotConfirmed) as caught:
            api.call("kt10000", **ORDER)
        assert "labelled mock but not a known mock server" in str(caught.value)
        assert "KIWOOM_MOCK_HOSTS" in str(caught.value) and "\n" not in str(caught.value)
        assert fake.orders == [] and [r for r in fake.requests if r.api_id == "kt10000"] == []
        api.call("kt10000", confirm=True, **ORDER)  # confirmed: sent
    assert len(fake.orders) == 1


@pytest.mark.parametrize("named", ["kiwoom-proxy.example.com", "KIWOOM-PROXY.example.com.", "other.example, "
                                   "kiwoom-proxy.example.com:443"])
def test_a_host_named_in_kiwoom_mock_hosts_is_mock(fake, monkeypatch, named):
    monkeypatch.setenv("KIWOOM_MOCK_HOSTS", named)
    with Client(*MOCK, mock=True, base_url=PROXY, transport=fake.transport, pace=None) as api:
        api.call("kt10000", **ORDER)
    assert [order.environment for order in fake.orders] == ["mock"]


def test_a_host_named_with_another_port_is_not_that_host(fake, monkeypatch):
    monkeypatch.setenv("KIWOOM_MOCK_HOSTS", "kiwoom-proxy.example.com:8443")
    with Client(*MOCK, mock=True, base_url=PROXY, transport=fake.transport, pace=None) as api:
        with pytest.raises(OrderNotConfirmed):
            api.call("kt10000", **ORDER)
    assert fake.orders == []


@pytest.mark.parametrize("url", ["https://MOCKAPI.kiwoom.com.", "https://mockapi.kiwoom.com:443",
                                 "http://LOCALHOST"])
def test_kiwoom_s_mock_host_in_any_spelling_and_loopback_are_mock(fake, url):
    if url.startswith("http://LOCALHOST"):  # the fake on loopback, by name
        with Client(*MOCK, mock=True, base_url=fake.mock_url.replace("127.0.0.1", "LOCALHOST"), pace=None) as api:
            api.call("kt10000", **ORDER)
    else:
        with Client(*MOCK, mock=True, base_url=url, transport=fake.transport, pace=None) as api:
            api.call("kt10000", **ORDER)
    assert [order.environment for order in fake.orders] == ["mock"]


def test_mockapi_on_another_port_is_not_kiwoom_s_mock_server(fake):
    with Client(*MOCK, mock=True, base_url="https://mockapi.kiwoom.com:8443", transport=fake.transport,
                pace=None) as api:
        with pytest.raises(OrderNotConfirmed):
            api.call("kt10000", **ORDER)
    assert fake.orders == []


def test_a_bound_client_of_a_production_login_guards_orders(fake):
    session = Session()
    session.login(*PRODUCTION, var="kiwoom_token", base_url=fake.url)
    api = Client.bound(SessionTokens(session, "kiwoom_token"), pace=None)

    with pytest.raises(OrderNotConfirmed):
        api.call("kt10000", **ORDER)
    with pytest.raises(KiwoomError, match="production server"):  # a mock login cannot borrow the URL either
        session.login(*MOCK, var="mock_token", mock=True, base_url=fake.url)

    assert fake.orders == [] and len(fake.issues) == 1
    session.logout("kiwoom_token")


def test_a_mock_login_in_a_notebook_borrows_neither_the_production_url_nor_the_production_keys(fake, start_kernel,
                                                                                              kernel_env):
    env = {k: v for k, v in kernel_env.items() if k != "KIWOOM_MOCK_BASE_URL"}  # KIWOOM_BASE_URL and production keys
    kernel = start_kernel(env=env)
    kernel.ok("%load_ext kiwoom_nb")

    failed = kernel.run("%kiwoom_login --mock")
    assert failed.reply["status"] == "error"
    assert "KIWOOM_MOCK_APPKEY" in failed.reply["evalue"] and "\n" not in failed.reply["evalue"]
    refused = kernel.run("%kiwoom kt10000 dmst_stex_tp=KRX stk_cd=005930 ord_qty=1 trde_tp=3")
    assert refused.reply["status"] == "error"

    same = kernel.run(f"%config KiwoomMagics.mock_base_url = {fake.url!r}\n"
                      f"import os; os.environ['KIWOOM_MOCK_APPKEY'], os.environ['KIWOOM_MOCK_SECRETKEY'] = {MOCK!r}\n"
                      "%kiwoom_login --mock")
    assert same.reply["status"] == "error" and "mock base URL is the production one" in same.reply["evalue"]

    assert fake.issues == [] and fake.orders == [] and [r for r in fake.requests if r.api_id == "kt10000"] == []


# -- 2. no key and no token reachable from a raised KiwoomError ------------------------------------------


def test_a_refused_login_and_revoke_hold_no_key_anywhere_in_the_chain():
    url = closed_port_url()
    with pytest.raises(NetworkError) as login:
        issue_token(*PRODUCTION, base_url=url, timeout=5)
    with pytest.raises(NetworkError) as logout:
        revoke_token(*PRODUCTION, "T" * 40, base_url=url, timeout=5)

    for caught, secrets in ((login, PRODUCTION), (logout, (*PRODUCTION, "T" * 40))):
        assert caught.value.__cause__ is None and caught.value.__context__ is None
        assert_chain_clean(caught.value, *secrets)
        assert any("127.0.0.1" in text for text in reachable_texts(caught.value))  # the check can see the text


def test_a_failed_tr_call_holds_no_token_anywhere_in_the_chain(fake):
    def fail_trs(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/oauth2/"):
            return fake.transport.handle_request(request)
        raise httpx.ConnectError(f"refused {request.headers['authorization']}", request=request)

    api = Client(*PRODUCTION, transport=httpx.MockTransport(fail_trs), pace=None)
    with pytest.raises(NetworkError) as caught:
        api.call("ka10001", stk_cd="005930")
    token = fake.tokens[0].value
    api.close()

    assert_chain_clean(caught.value, *PRODUCTION, token)


def test_the_chain_check_would_see_a_key_on_a_cause():
    """The helper walks __cause__ into httpx's request: what it missed before issue 17."""
    request = httpx.Request("POST", "https://api.kiwoom.com/oauth2/token", content=b'{"appkey": "KEY-12345678"}')
    try:
        try:
            raise httpx.ConnectError("refused", request=request)
        except httpx.ConnectError as exc:
            raise KiwoomError("Login failed") from exc
    except KiwoomError as exc:
        with pytest.raises(AssertionError, match="leaks"):
            assert_chain_clean(exc, "KEY-12345678")


# -- 3. one re-issue per stale token, whatever the threads; nothing left live --------------------------


def run_threads(n: int, work) -> list[BaseException | None]:
    results: list[BaseException | None] = [None] * n
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait()
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "a client thread did not finish"
    return results


def test_threads_sharing_a_notebook_login_reissue_once_and_logout_leaves_nothing_live(fake):
    session = Session()
    session.login(*PRODUCTION, var="kiwoom_token", base_url=fake.url)
    api = Client.bound(SessionTokens(session, "kiwoom_token"), pace=None)
    fake.revoke_after(1)  # the first request finds its token revoked (8005)
    fake.fail_next(("slow", 1.0), path="/oauth2/token")  # and the re-issue takes a while

    errors = run_threads(4, lambda: [api.call("ka10001", stk_cd="005930") for _ in range(3)])

    assert errors == [None] * 4
    assert len(fake.issues) == 2  # the login and exactly one re-issue
    session.logout("kiwoom_token")
    assert fake.live_tokens() == []


def test_a_logout_during_a_slow_reissue_revokes_the_new_token(fake):
    session = Session()
    session.login(*PRODUCTION, var="kiwoom_token", base_url=fake.url)
    api = Client.bound(SessionTokens(session, "kiwoom_token"), pace=None)
    fake.revoke_after(1)
    fake.fail_next(("slow", 1.5), path="/oauth2/token")

    def call() -> None:
        try:  # either way is right: answered before the logout took the token, or refused after it
            api.call("ka10001", stk_cd="005930")
        except KiwoomError:
            pass

    worker = threading.Thread(target=call)
    worker.start()
    wait_for(lambda: len(fake.issues) == 2, 10, "the re-issue to reach the server")

    session.logout("kiwoom_token")  # waits for the re-issue in flight, then revokes what it got
    worker.join(30)

    assert not worker.is_alive()
    assert len(fake.issues) == 2 and fake.live_tokens() == []


def test_a_client_closed_while_a_request_is_in_flight_issues_nothing_after(fake):
    in_flight, closed = threading.Event(), threading.Event()

    def gated(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/"):  # held until the client is closed; then its token is revoked (8005)
            in_flight.set()
            closed.wait(10)
        return fake.transport.handle_request(request)

    api = Client(*PRODUCTION, transport=httpx.MockTransport(gated), pace=None)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            api.call("ka10001", stk_cd="005930")
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcome.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    assert in_flight.wait(10)
    api.close()
    closed.set()
    worker.join(30)

    assert not worker.is_alive() and len(outcome) == 1 and isinstance(outcome[0], KiwoomError)
    assert "closed" in str(outcome[0])
    assert len(fake.issues) == 1 and fake.live_tokens() == []


# -- 5. a token rejected with 8031 is still valid in its own environment: revoked there ---------------


def test_a_token_rejected_with_8031_is_revoked_where_it_was_issued(fake):
    api = Client(*PRODUCTION, base_url=fake.url, pace=None)
    api.call("ka10001", stk_cd="005930")
    first = fake.tokens[0].value
    fake.fail_next("other_environment_token", path="ka10001")

    api.call("ka10001", stk_cd="005930")  # re-issued once, retried

    assert len(fake.issues) == 2
    assert [(r.environment, r.body["token"]) for r in fake.revokes] == [("production", first)]
    assert not fake.is_live(first)
    api.close()
    assert fake.live_tokens() == []


def test_a_notebook_token_rejected_with_8031_is_revoked_and_untracked(fake):
    session = Session()
    session.login(*PRODUCTION, var="kiwoom_token", base_url=fake.url)
    first = session.find("kiwoom_token").token
    api = Client.bound(SessionTokens(session, "kiwoom_token"), pace=None)
    fake.fail_next("other_environment_token", path="ka10001")

    api.call("ka10001", stk_cd="005930")

    assert not fake.is_live(first.value) and session.orphans == []
    assert not session.holders.others(first) and first not in [login.token for login in session.logins.values()]
    session.logout("kiwoom_token")
    assert fake.live_tokens() == []


# -- only a production login that succeeded makes its base URL production ----------------------------------


@pytest.mark.parametrize("how", ["Client", "login"])
def test_a_failed_production_login_leaves_the_advised_mock_retry_open(fake, how):
    """Production keys sent to the mock side fail with 8030 ("switch to mock"); the retry that advises, mock=True with
    mock keys at the same URL, used to be refused for the rest of the process as "a production server"."""
    from kiwoom_nb import EnvironmentMismatchError

    with pytest.raises(EnvironmentMismatchError, match="mock") as wrong:
        if how == "Client":
            Client(*PRODUCTION, base_url=fake.mock_url, pace=None).call("ka10001", stk_cd="005930")
        else:
            Session().login(*PRODUCTION, var="kiwoom_token", base_url=fake.mock_url)
    assert "\n" not in str(wrong.value)

    with Client(*MOCK, mock=True, base_url=fake.mock_url, pace=None) as api:  # the retry the message advises
        api.call("ka10001", stk_cd="005930")
        api.call("kt10000", **ORDER)  # the mock side: no confirmation needed
    assert [order.environment for order in fake.orders] == ["mock"]


def test_a_production_login_that_succeeded_still_makes_its_url_production(fake):
    Client(*PRODUCTION, base_url=fake.mock_url + "/", pace=None)  # made, never logged in: nothing known yet
    with Client(*MOCK, mock=True, base_url=fake.mock_url, pace=None) as api:
        api.call("ka10001", stk_cd="005930")
    session = Session()
    session.login(*PRODUCTION, var="kiwoom_token", base_url=fake.url + "/")
    with pytest.raises(KiwoomError, match="production server"):
        Client(*MOCK, mock=True, base_url=fake.url, pace=None)
    session.logout("kiwoom_token")
