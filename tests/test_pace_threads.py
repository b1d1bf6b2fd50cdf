"""Pacing with concurrent callers, Kiwoom's overall (1701) and group (1702) limits, and the bounded httpx cache.

The evidence is what the fake Kiwoom observed: when each request arrived (``ReceivedRequest.at``). The one
timing property checked is the one the README promises: once Kiwoom stated N per second for a scope, no
second at Kiwoom holds N + 1 of its requests.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest

from kiwoom_nb import Client, _client, _pace
from kiwoom_nb.testing import FakeKiwoom, wait_until
from support import CANARY

KEYS = CANARY["production"]
CHART = dict(stk_cd="005930", base_dt="20261201", upd_stkpc_tp="1")
ACCOUNT = dict(qry_tp="1", dmst_stex_tp="KRX")


@pytest.fixture
def fake_kiwoom():
    return FakeKiwoom(keys=dict(CANARY), page_size=10, candles=100)


class Wire:
    """The fake Kiwoom behind what a network adds: every ``late_every``-th TR request reaches it ``late``
    seconds after it was sent, answers come back ``slow`` seconds after it decided them, ``refuse`` answers
    the next requests of an api-id with a given Kiwoom message (429), and a closed ``gate`` keeps answers to
    ``gated`` api-ids back until it opens. Arrivals are recorded by the fake, refused ones included."""

    def __init__(self, fake: FakeKiwoom) -> None:
        self.fake, self.late_every, self.late, self.slow = fake, 0, 0.0, 0.0
        self.refuse: dict[str, list[str]] = {}
        self.gate, self.gated = threading.Event(), ()
        self.gate.set()
        self._lock = threading.Lock()
        self._sent = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        api_id = request.headers.get("api-id", "")
        tr = request.url.path.startswith("/api/")
        if tr and self.late_every:
            with self._lock:
                self._sent += 1
                late = self._sent % self.late_every == 1
            if late:
                time.sleep(self.late)  # the network holding this one back
        reply = self.fake.handle(request.method, request.url.path, dict(request.headers), request.read())
        with self._lock:
            refusal = self.refuse[api_id].pop(0) if self.refuse.get(api_id) else None
        if tr:
            time.sleep(self.slow)
            if api_id in self.gated:
                assert self.gate.wait(30), "the gate was never opened"
        if refusal:
            return httpx.Response(429, json={"return_code": 5, "return_msg": refusal}, headers={"api-id": api_id})
        return httpx.Response(reply.status, headers=reply.headers, content=reply.content)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


def refusal(code: int, rate: int) -> str:
    return f"허용된 요청 개수를 초과하였습니다[{code}:허용된 요청 개수를 초과하였습니다 유량={rate}]"


def arrival_times(fake: FakeKiwoom, *api_ids: str) -> list[float]:
    """When the requests of ``api_ids`` arrived at the fake, in order of arrival, refused ones included."""
    return [r.at for r in fake.requests if r.path.startswith("/api/") and (not api_ids or r.api_id in api_ids)]


def crowded(times: list[float], n: int, since: int = 0) -> list[int]:
    """Where n + 1 arrivals fell within one second, for the windows ending at ``times[since:]``."""
    return [j for j in range(max(since, n), len(times)) if times[j] - times[j - n] < 1.0]


def in_threads(count: int, work):
    """Start ``count`` threads running ``work``; the returned function joins them and returns what each
    returned or raised."""
    results: list = []

    def run() -> None:
        try:
            results.append(work())
        except Exception as exc:  # noqa: BLE001 - the caller compares the results
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()

    def joined() -> list:
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads), "a caller was still waiting after 60 s"
        return results

    return joined


# -- concurrent callers -------------------------------------------------------------------------------


def test_threads_sharing_a_client_keep_to_the_rate_kiwoom_stated(fake_kiwoom):
    # Six threads, one client, a TR Kiwoom allows 4 times per second. Answers are slow and the network
    # holds some requests back: requests pile up in flight, and counting only answered ones would let
    # five land in one of Kiwoom's seconds.
    fake_kiwoom.rate_limit = {"ka10001": 4}
    wire = Wire(fake_kiwoom)
    with Client(*KEYS, transport=wire.transport, pace=None) as api:
        for _ in range(5):  # the fifth is refused (유량=4), the limit is learned, the refused one resent
            api.call("ka10001", stk_cd="005930")
        assert fake_kiwoom.rate_refusals == 1
        learned_at = len(arrival_times(fake_kiwoom, "ka10001"))
        wire.late_every, wire.late, wire.slow = 5, 0.3, 0.4
        results = in_threads(6, lambda: [api.call("ka10001", stk_cd="005930")["stk_cd"] for _ in range(2)])()

    assert results == [["005930", "005930"]] * 6
    assert fake_kiwoom.rate_refusals == 1  # nothing refused once the limit was known
    times = arrival_times(fake_kiwoom, "ka10001")
    assert len(times) == learned_at + 12
    assert crowded(times, 4, since=learned_at - 1) == []  # the resent one and everything after it


# -- 1701 (overall) and 1702 (group) ------------------------------------------------------------------


def test_a_1701_refusal_slows_every_api_id_of_the_app_key(fake_kiwoom):
    wire = Wire(fake_kiwoom)
    wire.refuse["ka10001"] = [refusal(1701, 2)]
    with Client(*KEYS, transport=wire.transport, pace=None) as api:
        api.call("ka10001", stk_cd="005930")  # refused: 2 per second over all TRs; resent
        assert _pace.pacer_for(KEYS[0], False).learned == {_pace.OVERALL: 2}
        for _ in range(2):
            api.call("ka10099", mrkt_tp="0")
            api.call("kt00018", **ACCOUNT)
            api.call("ka10081", **CHART)

    times = arrival_times(fake_kiwoom)
    assert len(times) == 2 + 6
    assert crowded(times, 2) == []  # three TRs of three groups, never three requests in one second


def test_a_1702_refusal_slows_its_group_and_no_other(fake_kiwoom):
    wire = Wire(fake_kiwoom)
    wire.refuse["ka10001"] = [refusal(1702, 2)]
    with Client(*KEYS, transport=wire.transport, pace=None) as api:
        api.call("ka10001", stk_cd="005930")  # refused: 2 per second for /api/dostk/stkinfo; resent
        assert _pace.pacer_for(KEYS[0], False).learned == {"/api/dostk/stkinfo": 2}

        # two ka10001 in flight fill the group; requests of other groups still go
        wire.gate.clear()
        wire.gated = ("ka10001",)
        in_flight = in_threads(2, lambda: api.call("ka10001", stk_cd="005930")["stk_cd"])
        wait_until(lambda: len(arrival_times(fake_kiwoom, "ka10001")) == 4, 30, "two more ka10001 at the fake")
        api.call("ka10081", **CHART)
        api.call("kt00018", **ACCOUNT)
        assert not wire.gate.is_set()  # both answered while the group was full
        # other TRs of the group wait: the two in flight count for them
        same_group = in_threads(2, lambda: api.call("ka10099", mrkt_tp="0")["return_code"])
        wire.gate.set()
        assert in_flight() == ["005930"] * 2 and same_group() == [0] * 2

    stkinfo = arrival_times(fake_kiwoom, "ka10001", "ka10099")
    assert len(stkinfo) == 2 + 2 + 2
    assert crowded(stkinfo, 2, since=2) == []


# -- the httpx clients ----------------------------------------------------------------------------------


def test_fifty_transports_keep_at_most_eight_httpx_clients_and_exit_closes_them(fake_kiwoom):
    seen = set()
    for _ in range(50):
        with Client(*KEYS, transport=fake_kiwoom.transport, pace=None) as api:  # a new transport each time
            api.call("ka10001", stk_cd="005930")
        seen |= {shared.client for shared in _client._clients.values()}

    assert len(seen) >= 50 and len(_client._clients) <= _client._KEEP
    assert sum(not client.is_closed for client in seen) <= _client._KEEP
    _client._close_all()  # what atexit runs
    assert all(client.is_closed for client in seen)
    with Client(*KEYS, transport=fake_kiwoom.transport, pace=None) as api:  # a later call makes a new one
        assert api.call("ka10001", stk_cd="005930")["stk_cd"] == "005930"


def test_a_client_evicted_mid_request_closes_when_its_request_ends(fake_kiwoom):
    wire = Wire(fake_kiwoom)
    wire.gate.clear()
    wire.gated = ("ka10001",)
    api = Client(*KEYS, transport=wire.transport, pace=None)
    api.call("ka10081", **CHART)
    shared = _client._clients[id(api.tokens.transport)]
    caller = in_threads(1, lambda: api.call("ka10001", stk_cd="005930")["stk_cd"])
    wait_until(lambda: fake_kiwoom.received("/api/dostk/stkinfo"), 30, "the request at the fake")
    for _ in range(_client._KEEP):  # pushes it out of the cache
        with Client(*KEYS, transport=fake_kiwoom.transport, pace=None) as other:
            other.call("ka10001", stk_cd="005930")
    assert id(api.tokens.transport) not in _client._clients and not shared.client.is_closed  # still in use
    wire.gate.set()
    assert caller() == ["005930"]
    assert shared.client.is_closed
    api.close()  # a new client for the revoke
    assert fake_kiwoom.live_tokens() == []


def test_httpx_clients_are_closed_at_exit_after_the_revokes(fake):
    script = textwrap.dedent(f"""
        import atexit

        clients = []
        # registered before kiwoom_nb is imported: runs after all of its exit hooks
        atexit.register(lambda: print("closed:", all(client.is_closed for client in clients)))
        import kiwoom_nb
        from kiwoom_nb import _client

        api = kiwoom_nb.Client({KEYS[0]!r}, {KEYS[1]!r}, base_url={fake.url!r})
        print(api.call("ka10001", stk_cd="005930")["stk_nm"])
        clients += [shared.client for shared in _client._clients.values()]
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["삼성전자", "closed: True"]
    assert fake.live_tokens() == []  # the Client's revoke at exit still had its client
