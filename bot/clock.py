"""Time helpers: the database stores aware UTC datetimes (SQLModel's UTCDateTime);
people see Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def to_utc(dt: datetime) -> datetime:
    """Normalise a datetime to aware UTC; a naive one is taken as local (Asia/Ho_Chi_Minh) time."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=LOCAL_TZ)
    return dt.astimezone(UTC)


def to_local(dt: datetime) -> datetime:
    """Convert a datetime to Asia/Ho_Chi_Minh; a naive one is taken as UTC (as SQLite returns it)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(LOCAL_TZ)


def local_day_start(d: date) -> datetime:
    """The first instant of a local calendar day, in UTC."""
    return to_utc(datetime.combine(d, time.min))


def local_day_end(d: date) -> datetime:
    """The last second of a local calendar day, in UTC (a deadline ends with its day)."""
    return local_day_start(d + timedelta(days=1)) - timedelta(seconds=1)


def local_today(now: datetime | None = None) -> date:
    """Today's date in Asia/Ho_Chi_Minh."""
    return to_local(now or utcnow()).date()
