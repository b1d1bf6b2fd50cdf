"""The pacing budget every process of this OS user shares for one app key: a small SQLite file under the user's
cache directory (mode 0600), named by a digest of the key and environment, never the key.

Why SQLite in WAL mode and not a lock file (filelock): one admission here costs ~20 µs, filelock's lock alone
~150 µs (measured on the 2-core CI machine, issue 33); it is stdlib; its locks are the OS's, so a process killed
inside a transaction holds nothing and what it half-wrote is rolled back. A file that is not a database any more is
rebuilt with one log line.

The rules are kiwoom_nb.rest._pace.Pacer's, across processes (its docstring says why they hold): per scope, requests
are spaced 1/rate + slack apart; once Kiwoom stated N per second for a scope, a request leaves only while fewer
than N are in flight or were answered within the last 1 + slack seconds. An unanswered request's slot is bounded
by its ``expires`` (a process killed mid-request frees it then). Fair turns: a call that must wait queues per
api-id and leaves in the order it came, so one call is never starved by a process fetching many pages.

Wall-clock time (``time.time``), the one clock all processes share. Never raises: a budget that cannot be used
leaves the pacing to the process, with one log line.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["LocalBudget", "default_directory"]

log = logging.getLogger("kiwoom_nb")

SLACK, MAX_SLACK = 0.01, 0.16  # kiwoom_nb.rest._pace's: added to every interval and window
STALE = 1.0  # a waiter not seen for this long left (killed, or gave up)
POLL = 0.05  # the longest a waiter sleeps between looks
BUSY = 1.0  # how long a transaction waits for another process's lock before the call goes on without the budget

_SCHEMA = """
create table if not exists scope(name text primary key, rate real, slack real not null default 0.01,
                                 next_at real not null default 0);
create table if not exists flight(ticket integer not null, scope text not null, free_at real not null);
create index if not exists flight_scope on flight(scope, free_at);
create table if not exists waiter(id text primary key, scope text not null, since real not null, seen real not null);
"""


def default_directory() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kiwoom_nb", appauthor=False)) / "pace"


class LocalBudget:
    """One app key's shared budget on this machine (see the module docstring). Thread-safe."""

    where = "this machine"

    def __init__(self, name: str, directory: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(directory if directory is not None else default_directory()) / f"{name}.sqlite3"
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._ids = itertools.count(1)
        self._warned = False
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file self._db has open

    def __repr__(self) -> str:
        return f"<kiwoom_nb pace budget {self.path.name} on this machine>"

    # -- the file -------------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self._pid != os.getpid():  # a forked child: the parent's connection is not to be used, nor closed, here
            self._db, self._pid = None, os.getpid()
        if self._db is not None and _identity(self.path) != self._identity:  # deleted or replaced under us (the
            self._db.close()  # cache cleared): the file the other processes open now is the budget
            self._db = None
        if self._db is None:
            if sqlite3.sqlite_version_info < (3, 24):  # upsert (on conflict … do update)
                raise OSError(f"SQLite {sqlite3.sqlite_version} is older than 3.24")
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.path.is_symlink():  # never write through a link into a file someone else chose
                log.warning("kiwoom_nb: the shared pacing file %s was a symbolic link; replaced it", self.path)
                os.unlink(self.path)
            nofollow = getattr(os, "O_NOFOLLOW", 0)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | nofollow, 0o600))  # -wal and -shm take its mode
            db = sqlite3.connect(self.path, timeout=BUSY, isolation_level=None, check_same_thread=False)
            try:
                db.execute("pragma journal_mode=wal")
                db.execute("pragma synchronous=normal")
                db.executescript(_SCHEMA)
            except BaseException:
                db.close()
                raise
            self._db, self._identity = db, _identity(self.path)
        return self._db

    def _rebuild(self, exc: BaseException) -> None:
        log.warning("kiwoom_nb: the shared pacing file %s was unreadable (%s); rebuilt it empty", self.path,
                    type(exc).__name__)
        if self._db is not None:
            self._db.close()
            self._db = None
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:
                pass

    def _run(self, work, default):
        """``work(db, now)`` in one immediate transaction; ``default`` when the budget cannot be used."""
        if self._pid != os.getpid():
            self._lock = threading.Lock()  # a forked child: another thread of the parent may have held it
        with self._lock:
            for attempt in range(2):
                try:
                    db = self._open()
                    db.execute("begin immediate")
                    try:
                        result = work(db, time.time())
                    except BaseException:
                        db.execute("rollback")
                        raise
                    db.execute("commit")
                    return result
                except sqlite3.OperationalError as exc:
                    if "locked" in str(exc) or "busy" in str(exc):  # held by a live, stuck process
                        self._warn(f"another process held the shared pacing file over {BUSY:g} s")
                        return default
                    if attempt:
                        break
                    self._rebuild(exc)
                except sqlite3.DatabaseError as exc:  # not a database, malformed
                    if attempt:
                        break
                    self._rebuild(exc)
                except OSError as exc:
                    self._warn(f"cannot use {self.path.parent} ({exc.strerror or exc})")
                    return default
            self._warn("the shared pacing file cannot be rebuilt")
            return default

    def _warn(self, why: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("kiwoom_nb: %s; pacing within this process only", why)

    # -- the budget -----------------------------------------------------------------------------------

    def acquire(self, api_id: str, scopes: list[str], pace: float | None, expires: float,
                max_wait: float) -> tuple[int | None, float]:
        """Wait (at most ``max_wait`` s) until a request of ``api_id`` may leave for every scope; (its ticket for
        :meth:`release`, or None when the budget could not be used or the wait ran out; seconds waited)."""
        me = f"{os.getpid()}:{threading.get_ident()}:{next(self._ids)}"  # no lock: a forked child may find it held
        started = time.monotonic()
        while True:
            out = self._run(lambda db, now: _admit(db, now, me, api_id, scopes, pace, expires), None)
            if out is None:
                return None, time.monotonic() - started, {}
            ticket, at, learned = out
            if ticket is not None:
                return ticket, time.monotonic() - started, learned
            left = max_wait - (time.monotonic() - started)
            if left <= 0:
                self._run(lambda db, now: db.execute("delete from waiter where id = ?", (me,)), None)
                log.warning("kiwoom_nb: %s waited %.1f s for its turn at the shared pace; sent anyway", api_id,
                            max_wait)
                return None, max_wait, learned
            time.sleep(min(max(at, 0.001), POLL, left))

    def release(self, ticket: int | None) -> None:
        """The request of ``ticket`` was answered or failed just now: its slots free a second (plus slack) later."""
        if not ticket:
            return
        self._run(lambda db, now: db.execute(
            "update flight set free_at = ? + 1.0 + coalesce((select slack from scope where name = flight.scope), ?) "
            "where ticket = ?", (now, SLACK, ticket)), None)

    def learn(self, scope: str, rate: float) -> None:
        def work(db: sqlite3.Connection, now: float) -> None:
            row = db.execute("select rate, slack from scope where name = ?", (scope,)).fetchone()
            slack = min(row[1] * 2, MAX_SLACK) if row and row[0] == rate else (row[1] if row else SLACK)
            db.execute("insert into scope(name, rate, slack) values (?, ?, ?) on conflict(name) do update set "
                       "rate = excluded.rate, slack = excluded.slack", (scope, rate, slack))

        self._run(work, None)

    def hold(self, scope: str, seconds: float) -> None:
        self._run(lambda db, now: db.execute(
            "insert into scope(name, next_at) values (?, ?) on conflict(name) do update set "
            "next_at = max(next_at, excluded.next_at)", (scope, now + seconds)), None)

    def learned(self) -> dict[str, float]:
        rows = self._run(lambda db, now: db.execute("select name, rate from scope where rate is not null").fetchall(),
                         [])
        return {name: rate for name, rate in rows}

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _admit(db: sqlite3.Connection, now: float, me: str, api_id: str, scopes: list[str], pace: float | None,
           expires: float) -> tuple[int | None, float, dict[str, float]]:
    """(a ticket, 0, rates learned) when the request may leave now, else (None, seconds until it should look again,
    rates learned)."""
    db.execute("delete from waiter where seen < ?", (now - STALE,))
    db.execute("delete from flight where free_at <= ?", (now,))
    ahead = db.execute("select count(*) from waiter where scope = ? and id != ? and since < "
                       "coalesce((select since from waiter where id = ?), ?)", (api_id, me, me, now + 1)).fetchone()[0]
    at = now
    rows = {name: (rate, slack, next_at) for name, rate, slack, next_at in db.execute(
        f"select name, rate, slack, next_at from scope where name in ({','.join('?' * len(scopes))})", scopes)}
    learned = {name: row[0] for name, row in rows.items() if row[0]}
    for scope in scopes:
        rate, slack, next_at = rows.get(scope, (None, SLACK, 0.0))
        at = max(at, next_at if next_at < now + 60 else now)  # a clock stepped back leaves no endless wait
        if rate:
            free = db.execute("select free_at from flight where scope = ? and free_at <= ? order by free_at",
                              (scope, now + expires + 60)).fetchall()  # later: stamped by a clock stepped back since
            if len(free) >= max(int(rate), 1):
                at = max(at, free[len(free) - max(int(rate), 1)][0])
    if ahead or at > now:
        db.execute("insert into waiter(id, scope, since, seen) values (?, ?, ?, ?) on conflict(id) do update set "
                   "seen = excluded.seen", (me, api_id, now, now))
        return None, (at - now if at > now else POLL), learned
    db.execute("delete from waiter where id = ?", (me,))
    ticket = 0  # nothing to free on release unless a slot below is taken
    for scope in scopes:
        rate, slack, _ = rows.get(scope, (None, SLACK, 0.0))
        spacing = min(rate, pace) if (rate and pace and scope == api_id) else rate or (pace if scope == api_id else None)
        if spacing:
            db.execute("insert into scope(name, next_at) values (?, ?) on conflict(name) do update set "
                       "next_at = max(next_at, excluded.next_at)", (scope, now + 1.0 / spacing + slack))
        if rate:
            ticket = ticket or int.from_bytes(os.urandom(7), "big")
            db.execute("insert into flight(ticket, scope, free_at) values (?, ?, ?)", (ticket, scope, now + expires))
    return ticket, 0.0, learned
