"""Reference data the admins keep: reference rates (LPR) and the holiday table."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import (
    Holiday,
    ReferenceRate,
)
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, NotFound, ValidationFailed
from products import yaml_text

RATE_KINDS = {"lpr_1y": ("1年期 LPR", "1-year LPR"), "lpr_5y": ("5年期以上 LPR", "5-year-plus LPR")}
#: Field messages are worded in the user's language (Chinese outside a request).
t = limits.in_user_language


def list_rates(session: Session) -> list[ReferenceRate]:
    """Return the reference rates, newest first."""
    return list(
        session.scalars(
            select(ReferenceRate).order_by(ReferenceRate.kind, ReferenceRate.effective_on.desc())
        )
    )


def add_rate(
    session: Session,
    *,
    actor_id: int | None,
    kind: str,
    annual_rate: Decimal,
    effective_on: date,
    source: str = "",
) -> ReferenceRate:
    """Add a reference rate (a decimal fraction per year) effective from a day (commits)."""
    errors: dict[str, str] = {}
    if kind not in RATE_KINDS:
        errors["kind"] = t("请选择利率种类", "Choose the kind of rate")
    # An LPR has never been outside 0-20 % a year; a value like 3.1 is a percent typed
    # where a fraction was meant, so refuse it rather than quote a 310 % loan.
    if not (Decimal("0") < annual_rate < limits.MAX_REFERENCE_RATE_PERCENT / 100):
        errors["annual_rate"] = t(
            f"利率应在 0% 到 {limits.MAX_REFERENCE_RATE_PERCENT:.0f}% 之间",
            f"The rate lies between 0% and {limits.MAX_REFERENCE_RATE_PERCENT:.0f}%",
        )
    source = limits.collect_text(errors, "source", source, "source")
    if errors:
        raise ValidationFailed.marked(errors)
    exists = session.scalar(
        select(ReferenceRate.id).where(
            ReferenceRate.kind == kind, ReferenceRate.effective_on == effective_on
        )
    )
    if exists is not None:
        raise Conflict(
            "该日期已有同种利率，请先删除原记录。",
            "A rate of this kind already takes effect on that day.",
            fields={"effective_on": t("该日期已有记录", "That day already has a rate")},
        )
    row = ReferenceRate(
        kind=kind, annual_rate=annual_rate, effective_on=effective_on, source=source
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="rate.added",
        object_type="reference_rate",
        object_id=row.id,
        data={"kind": kind, "annual_rate": str(annual_rate), "effective_on": str(effective_on)},
    )
    session.commit()
    if kind == "lpr_1y":  # wip-13p: a new LPR changes the cost of LPR-priced products
        from finportal.services import push

        push.lpr_changed(session, actor_id=actor_id)
    return row


def delete_rate(session: Session, rate_id: int, *, actor_id: int | None) -> None:
    """Delete a reference rate entry (commits)."""
    row = session.get(ReferenceRate, rate_id)
    if row is None:
        raise NotFound.of("rate")
    record_event(
        session,
        actor_id=actor_id,
        action="rate.deleted",
        object_type="reference_rate",
        object_id=row.id,
        data={
            "kind": row.kind,
            "annual_rate": str(row.annual_rate),
            "effective_on": str(row.effective_on),
        },
    )
    kind = row.kind
    session.delete(row)
    session.commit()
    if kind == "lpr_1y":  # wip-13p: the LPR in force may have changed
        from finportal.services import push

        push.lpr_changed(session, actor_id=actor_id)


# ---------------------------------------------------------------- holidays


def list_holidays(session: Session, year: int | None = None) -> list[Holiday]:
    """Return the holiday table (optionally one year), in date order."""
    stmt = select(Holiday).order_by(Holiday.day)
    if year:
        stmt = stmt.where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
    return list(session.scalars(stmt))


def add_holiday(
    session: Session, *, actor_id: int | None, day: date, name: str, is_workday: bool = False
) -> Holiday:
    """Add a day off, or a weekend day that is worked (调休), to the table (commits)."""
    name = limits.valid_text(name, "short_name", "name")
    if not name:
        raise ValidationFailed.marked(
            {"name": t("请填写名称，例如 国庆节", "Enter a name, e.g. National Day")}
        )
    if is_workday and day.weekday() < 5:
        # A weekday is worked anyway; only a weekend day can be a 调休 workday.
        raise ValidationFailed.marked(
            {
                "is_workday": t(
                    f"{day} 是工作日，调休上班只适用于周六、周日",
                    f"{day} is a weekday; only a Saturday or Sunday can be a make-up workday",
                )
            }
        )
    if session.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
        raise Conflict(
            "该日期已在节假日表中。",
            "This day is already in the table.",
            fields={"day": t("已存在", "Already in the table")},
        )
    row = Holiday(day=day, name=name, is_workday=is_workday)
    session.add(row)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="holiday.added",
        object_type="holiday",
        object_id=row.id,
        data={"day": str(day), "name": name, "is_workday": is_workday},
    )
    session.commit()
    return row


@cache
def official_notices() -> tuple[dict[str, Any], ...]:
    """Return the State Council's holiday notices the portal carries (``data/holidays.yaml``)."""
    return tuple(yaml_text.data_file("finportal", "data/holidays.yaml")["notices"])


def official_days(years: tuple[int, ...] | None = None) -> list[tuple[date, str, bool]]:
    """Return (day, name, is_workday) of every day the notices list, for ``years`` or all."""
    days: list[tuple[date, str, bool]] = []
    for notice in official_notices():
        if years is not None and notice["year"] not in years:
            continue
        for span in notice["days_off"]:
            day = span["from"]
            while day <= span["to"]:
                days.append((day, str(span["name"]), False))
                day += timedelta(days=1)
        days += [(item["day"], str(item["name"]), True) for item in notice["workdays"]]
    return sorted(days)


def load_official_holidays(
    session: Session, *, actor_id: int | None, years: tuple[int, ...] | None = None
) -> dict[str, int]:
    """Add the notices' days that the table lacks (commits); {"added": n, "kept": m}.

    A day already in the table is kept as the admin entered it: loading twice adds nothing.
    """
    wanted = official_days(years)
    present = set(
        session.scalars(select(Holiday.day).where(Holiday.day.in_([d for d, _n, _w in wanted])))
    )
    added = [(d, n, w) for d, n, w in wanted if d not in present]
    session.add_all(Holiday(day=d, name=n, is_workday=w) for d, n, w in added)
    result = {"added": len(added), "kept": len(wanted) - len(added)}
    if added:
        session.flush()
        record_event(
            session,
            actor_id=actor_id,
            action="holiday.loaded",
            object_type="holiday",
            object_id=None,
            data={
                **result,
                "years": sorted({d.year for d, _n, _w in added}),
                "source": [n["title"] for n in official_notices()],
            },
        )
    session.commit()
    return result


def years_without_holidays(session: Session, today: date) -> list[int]:
    """Return this year and the next if the table holds no day off for them (deadlines would
    then count their public holidays as working days)."""
    years = (today.year, today.year + 1)
    have = set(
        session.scalars(
            select(Holiday.day).where(
                Holiday.is_workday.is_(False),
                Holiday.day >= date(years[0], 1, 1),
                Holiday.day <= date(years[1], 12, 31),
            )
        )
    )
    return [y for y in years if not any(d.year == y for d in have)]


def delete_holiday(session: Session, holiday_id: int, *, actor_id: int | None) -> None:
    """Remove a day from the holiday table (commits)."""
    row = session.get(Holiday, holiday_id)
    if row is None:
        raise NotFound.of("holiday")
    record_event(
        session,
        actor_id=actor_id,
        action="holiday.deleted",
        object_type="holiday",
        object_id=row.id,
        data={"day": str(row.day), "name": row.name, "is_workday": row.is_workday},
    )
    session.delete(row)
    session.commit()


# ---------------------------------------------------------------- products
