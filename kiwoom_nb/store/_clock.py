"""Which bars are finished: a day is over in its market's time zone once its closing session is (KRX: 18:00
Asia/Seoul, after the after-hours single price; US: 20:00 America/New_York, after extended hours), and a weekend has
no session, so after Friday's close the days up to Monday are over too. Weeks, months and years are over when their
last weekday is. Stdlib and pandas only; no I/O."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["cut_of", "live_now"]

_DONE = {False: time(18, 0), True: time(20, 0)}
_OPEN = {False: time(9, 0), True: time(9, 30)}


def _local(now: datetime | None, us: bool) -> datetime:
    """``now`` (default: the real time; naive: Korea time, as the fake's clock is) as the exchange's wall clock."""
    zone = ZoneInfo("America/New_York" if us else "Asia/Seoul")
    now = now or datetime.now(zone)
    return (now if now.tzinfo else now.replace(tzinfo=ZoneInfo("Asia/Seoul"))).astimezone(zone).replace(tzinfo=None)


def _unfinished(local: datetime, us: bool) -> date:
    """The first day whose session is not over: today before its close, else the next weekday."""
    day = local.date() + (timedelta(days=1) if local.time() >= _DONE[us] else timedelta(0))
    while day.weekday() >= 5:  # no session on Saturday or Sunday: over before they start
        day += timedelta(days=1)
    return day


def _period(interval: str, day: date) -> date:
    """The first day of the bar ``day`` falls in (the day itself for D and minutes)."""
    if interval == "W":
        return day - timedelta(days=day.weekday())
    if interval == "M":
        return day.replace(day=1)
    if interval == "Y":
        return day.replace(month=1, day=1)
    return day


def cut_of(pd: Any, interval: str, us: bool, now: datetime | None = None) -> Any:
    """The first moment (the exchange's wall-clock time, naive) of what is not finished: bars before it may be kept."""
    return pd.Timestamp(_period(interval, _unfinished(_local(now, us), us)))


def live_now(interval: str, us: bool, now: datetime | None = None) -> bool:
    """Whether a bar may be growing now: a weekday's session, or a week, month or year whose last weekday's session
    is not over yet."""
    local = _local(now, us)
    if interval in ("W", "M", "Y"):
        return _period(interval, local.date()) == _period(interval, _unfinished(local, us))
    return local.weekday() < 5 and _OPEN[us] <= local.time() < _DONE[us]
