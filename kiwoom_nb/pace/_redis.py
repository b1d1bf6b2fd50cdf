"""The same budget in Redis (``KIWOOM_PACE_URL=redis://…`` or ``%config KiwoomMagics.pace_url``), so kernels on
several machines share one key's limit. Each step is one Lua script, atomic in Redis, on Redis's own clock (TIME):
the rules and fair turns of kiwoom_nb.pace._local, in keys ``kiwoom_nb:pace:<digest>:…`` that expire by themselves.

The URL may carry a password: it is secret. Only a private attribute and the redis client hold it; this module's
repr, logs and errors name the host alone, and never show the client's exception text. When Redis cannot be reached
the machine's budget (LocalBudget) takes over with one line, and Redis is tried again ``RETRY`` seconds later; no
Redis command waits longer than a second (socket timeouts, no retries), and a call waits for its turn no longer
than its own timeout.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from typing import Any
from urllib.parse import urlsplit

__all__ = ["RedisBudget", "host_of"]

log = logging.getLogger("kiwoom_nb")

RETRY = 30.0  # seconds on the local budget before Redis is tried again
POLL = 0.05
WAIT = 1.0  # the longest one Redis command may take

_ACQUIRE = """
local P, me, api, pace, expires, ticket = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local q = P .. ':q:' .. api
for _, w in ipairs(redis.call('ZRANGE', q, 0, -1)) do
  if w ~= me and redis.call('EXISTS', P .. ':w:' .. w) == 0 then redis.call('ZREM', q, w) end
end
local mine = redis.call('ZSCORE', q, me)
local ahead
if mine then ahead = redis.call('ZCOUNT', q, '-inf', '(' .. mine) else ahead = redis.call('ZCARD', q) end
local at, rows, out = now, {}, {}
for i = 7, #ARGV do
  local s = ARGV[i]
  local h = redis.call('HMGET', P .. ':s:' .. s, 'rate', 'slack', 'next')
  local rate, slack, nxt = tonumber(h[1]), tonumber(h[2]) or 0.01, tonumber(h[3]) or 0
  rows[i] = {rate, slack}
  if nxt < now + 60 and nxt > at then at = nxt end
  if rate then
    table.insert(out, s)
    table.insert(out, tostring(rate))
    local f = P .. ':f:' .. s
    redis.call('ZREMRANGEBYSCORE', f, '-inf', now)
    local n = math.max(math.floor(rate), 1)
    local c = redis.call('ZCARD', f)
    if c >= n then
      local r = redis.call('ZRANGE', f, c - n, c - n, 'WITHSCORES')
      if tonumber(r[2]) > at then at = tonumber(r[2]) end
    end
  end
end
if ahead > 0 or at > now then
  if not mine then redis.call('ZADD', q, now, me) end
  redis.call('SET', P .. ':w:' .. me, '1', 'PX', 1000)
  redis.call('PEXPIRE', q, 60000)
  local wait = at - now
  if wait <= 0 then wait = 0.05 end
  return {0, tostring(wait), out}
end
redis.call('ZREM', q, me)
redis.call('DEL', P .. ':w:' .. me)
for i = 7, #ARGV do
  local s, rate, slack = ARGV[i], rows[i][1], rows[i][2]
  local spacing = rate
  if s == api and pace > 0 and (not rate or pace < rate) then spacing = pace end
  local k = P .. ':s:' .. s
  if spacing then
    local nxt = now + 1 / spacing + slack
    if nxt > (tonumber(redis.call('HGET', k, 'next')) or 0) then redis.call('HSET', k, 'next', tostring(nxt)) end
    redis.call('PEXPIRE', k, 86400000)
  end
  if rate then
    redis.call('ZADD', P .. ':f:' .. s, now + expires, ticket)
    redis.call('PEXPIRE', P .. ':f:' .. s, math.floor((expires + 5) * 1000))
  end
end
return {1, '0', out}
"""

_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
for i = 3, #ARGV do
  local f = ARGV[1] .. ':f:' .. ARGV[i]
  if redis.call('ZSCORE', f, ARGV[2]) then
    local slack = tonumber(redis.call('HGET', ARGV[1] .. ':s:' .. ARGV[i], 'slack')) or 0.01
    redis.call('ZADD', f, now + 1 + slack, ARGV[2])
  end
end
return 1
"""

_LEARN = """
local k = ARGV[1] .. ':s:' .. ARGV[2]
local h = redis.call('HMGET', k, 'rate', 'slack')
local slack = tonumber(h[2]) or 0.01
if tonumber(h[1]) == tonumber(ARGV[3]) then slack = math.min(slack * 2, 0.16) end
redis.call('HSET', k, 'rate', ARGV[3], 'slack', tostring(slack))
redis.call('PEXPIRE', k, 86400000)
return 1
"""

_HOLD = """
local t = redis.call('TIME')
local k = ARGV[1] .. ':s:' .. ARGV[2]
local nxt = tonumber(t[1]) + tonumber(t[2]) / 1e6 + tonumber(ARGV[3])
if nxt > (tonumber(redis.call('HGET', k, 'next')) or 0) then redis.call('HSET', k, 'next', tostring(nxt)) end
redis.call('PEXPIRE', k, 86400000)
return 1
"""


def host_of(url: str) -> str:
    """What may be shown of a Redis URL: ``redis://host:port`` (a socket's path for unix://), never a password."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return f"unix://{parts.path}"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname or 'localhost'}{port}"
    except ValueError:
        return "an unreadable Redis URL"


class RedisBudget:
    """One app key's budget in Redis, with the machine's ``local`` budget while Redis is down. Thread-safe."""

    def __init__(self, url: str, name: str, local: Any) -> None:
        self.host = host_of(url)
        self.where = self.host
        self._url = url
        self._prefix = f"kiwoom_nb:pace:{name}"
        self._local = local
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"<kiwoom_nb pace budget at {self.host}>"

    @property
    def down(self) -> bool:
        """Whether the machine's budget stands in for Redis now."""
        return time.monotonic() < self._down_until

    def _run(self, script: str, args: list[Any], timeout: float) -> Any:
        """The script's answer, or None when Redis cannot be used now (the local budget then stands in)."""
        if time.monotonic() < self._down_until:
            return None
        try:
            if self._client is None:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                self._client = redis.Redis.from_url(self._url, socket_timeout=WAIT, socket_connect_timeout=WAIT,
                                                    retry=Retry(NoBackoff(), 0), health_check_interval=0)
                self._scripts = {name: self._client.register_script(text) for name, text in
                                 (("acquire", _ACQUIRE), ("release", _RELEASE), ("learn", _LEARN), ("hold", _HOLD))}
            wait = max(min(WAIT, timeout), 0.05)
            pool = self._client.connection_pool
            pool.connection_kwargs.update(socket_timeout=wait, socket_connect_timeout=wait)
            answer = self._scripts[script](args=args)
            if self._down_until:
                self._down_until = 0.0
                log.warning("kiwoom_nb: Redis at %s answers again; pacing there", self.host)
            return answer
        except ImportError:
            self._down_until = float("inf")
            log.warning("kiwoom_nb: a pace URL is set but the redis package is missing (pip install "
                        "'kiwoom_nb[redis]'); pacing on this machine only")
            return None
        except Exception as exc:  # noqa: BLE001 - redis.RedisError and socket errors: never the call's failure
            if not self._down_until:
                log.warning("kiwoom_nb: Redis at %s cannot be used (%s); pacing on this machine, trying Redis "
                            "again in %g s", self.host, type(exc).__name__, RETRY)
            self._down_until = time.monotonic() + RETRY
            return None

    def acquire(self, api_id: str, scopes: list[str], pace: float | None, expires: float,
                max_wait: float) -> tuple[Any, float, dict[str, float]]:
        me = f"{os.getpid()}:{threading.get_ident()}:{next(self._ids)}:{os.urandom(4).hex()}"
        started = time.monotonic()
        ticket = os.urandom(8).hex()
        while True:
            left = max_wait - (time.monotonic() - started)
            answer = self._run("acquire", [self._prefix, me, api_id, pace or 0, expires, ticket, *scopes], left)
            if answer is None:
                local, waited, learned = self._local.acquire(api_id, scopes, pace, expires,
                                                             max(left, 0.0))
                return ("local", local), time.monotonic() - started, learned
            admitted, at, flat = answer
            learned = {_text(flat[i]): float(flat[i + 1]) for i in range(0, len(flat), 2)}
            if int(admitted):
                return ("redis", ticket, scopes), time.monotonic() - started, learned
            left = max_wait - (time.monotonic() - started)
            if left <= 0:
                log.warning("kiwoom_nb: %s waited %.1f s for its turn at the shared pace (%s); sent anyway", api_id,
                            max_wait, self.host)
                return None, max_wait, learned
            time.sleep(min(max(float(at), 0.001), POLL, left))

    def release(self, ticket: Any) -> None:
        if not ticket:
            return
        if ticket[0] == "local":
            self._local.release(ticket[1])
        else:
            self._run("release", [self._prefix, ticket[1], *ticket[2]], WAIT)

    def learn(self, scope: str, rate: float) -> None:
        self._local.learn(scope, rate)  # the machine keeps what was learned, for when Redis is down
        self._run("learn", [self._prefix, scope, rate], WAIT)

    def hold(self, scope: str, seconds: float) -> None:
        self._local.hold(scope, seconds)
        self._run("hold", [self._prefix, scope, seconds], WAIT)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                pass
        self._local.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
