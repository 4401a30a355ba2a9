"""Working days: weekends and the holiday table that admins keep (调休 workdays count)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.models import Holiday
from finportal.models.base import clock_read

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_local() -> date:
    """Return today's date in Shanghai: the one place the portal reads it (a page that shows it
    holds until the next midnight in Shanghai, as the page cache is told)."""
    today = datetime.now(SHANGHAI).date()
    clock_read(datetime.combine(today + timedelta(days=1), datetime.min.time(), SHANGHAI))
    return today


def holiday_table(session: Session) -> dict[date, bool]:
    """Return {day: is_workday} for every entry of the holiday table."""
    return {h.day: h.is_workday for h in session.scalars(select(Holiday))}


def is_working_day(day: date, table: dict[date, bool]) -> bool:
    """Tell whether a calendar day is worked."""
    if day in table:
        return table[day]
    return day.weekday() < 5


def add_working_days(start: datetime, days: int, table: dict[date, bool]) -> datetime:
    """Return the deadline ``days`` working days after ``start`` (same clock time, Shanghai).

    A start on a weekend or holiday counts from 09:00 of the next working day: something
    screened on Saturday with one working day to answer is due on Tuesday 09:00.
    """
    local = start.astimezone(SHANGHAI)
    day = local.date()
    if not is_working_day(day, table):
        while not is_working_day(day, table):
            day += timedelta(days=1)
        local = datetime.combine(day, datetime.min.time(), SHANGHAI).replace(hour=9)
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, table):
            remaining -= 1
    due = datetime.combine(day, local.timetz().replace(tzinfo=None), SHANGHAI)
    return due


def deadline(session: Session, start: datetime, days: int) -> datetime:
    """Return the deadline ``days`` working days after ``start`` using the holiday table."""
    return add_working_days(start, days, holiday_table(session))


def _working_start(moment: datetime, table: dict[date, bool]) -> datetime:
    # A moment on a day off counts from 09:00 of the next working day (as add_working_days).
    local = moment.astimezone(SHANGHAI)
    day = local.date()
    if is_working_day(day, table):
        return local
    while not is_working_day(day, table):
        day += timedelta(days=1)
    return datetime.combine(day, datetime.min.time(), SHANGHAI).replace(hour=9)


def working_time_between(start: datetime, end: datetime, table: dict[date, bool]) -> timedelta:
    """Return how much of ``start``..``end`` falls on working days (zero if end <= start).

    The inverse of :func:`add_working_time`: from a day off, counting starts at 09:00 of the
    next working day, so a clock stopped and started again on a weekend keeps its deadline.
    """
    local_start = _working_start(start, table)
    local_end = end.astimezone(SHANGHAI)
    if local_end <= local_start:
        return timedelta(0)
    total = timedelta(0)
    day = local_start.date()
    while day <= local_end.date():
        if is_working_day(day, table):
            day_start = datetime.combine(day, datetime.min.time(), SHANGHAI)
            day_end = day_start + timedelta(days=1)
            total += max(min(day_end, local_end) - max(day_start, local_start), timedelta(0))
        day += timedelta(days=1)
    return total


def add_working_time(start: datetime, span: timedelta, table: dict[date, bool]) -> datetime:
    """Return the moment ``span`` of working-day time after ``start`` (days off do not count)."""
    local = _working_start(start, table)
    left = span
    while True:
        day_end = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), SHANGHAI)
        if left <= day_end - local:
            return local + left
        left -= day_end - local
        day = day_end.date()
        while not is_working_day(day, table):
            day += timedelta(days=1)
        local = datetime.combine(day, datetime.min.time(), SHANGHAI)
