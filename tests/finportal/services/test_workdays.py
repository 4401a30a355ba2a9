"""Deadline clocks count working days: weekends and the holiday table are skipped."""

from __future__ import annotations

from datetime import date, datetime

from finportal.services.workdays import SHANGHAI, add_working_days

HOLIDAYS = {
    date(2025, 10, 1): False,
    date(2025, 10, 2): False,
    date(2025, 10, 3): False,
    date(2025, 10, 6): False,
    date(2025, 10, 7): False,
    date(2025, 10, 8): False,
    date(2025, 9, 28): True,
    date(2025, 10, 11): True,
}


def at(y, m, d, h=14):
    return datetime(y, m, d, h, 0, tzinfo=SHANGHAI)


def test_one_working_day_on_a_weekday():
    assert add_working_days(at(2025, 11, 4), 1, {}) == at(2025, 11, 5)


def test_friday_rolls_over_the_weekend():
    assert add_working_days(at(2025, 11, 7), 1, {}) == at(2025, 11, 10)
    assert add_working_days(at(2025, 11, 7), 2, {}) == at(2025, 11, 11)


def test_weekend_start_counts_from_next_working_morning():
    assert add_working_days(at(2025, 11, 8), 1, {}) == at(2025, 11, 11, 9)


def test_national_day_holidays_and_makeup_workdays():
    # Tuesday 30 Sep + 1 working day: 1-8 Oct are off, 9 Oct (Thu) is the next working day.
    assert add_working_days(at(2025, 9, 30), 1, HOLIDAYS) == at(2025, 10, 9)
    # Saturday 27 Sep is a weekend; Sunday 28 Sep is a make-up workday (调休).
    assert add_working_days(at(2025, 9, 26), 1, HOLIDAYS) == at(2025, 9, 28)
