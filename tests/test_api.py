"""The TR client (kiwoom_nb.Client) against the fake Kiwoom: what Kiwoom receives, what the caller gets.

Through the fake's httpx transport where no clock or socket matters, on loopback where it does (pacing
spacing as the fake recorded it, a hanging order).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import httpx
import pytest

import kiwoom_nb
from kiwoom_nb import (
    Client,
    KiwoomError,
    KiwoomTimeout,
    NotSupportedError,
    OrderNotConfirmed,
    RateLimitError,
    RequestError,
    ServerError,
    TokenError,
    UnknownStockError,
)
from kiwoom_nb import _pace
from kiwoom_nb.testing import FakeKiwoom
from support import CANARY

KEYS = CANARY["production"]
MOCK_KEYS = CANARY["mock"]
CHART = dict(stk_cd="005930", base_dt="20261201", upd_stkpc_tp="1")
ORDER = dict(dmst_stex_tp="KRX", stk_cd="005930", ord_qty="1", trde_tp="3")


@pytest.fixture
def fake_kiwoom():
    return FakeKiwoom(keys=dict(CANARY), page_size=10, candles=100)


def api_for(fake, *, mock=False, **kwargs):
    keys = MOCK_KEYS if mock else KEYS
    kwargs.setdefault("pace", None)
    return Client(*keys, mock=mock, transport=fake.transport, **kwargs)


def tr_requests(fake, api_id=None):
    return [r for r in fake.requests if r.path.startswith("/api/") and (api_id is None or r.api_id == api_id)]


def assert_tells_no_secret(exc, fake, keys=KEYS):
    text = f"{exc} {exc!r} {exc.return_msg}"
    for secret in (*keys, *(t.value for t in fake.tokens)):
        assert secret not in text
    assert "\n" not in str(exc)


# -- requests as Kiwoom documents them ----------------------------------------------------------


def test_call_sends_documented_headers_and_string_fields(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        answer = api.call("ka10081", stk_cd="005930", base_dt=20261201, upd_stkpc_tp=1)

    request = tr_requests(fake_kiwoom)[0]
    token = fake_kiwoom.tokens[0].value
    assert request.path == "/api/dostk/chart"
    assert request.headers["content-type"] == "application/json;charset=UTF-8"
    assert request.headers["api-id"] == "ka10081"
    assert request.headers["authorization"] == f"Bearer {token}"
    assert request.headers["cont-yn"] == "N" and request.headers["next-key"] == ""
    assert request.body == {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}
    assert isinstance(answer, dict) and answer["return_code"] == 0
    assert answer.api_id == "ka10081" and answer.cont is True and answer.next_key


def test_pages_follow_response_headers_and_echo_them_exactly(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        pages = list(api.pages("ka10081", **CHART))
        rows = api.rows("ka10081", **CHART)

    assert len(pages) == 10
    served = fake_kiwoom.served[:10]
    chart = tr_requests(fake_kiwoom, "ka10081")[:10]
    for before, request in zip(served, chart[1:]):
        assert request.headers["cont-yn"] == "Y"
        assert request.headers["next-key"] == before["next_key"]
        assert request.body == CHART  # the same body every page
    union = [row for page in served for row in page["rows"]]
    assert [row for page in pages for row in page["stk_dt_pole_chart_qry"]] == union
    assert rows == union and len({r["dt"] for r in rows}) == 100
    assert pages[-1].cont is False


def test_max_pages_stops_early(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        pages = list(api.pages("ka10081", max_pages=3, **CHART))

    assert len(pages) == 3 and len(tr_requests(fake_kiwoom)) == 3 and pages[-1].cont


def test_answer_of_a_flat_tr_is_one_row(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        rows = api.rows("ka10001", stk_cd="005930")

    assert len(rows) == 1 and rows[0]["stk_cd"] == "005930" and "return_code" not in rows[0]


# -- failures: one line, nothing leaked ---------------------------------------------------------


def test_unknown_api_id_names_path_and_sends_nothing(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        with pytest.raises(RequestError) as caught:
            api.call("ka99999", stk_cd="005930")

    assert "path=" in str(caught.value)
    assert "kiwoom_nb.find_trs()" in str(caught.value)  # works without the extension too (issue 19)
    assert tr_requests(fake_kiwoom) == []


def test_path_lets_a_tr_outside_the_table_through(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        with pytest.raises(RequestError) as caught:
            api.call("ka99999", path="/api/dostk/stkinfo", stk_cd="005930")

    assert caught.value.code == 1505  # the fake does not know it either; the point is it was sent
    assert "kiwoom_nb.find_trs()" in str(caught.value)  # not only %kiwoom --find, absent without %load_ext
    assert tr_requests(fake_kiwoom)[0].path == "/api/dostk/stkinfo"


def test_api_id_at_the_wrong_path_is_1504(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        with pytest.raises(RequestError) as caught:
            api.call("ka10081", path="/api/dostk/stkinfo", **CHART)

    assert caught.value.code == 1504 and "path=" in str(caught.value)


@pytest.mark.parametrize(
    "call, cls, code",
    [
        (lambda api: api.call("ka10001", check=False), RequestError, 1511),  # Kiwoom's own check
        (lambda api: api.call("ka10001", stk_cd="999999"), UnknownStockError, 1902),
        (lambda api: api.call("ka10001", stk_cd="005930", _fail="maintenance"), ServerError, None),
        (lambda api: api.call("ka10001", stk_cd="005930", _fail="blocked"), ServerError, None),
    ],
    ids=["1511", "1902", "html-maintenance", "html-waf-400"],
)
def test_errors_are_one_line_and_leak_nothing(fake_kiwoom, call, cls, code):
    with api_for(fake_kiwoom) as api:
        api.call("ka10001", stk_cd="005930")  # logged in and working first

        def run(api):
            return call(_Failing(api, fake_kiwoom))

        with pytest.raises(cls) as caught:
            run(api)
        assert caught.value.code == code
        assert caught.value.api_id == "ka10001"
        assert_tells_no_secret(caught.value, fake_kiwoom)
        assert api.call("ka10001", stk_cd="005930")["stk_cd"] == "005930"  # the login is intact
    if code == 1511:
        assert "stk_cd" in str(caught.value)


class _Failing:
    """Lets a parametrized case script a fake error with a ``_fail=`` pseudo-field."""

    def __init__(self, api, fake):
        self.api, self.fake = api, fake

    def call(self, api_id, **fields):
        failure = fields.pop("_fail", None)
        if failure:
            self.fake.fail_next(failure, path=api_id)
        return self.api.call(api_id, **fields)


def test_mock_unsupported_tr_is_8104(fake_kiwoom):
    with api_for(fake_kiwoom, mock=True) as api:
        with pytest.raises(NotSupportedError) as caught:
            api.call("ka10068", strt_dt="20261101", end_dt="20261201", all_tp="1")

    assert caught.value.code == 8104 and "mock" in str(caught.value)
    assert_tells_no_secret(caught.value, fake_kiwoom, MOCK_KEYS)


def test_too_many_items_1634_is_sent_once_and_not_retried(fake_kiwoom):
    fake_kiwoom.fail_next("too_many_items", path="ka10095")
    with api_for(fake_kiwoom) as api:
        with pytest.raises(RequestError) as caught:
            api.call("ka10095", stk_cd="|".join(["005930"] * 101))

    assert caught.value.code == 1634 and "not retried" in str(caught.value)
    assert len(tr_requests(fake_kiwoom, "ka10095")) == 1


def test_a_query_is_retried_once_after_a_server_error(fake_kiwoom):
    fake_kiwoom.fail_next("server_error", path="ka10001")
    with api_for(fake_kiwoom) as api:
        assert api.call("ka10001", stk_cd="005930")["stk_cd"] == "005930"

    assert len(tr_requests(fake_kiwoom, "ka10001")) == 2


# -- orders -------------------------------------------------------------------------------------


def test_production_order_without_confirm_is_never_sent(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        for api_id in ("kt10000", "kt10001", "kt10006", "kt50000", "kt19999"):
            with pytest.raises(OrderNotConfirmed) as caught:
                api.call(api_id, **ORDER)
            assert "confirm=True" in str(caught.value) and "not sent" in str(caught.value)

    assert tr_requests(fake_kiwoom) == [] and fake_kiwoom.orders == []


def test_production_order_with_confirm_is_sent_once(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        answer = api.call("kt10000", confirm=True, **ORDER)

    assert answer["ord_no"] and len(fake_kiwoom.orders) == 1
    assert len(tr_requests(fake_kiwoom, "kt10000")) == 1


def test_mock_orders_need_no_confirm(fake_kiwoom):
    with api_for(fake_kiwoom, mock=True) as api:
        api.call("kt10000", **ORDER)

    assert len(fake_kiwoom.orders) == 1 and fake_kiwoom.orders[0].environment == "mock"


@pytest.mark.parametrize("failure", ["server_error", "bad_gateway"])
def test_an_order_is_not_resent_after_a_server_error(fake_kiwoom, failure):
    fake_kiwoom.fail_next(failure, path="kt10000")
    with api_for(fake_kiwoom) as api:
        with pytest.raises(ServerError):
            api.call("kt10000", confirm=True, **ORDER)

    assert len(tr_requests(fake_kiwoom, "kt10000")) == 1


def test_an_order_refused_by_the_rate_limit_is_retried(fake_kiwoom):
    fake_kiwoom.fail_next("rate_limited", path="kt10000")
    with api_for(fake_kiwoom) as api:
        api.backoff = (0.05,)
        api.call("kt10000", confirm=True, **ORDER)

    assert len(tr_requests(fake_kiwoom, "kt10000")) == 2 and len(fake_kiwoom.orders) == 1


def test_an_order_that_times_out_is_not_resent(fake):
    fake.fail_next("hang", path="kt10000")
    with Client(*KEYS, base_url=fake.url, timeout=0.5, pace=None) as api:
        with pytest.raises(KiwoomTimeout):
            api.call("kt10000", confirm=True, **ORDER)
        assert len(fake.received("/api/dostk/ordr")) == 1
        api.call("ka10001", stk_cd="005930")  # the client goes on working

    assert len(fake.received("/api/dostk/ordr")) == 1


# -- the token stays right by itself ------------------------------------------------------------


def test_revoked_mid_fetch_reissues_once_without_duplicates(fake_kiwoom):
    fake_kiwoom.revoke_after(5)
    with api_for(fake_kiwoom) as api:
        rows = api.rows("ka10081", **CHART)

    assert len(fake_kiwoom.issues) == 2
    assert len(rows) == 100 and len({r["dt"] for r in rows}) == 100
    assert rows == [row for page in fake_kiwoom.served for row in page["rows"]]
    chart = tr_requests(fake_kiwoom, "ka10081")
    assert len(chart) == 11  # ten pages and the one refused request, resent once


def test_a_second_rejection_after_the_reissue_surfaces(fake_kiwoom):
    with api_for(fake_kiwoom) as api:
        api.call("ka10001", stk_cd="005930")
        fake_kiwoom.fail_next("invalid_token", path="ka10001")
        fake_kiwoom.fail_next("invalid_token", path="ka10001")
        with pytest.raises(TokenError) as caught:
            api.call("ka10001", stk_cd="005930")

    assert caught.value.code == 8005
    assert len(fake_kiwoom.issues) == 2  # one re-issue, no loop
    assert len(tr_requests(fake_kiwoom, "ka10001")) == 3


@pytest.mark.parametrize("failure", ["ip_changed", "unauthorized", "other_environment_token"])
def test_ip_change_401_and_8031_reissue_once(fake_kiwoom, failure):
    with api_for(fake_kiwoom) as api:
        api.call("ka10001", stk_cd="005930")
        fake_kiwoom.fail_next(failure, path="ka10001")
        api.call("ka10001", stk_cd="005930")

    assert len(fake_kiwoom.issues) == 2


def test_token_near_expiry_is_reissued_before_the_request(fake_kiwoom):
    from datetime import timedelta

    fake_kiwoom.lifetime = timedelta(minutes=5)  # always inside a 10-minute margin
    with api_for(fake_kiwoom, refresh_margin=600) as api:
        api.call("ka10001", stk_cd="005930")
        api.call("ka10001", stk_cd="005930")

    assert len(fake_kiwoom.issues) == 2
    first, second = tr_requests(fake_kiwoom)
    assert first.headers["authorization"] != second.headers["authorization"]
    assert fake_kiwoom.live_tokens() == []  # the replaced one revoked, the last one revoked on close


# -- pacing and rate limits (loopback: the fake's verdicts are the evidence) -----------------------
#
# The fake refuses (429, 유량=N) any request that finds N accepted ones of its api-id in the second before
# it, by its own clock. Counting its refusals is counting the seconds in which it saw too many, and
# cannot flake: the client sends one call at a time, so each arrives after the previous one was
# answered, and no delay of the machine can push two into one second. How close to the limit the client
# gets is measured by bench/bench.py (goal 6: rate achieved, refusals per 100 calls).


def arrivals(fake, api_id):
    """Every request for ``api_id`` as the fake received it, refused ones included."""
    return [r for r in fake.requests if r.api_id == api_id]


def test_thirty_calls_against_three_per_second(fake):
    fake.rate_limit = 3
    with Client(*KEYS, base_url=fake.url) as api:  # default pace: 5 per second, until Kiwoom says 3
        answers = [api.call("ka10001", stk_cd="005930") for _ in range(30)]

    assert len(answers) == 30 and all(a["stk_cd"] == "005930" for a in answers)
    assert fake.rate_refusals <= 1  # at most the one that told the client 유량=3; none after it learned
    assert len(arrivals(fake, "ka10001")) == 30 + fake.rate_refusals


def test_learned_rate_slows_the_client_to_two_per_second(fake):
    fake.rate_limit = {"ka10001": 2}
    with Client(*KEYS, base_url=fake.url, pace=10) as api:
        for _ in range(8):
            api.call("ka10001", stk_cd="005930")

    # at 10 per second the third call finds two in its second and is refused (유량=2); from then on the
    # client keeps to 2 per second as Kiwoom counts them: nothing else is refused
    assert fake.rate_refusals == 1
    assert len(arrivals(fake, "ka10001")) == 8 + 1  # the refused one was sent again
    assert _pace.pacer_for(KEYS[0], False).learned["ka10001"] == 2


def test_pace_is_shared_by_clients_of_one_app_key(fake):
    # pace 4 per client (0.26 s apart), Kiwoom allows 5 per second. Two clients pacing apart would send
    # their 6 calls within about half a second, and the sixth would be refused. Paced together, the sixth
    # leaves 4 intervals (1.04 s) after the second, which left after the first had arrived: the fake
    # never sees six in one second, however the machine delays them.
    fake.rate_limit = 5
    first = Client(*KEYS, base_url=fake.url, pace=4)
    second = Client(*KEYS, base_url=fake.url, pace=4)
    with first, second:
        for _ in range(3):
            first.call("ka10001", stk_cd="005930")
            second.call("ka10001", stk_cd="005930")

    assert fake.rate_refusals == 0
    assert len(arrivals(fake, "ka10001")) == 6
    assert _pace.pacer_for(KEYS[0], False).learned == {}  # no 1700 ever taught it anything


def test_rate_limit_gives_up_after_bounded_retries(fake_kiwoom):
    for _ in range(4):
        fake_kiwoom.fail_next("rate_limited", path="ka10001")
    with api_for(fake_kiwoom) as api:
        api.backoff = (0.01, 0.01, 0.01)
        with pytest.raises(RateLimitError) as caught:
            api.call("ka10001", stk_cd="005930")

    assert "wait about" in str(caught.value) and "3 retries" in str(caught.value)
    assert len(tr_requests(fake_kiwoom, "ka10001")) == 4


# -- where notebooks run ------------------------------------------------------------------------


def test_works_inside_a_running_event_loop(fake_kiwoom):
    async def main():
        with api_for(fake_kiwoom) as api:
            return api.call("ka10001", stk_cd="005930"), asyncio.get_running_loop().is_running()

    answer, running = asyncio.run(main())
    assert running and answer["stk_cd"] == "005930"


def test_ctrl_c_between_pages_keeps_what_was_fetched(fake_kiwoom):
    seen = []

    def handler(request):
        if request.headers.get("api-id") == "ka10081":
            seen.append(request)
            if len(seen) == 4:
                raise KeyboardInterrupt
        reply = fake_kiwoom.handle(request.method, request.url.path, dict(request.headers), request.read())
        return httpx.Response(reply.status, headers=reply.headers, content=reply.content)

    with Client(*KEYS, transport=httpx.MockTransport(handler), pace=None) as api:
        with pytest.raises(KeyboardInterrupt):
            api.frame("ka10081", **CHART)
        assert len(api.last) == 3
        assert sum(len(a["stk_dt_pole_chart_qry"]) for a in api.last) == 30
        assert len(api.to_frame()) == 30


def test_client_revokes_on_close_and_refuses_afterwards(fake_kiwoom):
    api = api_for(fake_kiwoom)
    api.call("ka10001", stk_cd="005930")
    api.close()

    assert fake_kiwoom.live_tokens() == [] and len(fake_kiwoom.revokes) == 1
    with pytest.raises(KiwoomError, match="closed"):
        api.call("ka10001", stk_cd="005930")
    assert "own token" in repr(api) and KEYS[0] not in repr(api)


def test_client_revokes_at_interpreter_exit(fake):
    script = textwrap.dedent(f"""
        import kiwoom_nb
        api = kiwoom_nb.Client({KEYS[0]!r}, {KEYS[1]!r}, base_url={fake.url!r})
        print(api.call("ka10001", stk_cd="005930")["stk_nm"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert len(fake.issues) == 1 and len(fake.revokes) == 1
    assert fake.live_tokens() == []


def test_client_needs_no_ipython():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, kiwoom_nb\nfrom kiwoom_nb.testing import FakeKiwoom, DEMO_KEYS\n"
         "f = FakeKiwoom()\nwith kiwoom_nb.Client(*DEMO_KEYS['production'], transport=f.transport) as api:\n"
         "    api.call('ka10001', stk_cd='005930')\nprint('IPython' in sys.modules, len(f.revokes))"],
        capture_output=True, text=True, timeout=60)

    assert done.stdout.split() == ["False", "1"], done.stderr


def test_client_outside_ipython_points_to_client_class(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # as in a script, whichever tests made a shell before
    with pytest.raises(KiwoomError, match="kiwoom_nb.Client"):
        kiwoom_nb.client()


def test_bad_base_url_fails_at_construction(fake_kiwoom):
    with pytest.raises(KiwoomError, match="refusing plain http"):
        Client(*KEYS, base_url="http://example.com", transport=fake_kiwoom.transport)

    assert fake_kiwoom.requests == []  # nothing was sent: no token asked for, keys not on the wire


# -- the TR codes of Kiwoom's error table -------------------------------------------------------


@pytest.mark.parametrize(
    "return_code, return_msg, status, cls, code",
    [
        (2, "입력 값 오류입니다[1517:입력 값 형식 오류 필드=base_dt]", 200, RequestError, 1517),
        (5, "허용된 요청 개수를 초과하였습니다[1634:종목 개수 초과]", 200, RequestError, 1634),  # not a rate limit
        (5, "허용된 요청 개수를 초과하였습니다[1701:전체 유량 초과]", 429, RateLimitError, 1701),
        (5, "허용된 요청 개수를 초과하였습니다[1702:그룹 유량 초과]", 200, RateLimitError, 1702),
        (2, "[1687:재귀 호출이 발생하여 API 호출을 제한합니다]", 200, RequestError, 1687),
        (2, "[1901:시장 코드값이 존재하지 않습니다]", 200, UnknownStockError, 1901),
        (1999, "예기치 못한 에러가 발생했습니다", 200, NotSupportedError, 1999),
        (2, "[8200:법인 고객은 이용할 수 없습니다]", 200, NotSupportedError, 8200),
        ("3", "인증에 실패했습니다", 401, TokenError, None),
    ],
)
def test_tr_error_codes_map_to_what_the_user_must_do(return_code, return_msg, status, cls, code):
    from kiwoom_nb._errors import error_for_answer

    exc = error_for_answer("ka10081", return_code=return_code, return_msg=return_msg, status_code=status,
                           api_id="ka10081")

    assert type(exc) is cls and exc.code == code and exc.api_id == "ka10081"
    assert str(exc).startswith("ka10081 failed: ") and "\n" not in str(exc)
