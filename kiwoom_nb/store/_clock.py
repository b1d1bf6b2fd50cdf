"""Which bars are finished: a day is over in its market's time zone once its closing session is (KRX: 18:00
Asia/Seoul, after the after-hours single price; US: 20:00 America/New_York, after extended hours). Weeks, months and
years are over when the period is. Stdlib and pandas only; no I/O."""

from __future__ import annotations

from datetime import datetime, time, timedelta
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


def cut_of(pd: Any, interval: str, us: bool, now: datetime | None = None) -> Any:
    """The first moment (the exchange's wall-clock time, naive) of what is not finished: bars before it may be kept."""
    local = _local(now, us)
    day = local.date() + (timedelta(days=1) if local.time() >= _DONE[us] else timedelta(0))
    stamp = pd.Timestamp(day)
    if interval == "W":
        return stamp - pd.Timedelta(days=stamp.weekday())
    if interval == "M":
        return stamp.replace(day=1)
    if interval == "Y":
        return stamp.replace(month=1, day=1)
    return stamp


def live_now(interval: str, us: bool, now: datetime | None = None) -> bool:
    """Whether a bar may be growing now (a weekday's session, or the current week, month or year)."""
    if interval in ("W", "M", "Y"):
        return True
    local = _local(now, us)
    return local.weekday() < 5 and _OPEN[us] <= local.time() < _DONE[us]
