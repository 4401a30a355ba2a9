"""The SME blueprint, its template helpers, the home page, notifications and job status."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits, money
from finportal.domain import fields as profile_fields
from finportal.domain.states import APPLICATION, event_title
from finportal.extensions import db
from finportal.limits import in_user_language
from finportal.services import application_details, profile_form
from finportal.services import enterprises as enterprise_service
from finportal.services import notifications as notification_service
from finportal.services.errors import NotFound
from finportal.services.labels import purpose_label
from finportal.web.access import restrict_blueprint
from finportal.web.filters import sh_time
from finportal.web.forms import flash_outcome
from finportal.web.inputs import same_site_path
from finportal.web.nav import sme_unread

bp = Blueprint("sme", __name__, url_prefix="/sme")
restrict_blueprint(bp, "sme")


def wan(value: Any, places: int = 2) -> str:
    """Write yuan as 万元 with thousands separators, trailing zeros dropped ('—' for None)."""
    return money.wan(value, places, trim=True)


def yuan(value: Any) -> str:
    """Write a schedule line in 元 with thousands separators and two decimals."""
    return money.yuan(value)


def pct(value: Any) -> str:
    """Write a decimal-fraction rate as a percentage (0.0345 -> 3.45%)."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)) * 100:.2f}%"


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "wan": wan,
        "yuan": yuan,
        "pct": pct,
        "local": sh_time,
        "state_label": lambda s: APPLICATION.title(s),
        "event_state": event_title,
        "field_label": profile_fields.label,
        "purpose_label": purpose_label,
    }


def enterprise_id() -> int | None:
    """Return the signed-in SME's enterprise id."""
    return current_user.enterprise_id


def act_for_firm(step: Callable[..., object], done: str, **arguments: object) -> None:
    """Run a button's service call as the signed-in user for the firm (plus ``arguments``),
    and flash ``done`` or why it was refused (:func:`finportal.web.forms.flash_outcome`)."""
    flash_outcome(
        partial(
            step, db.session, actor_id=current_user.id, enterprise_id=enterprise_id(), **arguments
        ),
        done,
    )


@bp.get("/")
def home() -> Any:
    """Show the enterprise's home page: profile completeness, applications, unread messages."""
    enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
    return render_template(
        "sme/home.html",
        enterprise=enterprise,
        size=enterprise_service.size_class_of(enterprise),
        completeness=profile_form.completeness(db.session, enterprise),
        applications=application_details.list_applications(db.session, enterprise.id, limit=5),
        unread=sme_unread(),
        # 续贷 (issue 13): the running loans inside the first reminder's window.
        maturing=_maturing(enterprise.id),
    )


def _maturing(enterprise_id: int) -> list[tuple[Any, int]]:
    """Return the firm's running loans maturing within the first reminder's days, with days left."""
    from finportal.services import maturities, reminders
    from finportal.services.workdays import today_local

    today = today_local()
    return [
        (loan, loan.days_left(today))
        for loan in maturities.loans_of(db.session, enterprise_id, today=today)
        if loan.days_left(today) <= reminders.REMINDER_DAYS[0]
    ]


@bp.get("/notifications")
def notifications() -> Any:
    """List status changes and 政策找企业 pushes, unread first marked."""
    unread_only = request.args.get("show") == "unread"
    found = notification_service.notifications_page(
        db.session,
        enterprise_id=enterprise_id(),
        user_id=current_user.id,
        page=limits.page_number(request.args.get("page")),
        unread_only=unread_only,
    )
    return render_template(
        "sme/notifications.html",
        items=found.items,
        page=found,
        unread_only=unread_only,
        kinds={k: in_user_language(*words) for k, words in notification_service.KINDS.items()},
        unread=notification_service.unread_count(
            db.session, enterprise_id=enterprise_id(), user_id=current_user.id
        ),
    )


@bp.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int) -> Any:
    """Mark a notification read (or unread with ``read=0``) and follow its link if asked."""
    note = notification_service.mark_read(
        db.session,
        enterprise_id=enterprise_id(),
        user_id=current_user.id,
        notification_id=notification_id,
        read=request.form.get("read", "1") != "0",
    )
    link = same_site_path(note.link)
    if request.form.get("follow") and link:
        return redirect(link)
    return redirect(url_for("sme.notifications"))


@bp.post("/notifications/read-all")
def read_all_notifications() -> Any:
    """Mark every notification read."""
    count = notification_service.mark_all_read(
        db.session, enterprise_id=enterprise_id(), user_id=current_user.id
    )
    flash(_("已将 %(n)s 条消息标为已读。", n=count), "success")
    return redirect(url_for("sme.notifications"))


@bp.get("/jobs/<job_id>")
def job_status(job_id: str) -> Any:
    """Answer the state of a screening job of this enterprise (JSON, for progress polling)."""
    try:
        return application_details.job_status(db.session, enterprise_id(), job_id)
    except NotFound as exc:
        return {"code": exc.code, "message": exc.message_zh, "message_en": exc.message_en}, 404
