"""Reference data: the LPR table and the holiday table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from marshmallow import fields, validate

from finportal import limits
from finportal.extensions import db
from finportal.services import reference_data
from finportal.services.workdays import today_local
from finportal.web.admin.views import (
    CHOICE,
    DATE,
    DECIMAL,
    INTEGER,
    FormSchema,
    attempt,
    bp,
    checkbox,
    text,
)
from finportal.web.forms import load_form


class RateForm(FormSchema):
    """A reference rate entry; the rate is typed in percent per year."""

    kind = fields.String(
        required=True,
        error_messages={"required": CHOICE},
        validate=validate.OneOf(list(reference_data.RATE_KINDS), error=CHOICE),
    )
    rate_percent = limits.Number(
        places=limits.RATE_PLACES - 2,
        required=True,
        error_messages=DECIMAL,
        validate=validate.Range(
            min=Decimal("0"),
            max=limits.MAX_REFERENCE_RATE_PERCENT,
            min_inclusive=False,
            error=lazy_gettext(
                "应在 0 到 %(high)s 之间（单位：%%）",
                high=f"{limits.MAX_REFERENCE_RATE_PERCENT:.0f}",
            ),
        ),
    )
    effective_on = limits.Date(required=True, error_messages=DATE)
    source = text("source")


class HolidayForm(FormSchema):
    """A day off, or a weekend day that is worked (调休)."""

    day = limits.Date(required=True, error_messages=DATE)
    name = text("short_name", required=True)
    is_workday = checkbox()


class YearFilter(FormSchema):
    """The year shown on the holiday page."""

    year = fields.Integer(
        load_default=None, error_messages=INTEGER, validate=validate.Range(min=2000, max=2100)
    )


@bp.route("/rates", methods=["GET", "POST"])
def rates() -> Any:
    """List the LPR entries and add one."""
    values: dict[str, Any] = {"kind": "lpr_1y"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = dict(request.form)
        data, errors = load_form(RateForm(), request.form)
        if data is not None:
            row, errors = attempt(
                lambda: reference_data.add_rate(
                    db.session,
                    actor_id=current_user.id,
                    kind=data["kind"],
                    annual_rate=data["rate_percent"] / 100,
                    effective_on=data["effective_on"],
                    source=data["source"],
                )
            )
            if row is not None:
                flash(_("已添加 %(day)s 起执行的利率。", day=row.effective_on), "success")
                return redirect(url_for("admin.rates"))
    return render_template(
        "admin/rates.html",
        rates=reference_data.list_rates(db.session),
        kinds=limits.words(reference_data.RATE_KINDS),
        values=values,
        errors=errors,
    ), (422 if errors else 200)


@bp.post("/rates/<int:rate_id>/delete")
def rate_delete(rate_id: int) -> Any:
    """Delete a rate entry."""
    reference_data.delete_rate(db.session, rate_id, actor_id=current_user.id)
    flash(_("已删除该利率记录。"), "success")
    return redirect(url_for("admin.rates"))


@bp.route("/holidays", methods=["GET", "POST"])
def holidays() -> Any:
    """List the holiday table (one year at a time) and add a day."""
    query, _errors = load_form(YearFilter(), request.args)
    year = (query or {}).get("year") or today_local().year
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = dict(request.form)
        data, errors = load_form(HolidayForm(), request.form)
        if data is not None:
            row, errors = attempt(
                lambda: reference_data.add_holiday(
                    db.session,
                    actor_id=current_user.id,
                    day=data["day"],
                    name=data["name"],
                    is_workday=data["is_workday"],
                )
            )
            if row is not None:
                flash(_("已添加 %(day)s %(name)s。", day=row.day, name=row.name), "success")
                return redirect(url_for("admin.holidays", year=row.day.year))
    return render_template(
        "admin/holidays.html",
        holidays=reference_data.list_holidays(db.session, year),
        year=year,
        values=values,
        errors=errors,
        missing_years=reference_data.years_without_holidays(db.session, today_local()),
        notices=reference_data.official_notices(),
    ), (422 if errors else 200)


@bp.post("/holidays/load")
def holidays_load() -> Any:
    """Load the State Council's notices the portal carries (days already in the table stay)."""
    result = reference_data.load_official_holidays(db.session, actor_id=current_user.id)
    flash(
        _("已载入国务院通知中的 %(added)s 天（表中已有的 %(kept)s 天保持不变）。", **result),
        "success",
    )
    return redirect(url_for("admin.holidays"))


@bp.post("/holidays/<int:holiday_id>/delete")
def holiday_delete(holiday_id: int) -> Any:
    """Remove a day from the holiday table."""
    reference_data.delete_holiday(db.session, holiday_id, actor_id=current_user.id)
    flash(_("已删除。"), "success")
    return redirect(url_for("admin.holidays", year=request.form.get("year") or None))
