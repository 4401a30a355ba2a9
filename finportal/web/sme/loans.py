"""The SME's running loans: maturity, days left, the renewal pre-check and 申请续贷 (issue 13)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from finportal.extensions import db
from finportal.limits import in_user_language
from finportal.services import enterprises as enterprise_service
from finportal.services import maturities, reminders, renewals
from finportal.services.workdays import today_local
from finportal.web.sme.views import bp, enterprise_id


def words(pair: tuple[str, str]) -> str:
    """Return a (中文, English) pair in the user's language."""
    return in_user_language(pair[0], pair[1] or pair[0])


@bp.context_processor
def _renewal_helpers() -> dict[str, Any]:
    return {"words": words}


@bp.get("/loans")
def loans() -> Any:
    """List the enterprise's running loans with maturity, days left and the renewal pre-check."""
    enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
    today = today_local()
    items = maturities.loans_of(db.session, enterprise.id, today=today)
    return render_template(
        "sme/loans.html",
        loans=items,
        checks=renewals.prechecks(db.session, items, today=today),
        open_renewals=renewals.open_renewals(
            db.session, [loan.referral_id for loan in items if loan.referral_id is not None]
        ),
        today=today,
        reminder_days=reminders.REMINDER_DAYS,
    )
