"""issue_token / revoke_token through FakeKiwoom().transport: what goes on the wire, and what the user is told."""

from __future__ import annotations

import json

import httpx
import pytest

from kiwoom_nb import (
    AccessDeniedError,
    AccessToken,
    CredentialsError,
    EnvironmentMismatchError,
    KiwoomError,
    KiwoomTimeout,
    NetworkError,
    NotSupportedError,
    RateLimitError,
    RequestError,
    ServerError,
    TokenError,
    UnknownStockError,
    issue_token,
    revoke_token,
)
from kiwoom_nb.testing import ERRORS, FakeKiwoom
from support import assert_chain_clean

APP = "CANARY-APP-KEY-1234567890"
SECRET = "CANARY-SECRET-KEY-0987654321"
MOCK_APP = "CANARY-MOCK-APP-KEY-1357924680"
MOCK_SECRET = "CANARY-MOCK-SECRET-KEY-2468013579"
TOKEN = "CANARY-TOKEN-VALUE-abcdefghijklmnopqrstuvwxyz"
KEYS = {"production": (APP, SECRET), "mock": (MOCK_APP, MOCK_SECRET)}
CONTENT_TYPE = "application/json;charset=UTF-8"


@pytest.fixture
def fake_kiwoom():
    """The fake Kiwoom with canary keys, used as a transport only (no server is started)."""
    return FakeKiwoom(keys=dict(KEYS))


def recording(fake_kiwoom: FakeKiwoom) -> tuple[httpx.MockTransport, list[httpx.URL]]:
    """A transport answering like ``fake_kiwoom`` that also records every request URL."""
    inner = fake_kiwoom.transport
    urls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(request.url)
        return inner.handle_request(request)

    return httpx.MockTransport(handler), urls


def answering(status: int, answer=None, text: str | None = None) -> httpx.MockTransport:
    """A transport that always gives the same answer, whatever was asked."""

    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers={"api-id": request.headers["api-id"]})
        return httpx.Response(status, json=answer, headers={"api-id": request.headers["api-id"]})

    return httpx.MockTransport(handler)


def shown_texts(exc: KiwoomError) -> list[str]:
    return [str(exc), repr(exc), exc.message, *map(str, exc.args), exc.return_msg or ""]


def assert_tells_no_secret(exc: KiwoomError, *secrets: str) -> None:
    """The error is one line and shows no key or token, not even a piece of 8 characters."""
    assert "\n" not in str(exc) and "\r" not in str(exc)
    for text in shown_texts(exc):
        for secret in secrets:
            pieces = [secret[i : i + 8] for i in range(len(secret) - 7)]
            leaked = [p for p in pieces if p in text]
            assert not leaked, f"{text!r} leaks part of a secret: {leaked}"


# -- the requests on the wire -------------------------------------------------------------------


def test_issue_sends_exactly_the_documented_request(fake_kiwoom):
    token = issue_token(APP, SECRET, transport=fake_kiwoom.transport)

    assert len(fake_kiwoom.requests) == 1
    sent = fake_kiwoom.requests[0]
    assert (sent.method, sent.path, sent.environment) == ("POST", "/oauth2/token", "production")
    assert sent.body == {"grant_type": "client_credentials", "appkey": APP, "secretkey": SECRET}
    assert sent.headers["content-type"] == CONTENT_TYPE
    assert sent.api_id == "au10001"

    assert isinstance(token, AccessToken)
    assert fake_kiwoom.is_live(token)
    assert (token.token_type, token.mock) == ("Bearer", False)


def test_revoke_sends_exactly_the_documented_request(fake_kiwoom):
    token = issue_token(APP, SECRET, transport=fake_kiwoom.transport)

    assert revoke_token(APP, SECRET, token, transport=fake_kiwoom.transport) is None

    assert len(fake_kiwoom.revokes) == 1
    sent = fake_kiwoom.revokes[0]
    assert (sent.method, sent.path, sent.environment) == ("POST", "/oauth2/revoke", "production")
    assert sent.body == {"appkey": APP, "secretkey": SECRET, "token": str(token)}
    assert type(sent.body["token"]) is str
    assert sent.headers["content-type"] == CONTENT_TYPE
    assert sent.api_id == "au10002"
    assert not fake_kiwoom.is_live(token)


def test_pasted_keys_are_sent_without_surrounding_whitespace(fake_kiwoom):
    issue_token(f"  {APP}\n", f"\t{SECRET} ", transport=fake_kiwoom.transport)

    assert fake_kiwoom.issues[0].body["appkey"] == APP
    assert fake_kiwoom.issues[0].body["secretkey"] == SECRET


# -- which domain -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mock, keys, domain",
    [
        (False, KEYS["production"], "https://api.kiwoom.com"),
        (True, KEYS["mock"], "https://mockapi.kiwoom.com"),
    ],
    ids=["production", "mock"],
)
def test_mock_flag_chooses_kiwoom_domain(fake_kiwoom, mock, keys, domain):
    transport, urls = recording(fake_kiwoom)

    token = issue_token(*keys, mock=mock, transport=transport)
    revoke_token(*keys, token, mock=mock, transport=transport)

    assert [str(u) for u in urls] == [f"{domain}/oauth2/token", f"{domain}/oauth2/revoke"]
    assert token.mock is mock


def test_production_keys_sent_to_mock_domain_are_refused(fake_kiwoom):
    with pytest.raises(EnvironmentMismatchError) as caught:
        issue_token(APP, SECRET, mock=True, transport=fake_kiwoom.transport)

    assert caught.value.code == 8030
    assert fake_kiwoom.issues[0].environment == "mock"


@pytest.mark.parametrize(
    "base_url, expected",
    [
        ("https://proxy.example.com", "https://proxy.example.com/oauth2/token"),
        ("https://proxy.example.com/", "https://proxy.example.com/oauth2/token"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/oauth2/token"),
        ("http://127.0.0.2:8123", "http://127.0.0.2:8123/oauth2/token"),
        ("http://localhost:8123", "http://localhost:8123/oauth2/token"),
        ("http://LOCALHOST", "http://localhost/oauth2/token"),
        ("http://[::1]:8123", "http://[::1]:8123/oauth2/token"),
    ],
)
def test_base_url_replaces_the_domain(fake_kiwoom, base_url, expected):
    transport, urls = recording(fake_kiwoom)

    issue_token(APP, SECRET, base_url=base_url, transport=transport)

    assert [str(u) for u in urls] == [expected]


def test_base_url_wins_over_the_mock_flag(fake_kiwoom):
    transport, urls = recording(fake_kiwoom)

    token = issue_token(MOCK_APP, MOCK_SECRET, mock=True, base_url="https://proxy.example.com/mock", transport=transport)

    assert [str(u) for u in urls] == ["https://proxy.example.com/mock/oauth2/token"]
    assert token.mock is True


def issue(**kwargs):
    return issue_token(APP, SECRET, **kwargs)


def revoke(**kwargs):
    return revoke_token(APP, SECRET, TOKEN, **kwargs)


@pytest.mark.parametrize("call", [issue, revoke])
@pytest.mark.parametrize(
    "base_url",
    [
        "http://example.com",
        "http://10.0.0.1",
        "http://192.168.1.5:8080",
        "http://api.kiwoom.com",
        "http://localhost.example.com",
        "ftp://127.0.0.1",
        "api.kiwoom.com",
    ],
)
def test_unsafe_base_urls_are_refused_before_sending(fake_kiwoom, call, base_url):
    with pytest.raises(KiwoomError) as caught:
        call(base_url=base_url, transport=fake_kiwoom.transport)

    assert fake_kiwoom.requests == []
    assert "https" in str(caught.value)
    assert_tells_no_secret(caught.value, APP, SECRET, TOKEN)


# -- keys checked before anything is sent -------------------------------------------------------

BLANK_KEYS = [("", SECRET), ("   ", SECRET), (APP, ""), (APP, " \t\n "), (None, SECRET), (APP, None)]


@pytest.mark.parametrize("appkey, secretkey", BLANK_KEYS)
def test_blank_keys_refused_before_issue(fake_kiwoom, appkey, secretkey):
    with pytest.raises(CredentialsError) as caught:
        issue_token(appkey, secretkey, transport=fake_kiwoom.transport)

    assert fake_kiwoom.requests == []
    assert_tells_no_secret(caught.value, APP, SECRET)


@pytest.mark.parametrize("appkey, secretkey", BLANK_KEYS)
def test_blank_keys_refused_before_revoke(fake_kiwoom, appkey, secretkey):
    with pytest.raises(CredentialsError) as caught:
        revoke_token(appkey, secretkey, TOKEN, transport=fake_kiwoom.transport)

    assert fake_kiwoom.requests == []
    assert_tells_no_secret(caught.value, APP, SECRET, TOKEN)


@pytest.mark.parametrize("token", ["", "   ", None])
def test_blank_token_is_not_sent_for_revoke(fake_kiwoom, token):
    with pytest.raises(KiwoomError):
        revoke_token(APP, SECRET, token, transport=fake_kiwoom.transport)

    assert fake_kiwoom.requests == []


# -- revoke succeeds only on return_code 0 ------------------------------------------------------


@pytest.mark.parametrize("answer", [{"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}, {"return_code": "0"}])
def test_revoke_accepts_return_code_0(answer):
    assert revoke_token(APP, SECRET, TOKEN, transport=answering(200, answer)) is None


@pytest.mark.parametrize(
    "answer",
    [
        {"return_msg": "정상적으로 처리되었습니다"},
        {},
        {"return_code": ""},
        {"return_code": None},
        {"return_code": 1, "return_msg": "실패"},
        ["return_code", 0],
    ],
)
def test_revoke_without_return_code_0_raises(answer):
    with pytest.raises(KiwoomError) as caught:
        revoke_token(APP, SECRET, TOKEN, transport=answering(200, answer))

    assert_tells_no_secret(caught.value, APP, SECRET, TOKEN)


def test_revoke_answered_return_code_3_raises_token_error():
    answer = ERRORS["invalid_token"][1]

    with pytest.raises(TokenError) as caught:
        revoke_token(APP, SECRET, TOKEN, transport=answering(200, answer))

    assert (caught.value.code, caught.value.return_code) == (8005, 3)


def test_revoke_of_an_unknown_token_raises_token_error(fake_kiwoom):
    with pytest.raises(TokenError) as caught:
        revoke_token(APP, SECRET, TOKEN, transport=fake_kiwoom.transport)

    assert caught.value.code == 8005


def test_revoke_twice_raises_token_error(fake_kiwoom):
    token = issue_token(APP, SECRET, transport=fake_kiwoom.transport)
    revoke_token(APP, SECRET, token, transport=fake_kiwoom.transport)

    with pytest.raises(TokenError):
        revoke_token(APP, SECRET, token, transport=fake_kiwoom.transport)


# -- every scripted error shape -----------------------------------------------------------------

# name -> (class, code, HTTP status the exception carries)
EXPECTED = {
    "wrong_keys": (CredentialsError, 8001, 200),
    "string_code": (CredentialsError, 8001, 200),
    "wrong_environment": (EnvironmentMismatchError, 8030, 200),
    "invalid_token": (TokenError, 8005, 200),
    "top_level_code": (TokenError, 8005, 200),
    "ip_changed": (AccessDeniedError, 8010, 200),
    "device_auth": (AccessDeniedError, 8050, 200),
    "rate_limited": (RateLimitError, None, 429),
    "rate_code": (RateLimitError, 1700, 200),
    "server_error": (ServerError, None, 500),
    "bad_gateway": (ServerError, None, 502),
    "maintenance": (ServerError, None, 200),
    "not_json": (ServerError, None, 200),
    "no_token": (ServerError, None, 200),
    "bad_expiry": (ServerError, None, 200),
    "rate_limited_tr": (RateLimitError, 1700, 429),
    "too_many_items": (RequestError, 1634, 200),
    "missing_field": (RequestError, 1511, 200),
    "unknown_stock": (UnknownStockError, 1902, 200),
    "mock_unsupported": (NotSupportedError, 8104, 200),
    "other_environment_token": (EnvironmentMismatchError, 8031, 200),
    "unauthorized": (TokenError, None, 401),
    "blocked": (ServerError, None, 400),
}

# Shapes that are errors whatever was asked (no_token and bad_expiry are only wrong for au10001).
ERROR_ANSWERS = [name for name in EXPECTED if name not in ("no_token", "bad_expiry")]


def test_every_scripted_shape_is_covered():
    assert set(EXPECTED) == set(ERRORS)


def assert_matches_shape(exc: KiwoomError, name: str, api_id: str) -> None:
    cls, code, status = EXPECTED[name]
    assert type(exc) is cls
    assert exc.code == code
    assert exc.status_code == status
    assert exc.api_id == api_id
    body = ERRORS[name][1]
    if isinstance(body, dict) and str(body.get("return_code")) != "0":
        assert exc.return_code == int(body["return_code"])
        assert exc.return_msg == body["return_msg"]
    else:  # not a Kiwoom error answer: nothing of Kiwoom's to report
        assert exc.return_code is None
        assert exc.return_msg is None


@pytest.mark.parametrize("name", EXPECTED)
def test_issue_error_shapes(fake_kiwoom, name):
    fake_kiwoom.fail_next(name)

    with pytest.raises(KiwoomError) as caught:
        issue_token(APP, SECRET, transport=fake_kiwoom.transport)

    assert_matches_shape(caught.value, name, "au10001")
    assert str(caught.value).startswith("Login (au10001) failed")
    assert_tells_no_secret(caught.value, APP, SECRET)
    assert fake_kiwoom.live_tokens() == []


@pytest.mark.parametrize("name", ERROR_ANSWERS)
def test_revoke_error_shapes(fake_kiwoom, name):
    token = issue_token(APP, SECRET, transport=fake_kiwoom.transport)
    fake_kiwoom.fail_next(name)

    with pytest.raises(KiwoomError) as caught:
        revoke_token(APP, SECRET, token, transport=fake_kiwoom.transport)

    assert_matches_shape(caught.value, name, "au10002")
    assert str(caught.value).startswith("Logout (au10002) failed")
    assert_tells_no_secret(caught.value, APP, SECRET, token)
    assert fake_kiwoom.is_live(token)


def test_environment_mismatch_says_to_switch(fake_kiwoom):
    fake_kiwoom.fail_next("wrong_environment")

    with pytest.raises(EnvironmentMismatchError) as caught:
        issue_token(APP, SECRET, transport=fake_kiwoom.transport)

    message = str(caught.value)
    assert "mock" in message and "production" in message


@pytest.mark.parametrize("name", ["rate_limited", "rate_code"])
def test_rate_limit_says_to_wait(fake_kiwoom, name):
    fake_kiwoom.fail_next(name)

    with pytest.raises(RateLimitError) as caught:
        issue_token(APP, SECRET, transport=fake_kiwoom.transport)

    assert "wait" in str(caught.value)


def test_rate_limit_with_a_non_json_429():
    with pytest.raises(RateLimitError) as caught:
        issue_token(APP, SECRET, transport=answering(429, text="Too Many Requests"))

    assert caught.value.status_code == 429


def test_error_tree():
    for cls in (CredentialsError, EnvironmentMismatchError, TokenError, AccessDeniedError,
                RateLimitError, ServerError, NetworkError, KiwoomTimeout):
        assert issubclass(cls, KiwoomError)
    assert issubclass(KiwoomTimeout, NetworkError)


# -- the request does not complete --------------------------------------------------------------


def test_transport_hang_raises_kiwoom_timeout(fake_kiwoom):
    fake_kiwoom.fail_next("hang")

    with pytest.raises(KiwoomTimeout) as caught:
        issue_token(APP, SECRET, transport=fake_kiwoom.transport, timeout=2.5)

    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert "2.5 s" in str(caught.value)
    assert_tells_no_secret(caught.value, APP, SECRET)


@pytest.mark.parametrize("padding", [0, 135], ids=["short", "cut-mid-key"])
def test_transport_connect_error_raises_network_error(padding):
    def refuse(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        raise httpx.ConnectError("z" * padding + f" refused {sent['appkey']} {sent['secretkey']}", request=request)

    with pytest.raises(NetworkError) as caught:
        issue_token(APP, SECRET, transport=httpx.MockTransport(refuse))

    assert type(caught.value) is NetworkError
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # httpx's error holds the keys
    assert_tells_no_secret(caught.value, APP, SECRET)
    assert_chain_clean(caught.value, APP, SECRET)


# -- a server that echoes what it was sent ------------------------------------------------------


def echoing(status: int, template: str, *, code: object = 3, as_text: bool = False) -> httpx.MockTransport:
    """A server that writes the request's keys and token into its error message."""

    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        message = template.format(appkey=sent["appkey"], secretkey=sent["secretkey"], token=sent.get("token", ""))
        if as_text:
            return httpx.Response(status, text=message)
        return httpx.Response(status, json={"return_code": code, "return_msg": message})

    return httpx.MockTransport(handler)


ECHOES = {
    "embedded-code": (200, "인증에 실패했습니다[8001:App Key {appkey} / Secret Key {secretkey} 검증 실패, token {token}]", 3),
    "top-level-code": (200, "appkey={appkey}\nsecretkey={secretkey}\ntoken={token}", 8005),
    "rate-limited": (429, "허용된 요청 개수를 초과하였습니다 ({appkey}, {secretkey}, {token})", 5),
    "server-error": (500, "Internal error for {appkey}:{secretkey}:{token}", 99),
    "cut-mid-key": (200, "x" * 280 + " {appkey} {secretkey} {token}", 3),
    "cut-mid-secret": (200, "y" * 270 + " [8001: {secretkey} {appkey} {token}]", 3),
}


@pytest.mark.parametrize("status, template, code", ECHOES.values(), ids=ECHOES.keys())
def test_echoed_keys_are_scrubbed_from_issue_errors(status, template, code):
    with pytest.raises(KiwoomError) as caught:
        issue_token(APP, SECRET, transport=echoing(status, template, code=code))

    assert_tells_no_secret(caught.value, APP, SECRET)


@pytest.mark.parametrize("status, template, code", ECHOES.values(), ids=ECHOES.keys())
def test_echoed_keys_and_token_are_scrubbed_from_revoke_errors(status, template, code):
    with pytest.raises(KiwoomError) as caught:
        revoke_token(APP, SECRET, TOKEN, transport=echoing(status, template, code=code))

    assert_tells_no_secret(caught.value, APP, SECRET, TOKEN)


def test_scrubbed_message_still_says_what_happened():
    template = "인증에 실패했습니다[8001:App Key {appkey} 검증 실패]"

    with pytest.raises(CredentialsError) as caught:
        issue_token(APP, SECRET, transport=echoing(200, template))

    assert caught.value.code == 8001
    assert "인증에 실패했습니다" in caught.value.return_msg


@pytest.mark.parametrize("status", [200, 502])
def test_echoed_keys_in_a_non_json_answer_are_not_shown(status):
    template = "<html>{appkey} {secretkey} {token}</html>"

    with pytest.raises(ServerError) as caught:
        revoke_token(APP, SECRET, TOKEN, transport=echoing(status, template, as_text=True))

    assert_tells_no_secret(caught.value, APP, SECRET, TOKEN)
