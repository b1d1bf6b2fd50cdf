"""A wrong base URL is named where it bites (issue 19, finding 1): errors that a request to the wrong server
also gets say which host the request went to and which variable chose it, and a login through an
overridden base URL says so."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from support import CANARY

import kiwoom_nb
from kiwoom_nb import Client, NetworkError, NotSupportedError, RequestError, ServerError, UnknownStockError

pytestmark = pytest.mark.kernel


def the_error(result) -> str:
    assert result.reply["status"] == "error", result.stdout
    return result.reply["evalue"]


def test_production_keys_sent_to_the_mock_side_name_the_host_and_the_variable(fake, kernel_env, start_kernel):
    """The user's KIWOOM_BASE_URL points at the mock side: Kiwoom says "other environment" (8030), the line says why."""
    env = {**kernel_env, "KIWOOM_BASE_URL": fake.mock_url}
    kernel = start_kernel(env=env)
    kernel.ok("%load_ext kiwoom_nb")
    message = the_error(kernel.run("%kiwoom_login"))

    host = urlsplit(fake.url).netloc
    assert "[8030]" in message or "8030" in message
    assert message.endswith(f"— sent to {host}, set by KIWOOM_BASE_URL={fake.mock_url}"), message
    assert [r.environment for r in fake.requests] == ["mock"]  # where it really went


def test_mock_login_without_a_mock_url_says_the_mock_variable_is_not_set(fake, kernel_env, start_kernel):
    """Only KIWOOM_BASE_URL is set (the Configuration table's first row): --mock goes to mockapi.kiwoom.com, and
    the line says that KIWOOM_BASE_URL is production's. A closed proxy stands in for the unreachable host."""
    env = {k: v for k, v in kernel_env.items() if k != "KIWOOM_MOCK_BASE_URL"}
    env.update({"KIWOOM_MOCK_APPKEY": CANARY["mock"][0], "KIWOOM_MOCK_SECRETKEY": CANARY["mock"][1],
                "HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"})
    kernel = start_kernel(env=env)
    kernel.ok("%load_ext kiwoom_nb\n%config KiwoomMagics.timeout = 3")
    message = the_error(kernel.run("%kiwoom_login --mock"))

    assert "mockapi.kiwoom.com" in message
    assert "KIWOOM_MOCK_BASE_URL is not set (KIWOOM_BASE_URL is production's)" in message, message
    assert fake.requests == []


def test_a_login_through_an_overridden_base_url_says_which(fake, start_kernel):
    kernel = start_kernel()
    kernel.ok("%load_ext kiwoom_nb")
    production = kernel.ok("%kiwoom_login").stdout
    assert production.rstrip().endswith(f"(using KIWOOM_BASE_URL={fake.url})"), production


def test_tr_errors_that_a_wrong_server_also_gives_name_the_host(fake, monkeypatch):
    monkeypatch.setenv("KIWOOM_BASE_URL", fake.url)
    api = Client(*CANARY["production"], base_url=fake.url, transport=fake.transport)
    host = urlsplit(fake.url).netloc
    try:
        fake.fail_next("blocked", path="ka10001")  # an HTML page: a firewall, or not Kiwoom at all
        with pytest.raises(ServerError) as blocked:
            api.call("ka10001", stk_cd="005930")
        assert str(blocked.value).endswith(f"— sent to {host}, set by KIWOOM_BASE_URL={fake.url}")
        with pytest.raises(RequestError) as unknown_tr:
            api.call("ka99999", path="/api/dostk/stkinfo")
        assert str(unknown_tr.value).endswith(f"— sent to {host}, set by KIWOOM_BASE_URL={fake.url}")

        # errors about the request itself say nothing of the address
        for reply, error in (("unknown_stock", UnknownStockError), ("missing_field", RequestError),
                             ("mock_unsupported", NotSupportedError)):
            fake.fail_next(reply, path="ka10001")
            with pytest.raises(error) as refused:
                api.call("ka10001", stk_cd="005930")
            assert "sent to" not in str(refused.value), reply
    finally:
        api.close()


def test_a_base_url_given_in_code_is_named_as_such(fake, monkeypatch):
    monkeypatch.delenv("KIWOOM_BASE_URL", raising=False)
    monkeypatch.delenv("KIWOOM_MOCK_BASE_URL", raising=False)
    host = urlsplit(fake.url).netloc
    with pytest.raises(kiwoom_nb.KiwoomError) as wrong:
        kiwoom_nb.issue_token(*CANARY["production"], base_url=fake.mock_url, transport=fake.transport)
    assert str(wrong.value).endswith(f"— sent to {host}, a base URL given in code or by %config KiwoomMagics")


def test_network_failures_name_what_chose_the_host(monkeypatch):
    monkeypatch.setenv("KIWOOM_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(NetworkError) as failed:
        kiwoom_nb.issue_token(*CANARY["production"], base_url="http://127.0.0.1:9", timeout=3)
    assert "could not reach 127.0.0.1:9" in str(failed.value)
    assert str(failed.value).endswith("— sent to 127.0.0.1:9, set by KIWOOM_BASE_URL=http://127.0.0.1:9")
