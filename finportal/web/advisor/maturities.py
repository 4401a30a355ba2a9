"""The advisor's list of running loans by maturity, with the renewal pre-check (issue 13)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from finportal import limits
from finportal.domain import fields as profile_fields
from finportal.extensions import db
from finportal.services import maturities, reminders, renewals
from finportal.services.workdays import today_local
from finportal.web.advisor.views import bp
from finportal.web.forms import load_form

#: The windows the list offers: each reminder's days, or every running loan.
WINDOWS = (*(str(d) for d in reminders.REMINDER_DAYS), "all")


class MaturityFilterSchema(Schema):
    """Filters of the maturity list (query string)."""

    class Meta:
        unknown = EXCLUDE

    within = fields.String(load_default=None, validate=validate.OneOf([*WINDOWS, ""]))
    mine = fields.String(load_default=None, validate=validate.OneOf(["1", ""]))
    page = limits.page_field()


def _words(pair: tuple[str, str]) -> str:
    return limits.in_user_language(pair[0], pair[1] or pair[0])


@bp.get("/maturities")
def maturities_list() -> Any:
    """List the running loans maturing soonest, their pre-check and the reminders sent to me."""
    data, errors = load_form(MaturityFilterSchema(), request.args)
    data = data or {}
    within = data.get("within") or str(reminders.REMINDER_DAYS[0])
    today = today_local()
    found = maturities.loans_page(
        db.session,
        today=today,
        within_days=None if within == "all" else int(within),
        advisor_id=current_user.id if data.get("mine") == "1" else None,
        page=data.get("page") or 1,
        per_page=limits.PAGE_SIZE,
    )
    return render_template(
        "advisor/maturities.html",
        page=found,
        page_args={k: v for k, v in request.args.items() if k != "page" and v},
        checks=renewals.prechecks(db.session, found.items, today=today),
        today=today,
        within=within,
        windows=WINDOWS,
        mine=data.get("mine") == "1",
        errors=errors,
        sent=reminders.sent_to_user(db.session, current_user.id),
        words=_words,
        field_label=profile_fields.label,
    )
