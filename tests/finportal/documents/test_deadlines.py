"""The one pause rule: a clock stops while the firm is asked, and resumes with what it had left."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from finportal.domain.states import APPLICATION, REFERRAL
from finportal.services import deadlines, workdays

SH = workdays.SHANGHAI
NO_HOLIDAYS: dict[date, bool] = {}


def at(day: int, hour: int, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


def test_the_paused_states_are_the_two_where_the_firm_is_asked():
    assert APPLICATION.tagged("paused") == {"returned"}
    assert REFERRAL.tagged("paused") == {"info_requested"}
    assert deadlines.is_paused(REFERRAL, "info_requested")
    assert not deadlines.is_paused(REFERRAL, "info_supplied")


def test_working_time_skips_weekends_and_holidays():
    # Fri 4 Dec 16:00 -> Mon 7 Dec 16:00: 8 h of Friday and 16 h of Monday.
    assert workdays.working_time_between(at(4, 16), at(7, 16), NO_HOLIDAYS) == timedelta(hours=24)
    holiday = {date(2026, 12, 7): False}
    assert workdays.working_time_between(at(4, 16), at(7, 16), holiday) == timedelta(hours=8)
    assert workdays.working_time_between(at(7, 16), at(4, 16), NO_HOLIDAYS) == timedelta(0)
    # Adding it back lands on the same clock time, weekends skipped.
    assert workdays.add_working_time(at(4, 16), timedelta(hours=24), NO_HOLIDAYS) == at(7, 16)
    # From a day off, counting starts at 09:00 of the next working day (as add_working_days).
    assert workdays.add_working_time(at(5, 11), timedelta(hours=2), NO_HOLIDAYS) == at(7, 11)


def test_a_resumed_clock_keeps_the_time_it_had_left():
    # Paused Friday 16:00 with a day left (due Monday 16:00); the firm answers Wednesday 10:00.
    due = deadlines.resumed_deadline(at(7, 16), at(4, 16), at(9, 10), NO_HOLIDAYS)
    assert due == at(10, 10)
    # The firm answers on Saturday: the clock runs from Monday 09:00.
    assert deadlines.resumed_deadline(at(7, 16), at(4, 16), at(12, 15), NO_HOLIDAYS) == at(15, 9)
    # Stopped on Saturday 10:00 with Monday 09:00 - Tuesday 05:00 left (20 h, as adding them
    # back counts from Monday 09:00): started again at once, the deadline stays where it was.
    assert workdays.working_time_between(at(5, 10), at(8, 5), NO_HOLIDAYS) == timedelta(hours=20)
    assert deadlines.resumed_deadline(at(8, 5), at(5, 10), at(5, 10), NO_HOLIDAYS) == at(8, 5)
    assert deadlines.resumed_deadline(at(8, 5), at(5, 10), at(9, 10), NO_HOLIDAYS) == at(10, 6)
    # A clock already run out when it stopped stays as late as it was.
    assert deadlines.resumed_deadline(at(3, 9), at(4, 16), at(9, 10), NO_HOLIDAYS) == at(3, 9)


class _Record:
    def __init__(self, due: datetime) -> None:
        self.id = 1
        self.due_at = due
        self.clock_paused_at: datetime | None = None


def test_follow_stops_and_starts_the_clock_on_the_steps(db_session):
    record = _Record(at(7, 16))
    deadlines.follow(db_session, REFERRAL, record, "viewed", "info_requested", now=at(4, 16))
    assert record.clock_paused_at == at(4, 16) and record.due_at == at(7, 16)
    # Asked again while waiting: still paused from the first request.
    deadlines.follow(db_session, REFERRAL, record, "info_requested", "info_requested", now=at(8, 9))
    assert record.clock_paused_at == at(4, 16)
    deadlines.follow(db_session, REFERRAL, record, "info_requested", "info_supplied", now=at(9, 10))
    assert record.clock_paused_at is None and record.due_at == at(10, 10)
