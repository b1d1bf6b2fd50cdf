"""The shared pace in a real redis-server (issue 33): processes that share nothing on disk (machines, as far as
pacing knows) share one key's limit through ``KIWOOM_PACE_URL``; the URL's password never shows; Redis going away
costs one line and no call, and Redis is used again once it is back. redis-server is Debian's package (make test
installs it: scripts/ensure-redis.sh); it is not mocked. Where it is missing the tests skip, saying why, except
under CI or with KIWOOM_NB_REQUIRE_REDIS=1, where they fail."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import time

import pytest

from kiwoom_nb import Client, KiwoomError, pace
from kiwoom_nb.pace import _redis
from kiwoom_nb.testing import wait_until
from pace_procs import run_together
from support import CANARY

KEYS = CANARY["production"]
PASSWORD = "Pw-CANARY-8c1e55"
#: Set (CI sets it: .ci/run) to fail, not skip, where redis-server is missing.
REQUIRE_REDIS = os.environ.get("KIWOOM_NB_REQUIRE_REDIS") == "1" or bool(os.environ.get("CI"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server on a free loopback port, with a password, in a temporary directory; no disk persistence."""

    def __init__(self, directory, port: int | None = None) -> None:
        binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                                   else None)
        if binary is None:
            reason = "redis-server is not installed (apt-get install redis-server; make test runs scripts/ensure-redis.sh)"
            if REQUIRE_REDIS:
                pytest.fail(f"{reason} (CI / KIWOOM_NB_REQUIRE_REDIS=1)")
            pytest.skip(reason)
        self.binary, self.directory, self.port = binary, directory, port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                                      str(self.directory), "--save", "", "--appendonly", "no", "--requirepass",
                                      PASSWORD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, 30, f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, password=PASSWORD, socket_timeout=1).ping()
        except redis.RedisError:
            assert self.proc.poll() is None, "redis-server exited"
            return False

    def keys(self) -> list[bytes]:
        import redis

        return redis.Redis(port=self.port, password=PASSWORD).keys("kiwoom_nb:pace:*")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture
def redis_server(tmp_path):
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_budgets():
    yield
    for budget in pace._budgets.values():
        budget.close()
    pace._budgets.clear()
    pace.set_url(None)


def test_four_processes_that_share_nothing_on_disk_share_the_limit_through_redis(fake, redis_server, tmp_path):
    fake.rate_limit = 5
    # a cache directory each: as far as the pace is concerned, four machines
    envs = [{"KIWOOM_PACE_URL": redis_server.url, "XDG_CACHE_HOME": str(tmp_path / f"machine{i}")} for i in range(4)]
    children, rate = run_together(fake, KEYS, processes=4, calls=30, envs=envs)

    assert fake.rate_refusals <= 1  # at most 1 per 100 calls
    assert rate >= 0.6 * 5
    assert [child.logs() for child in children] == [[]] * 4
    assert redis_server.keys()  # the budget was Redis's
    assert not any(KEYS[0].encode() in key for key in redis_server.keys())


def test_the_same_processes_without_redis_collide(fake, tmp_path):
    # the control: the same separate cache directories and no Redis are refused, so the test above measured Redis
    fake.rate_limit = 5
    envs = [{"XDG_CACHE_HOME": str(tmp_path / f"machine{i}")} for i in range(2)]
    run_together(fake, KEYS, processes=2, calls=15, envs=envs)
    assert fake.rate_refusals > 1


def test_redis_going_away_costs_one_line_and_no_call_and_it_is_used_again(fake, redis_server, caplog, monkeypatch):
    monkeypatch.setattr(_redis, "RETRY", 0.5)
    monkeypatch.setenv("KIWOOM_PACE_URL", redis_server.url)
    with caplog.at_level(logging.WARNING, logger="kiwoom_nb"), Client(*KEYS, base_url=fake.url) as api:
        api.call("ka10001", stk_cd="005930")
        assert redis_server.keys()
        redis_server.stop()
        started = time.monotonic()
        for _ in range(4):
            assert api.call("ka10001", stk_cd="005930")["stk_cd"] == "005930"
        assert time.monotonic() - started < api.tokens.timeout * 4  # never the Redis wait on top of a call
        down = [r.getMessage() for r in caplog.records]
        assert len(down) == 1 and "127.0.0.1" in down[0] and "this machine" in down[0], down

        redis_server.start()  # same port, empty
        assert redis_server.keys() == []
        wait_until(lambda: api.call("ka10001", stk_cd="005930") and redis_server.keys(), 30, "the pace back in Redis")

    lines = [r.getMessage() for r in caplog.records]
    assert any("answers again" in line for line in lines), lines
    assert not any(PASSWORD in line for line in lines)


def test_the_redis_password_never_shows(fake, caplog, monkeypatch):
    port = free_port()  # nothing listens there
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    monkeypatch.setenv("KIWOOM_PACE_URL", url)
    with caplog.at_level(logging.DEBUG), Client(*KEYS, base_url=fake.url) as api:
        assert api.call("ka10001", stk_cd="005930")["stk_cd"] == "005930"
        budgets = list(pace._budgets.values())
    shown = [r.getMessage() for r in caplog.records] + [repr(b) for b in budgets]
    assert any(f"127.0.0.1:{port}" in line for line in shown), shown
    assert not any(PASSWORD in line for line in shown), shown

    with pytest.raises(KiwoomError) as caught:
        pace.set_url(f"http://user:{PASSWORD}@example.invalid/")
    assert PASSWORD not in str(caught.value) and "redis://" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.kernel
def test_config_pace_url_in_a_kernel_moves_the_pace_to_redis_and_never_shows_the_password(fake, redis_server,
                                                                                        start_kernel):
    kernel = start_kernel()
    kernel.ok("%load_ext kiwoom_nb")
    before = len(kernel.iopub)
    kernel.ok(f"%config KiwoomMagics.pace_url = {redis_server.url!r}")
    kernel.ok("%kiwoom_login --production")
    kernel.ok("df = %kiwoom ka10001 stk_cd=005930")
    assert redis_server.keys()  # the kernel's pace went through Redis

    status = "\n".join(kernel.ok("%kiwoom_status").data())
    assert f"through Redis at redis://127.0.0.1:{redis_server.port}" in status, status
    listed = kernel.ok("%config KiwoomMagics").stdout
    assert f"redis://***@127.0.0.1:{redis_server.port}/0" in listed
    wrong = kernel.run(f"%config KiwoomMagics.pace_url = 'http://x:{PASSWORD}@127.0.0.1/'")
    said = json.dumps([o["content"] for o in wrong.outputs], ensure_ascii=False) + str(wrong.reply.get("evalue"))
    assert "is not a Redis URL" in said, said
    assert "through Redis" in "\n".join(kernel.ok("%kiwoom_status").data())  # unchanged
    shown = json.dumps([m["content"] for m in kernel.iopub[before:] if m["msg_type"] != "execute_input"],
                       ensure_ascii=False, default=str)
    assert PASSWORD not in shown
