"""A base URL no request could go to is one KiwoomError line naming it, before anything is sent, from every entry
point that takes one (issue 28's review, item 4): it escaped as a raw ValueError or httpx.InvalidURL from the URL
parsing of the order guard. The magics' side (%config, %kiwoom_login) is in tests/notebook/test_magics.py."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CANARY, wait_for

import kiwoom_nb
from kiwoom_nb import KiwoomError
from kiwoom_nb.auth._client import is_mock_destination, resolve_base_url
from kiwoom_nb.auth._session import Session

KEYS = CANARY["production"]

ODD = ["https://[::ffff:api]", "http://[::1]:abc", "https://api.kiwoom.com:99999", "https://api.kiwoom.com:0",
       "https://[::1", "http://127.0.0.1:", "https://xn--0", "https://user:pw@api.kiwoom.com", "https://a b.com",
       "https://api.kiwoom.com/?x=1", "https://999.1.1.1", "http://0:[::]", "https://키움.com", "https://",
       "api.kiwoom.com"]


@pytest.fixture(autouse=True)
def _no_configured_urls(monkeypatch):
    for name in ("KIWOOM_BASE_URL", "KIWOOM_MOCK_BASE_URL", "KIWOOM_WS_URL", "KIWOOM_MOCK_WS_URL"):
        monkeypatch.delenv(name, raising=False)


def one_line(caught, name: str = "base_url") -> str:
    text = str(caught.value)
    assert type(caught.value) is KiwoomError and "\n" not in text and name in text and "nothing was sent" in text
    error = caught.value  # no raw ValueError shown behind it
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return text


@pytest.mark.parametrize("url", ODD)
@pytest.mark.parametrize("mock", [False, True])
def test_every_entry_point_refuses_an_odd_base_url_in_one_line_and_sends_nothing(fake, url, mock):
    keys = CANARY["mock" if mock else "production"]
    entries = {
        "Client": lambda: kiwoom_nb.Client(*keys, base_url=url, mock=mock, transport=fake.transport).call(
            "kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="1", trde_tp="3", confirm=True),
        "Stream": lambda: kiwoom_nb.Stream(*keys, base_url=url, mock=mock, ws_url=fake.ws_url, transport=fake.transport),
        "login": lambda: Session(transport=fake.transport).login(*keys, var="kiwoom_token", mock=mock, base_url=url),
        "issue_token": lambda: kiwoom_nb.issue_token(*keys, base_url=url, mock=mock, transport=fake.transport),
    }
    for name, entry in entries.items():
        with pytest.raises(KiwoomError) as caught:
            entry()
        assert repr(url) in one_line(caught), name
    assert fake.requests == [] and fake.ws.received() == []


@pytest.mark.parametrize("url", ["wss://[::ffff:api]", "ws://[::1]:abc", "wss://api.kiwoom.com:99999", "ws://",
                                 "wss://xn--0:10000"])
def test_a_stream_refuses_an_odd_ws_url_in_one_line_before_logging_in(fake, url):
    with pytest.raises(KiwoomError) as caught:
        kiwoom_nb.Stream(*KEYS, base_url=fake.url, ws_url=url)
    one_line(caught, "ws_url")
    assert fake.issues == []


def test_a_malformed_base_url_set_in_the_environment_is_named_by_its_variable(fake, monkeypatch):
    monkeypatch.setenv("KIWOOM_BASE_URL", "http://[::1]:abc")
    with pytest.raises(KiwoomError) as caught:
        kiwoom_nb.Client(*KEYS, transport=fake.transport)
    assert "KIWOOM_BASE_URL='http://[::1]:abc'" in one_line(caught, "KIWOOM_BASE_URL")
    assert fake.requests == []


def test_good_base_urls_still_pass(fake):
    for url in ("https://api.kiwoom.com", "https://API.kiwoom.com.:443/", "https://mockapi.kiwoom.com/",
                "http://[::1]:8080", "https://10.0.0.1:8443/kiwoom", "http://localhost", "https://xn--3e0b707e.com"):
        assert resolve_base_url(url, False) == url.strip().rstrip("/")
    with kiwoom_nb.Client(*CANARY["mock"], mock=True, base_url=fake.mock_url + "/", pace=None) as api:
        api.call("ka10001", stk_cd="005930")


PIECES = ["https://", "http://", "wss://", "[", "]", ":", "::", "@", "/", "?", "#", "%", ".", "-", "_", " ", "\t",
          "\x00", "\\", "api.kiwoom.com", "127.0.0.1", "::1", "::ffff:api", "abc", "99999", "0", "443", "localhost",
          "키움", "1.2.3.4", "999.1.1.1", "xn--", "xn--0", "xn--3e0b707e", "a", "1", "[::1]", "%25eth0", "fe80::1%eth0"]
ODD_TEXT = st.one_of(st.text(), st.lists(st.sampled_from(PIECES), max_size=12).map("".join))


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(ODD_TEXT, st.booleans())
def test_any_text_is_refused_in_one_line_or_is_a_url_every_later_step_takes(text, mock):
    """Whatever the text, the check either refuses it (one KiwoomError line) or returns a URL that the order guard,
    urllib and httpx all read without raising; no other exception ever."""
    try:
        url = resolve_base_url(text, mock)
    except KiwoomError as exc:
        assert "\n" not in str(exc)
        return
    is_mock_destination(url)  # the guard parses it
    httpx.Request("POST", url + "/api/dostk/ordr")  # httpx decodes the host here (an xn-- label)


def test_a_malformed_production_setting_leaves_a_mock_client_and_stream_working(fake, monkeypatch):
    """The order guard and the WebSocket check compare with KIWOOM_BASE_URL / KIWOOM_WS_URL: malformed ones raised a
    raw ValueError there, in a mock client that never uses them."""
    monkeypatch.setenv("KIWOOM_BASE_URL", "https://[::ffff:api]")
    monkeypatch.setenv("KIWOOM_WS_URL", "wss://[::ffff:api]")
    with kiwoom_nb.Client(*CANARY["mock"], mock=True, base_url=fake.mock_url, pace=None) as api:
        api.call("kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="1", trde_tp="3")  # mock: unconfirmed
    live = kiwoom_nb.Stream(*CANARY["mock"], mock=True, base_url=fake.mock_url, ws_url=fake.mock_ws_url)
    live.close()
    assert [order.environment for order in fake.orders] == ["mock"]
    wait_for(lambda: fake.live_tokens() == [], 20, "every token revoked (the stream hub's after its grace period)")
