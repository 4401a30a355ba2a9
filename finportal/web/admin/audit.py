"""The audit trail: filter by actor, action, object and date range, page by page."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError, validates_schema

from finportal import limits
from finportal.extensions import db
from finportal.services import audit_log, labels
from finportal.web.admin.views import DATE, FormSchema, bp, text
from finportal.web.forms import load_form


class AuditFilter(FormSchema):
    """Filters of the audit list (query string)."""

    actor = text("search")
    action = text("search")
    object_type = text("search")
    object_id = limits.Id(
        load_default=None,
        message=("请填写整数（对象编号为正整数）。", "Enter a positive whole number."),
    )
    date_from = limits.Date(load_default=None, error_messages=DATE)
    date_to = limits.Date(load_default=None, error_messages=DATE)
    page = limits.page_field()

    @validates_schema
    def _range(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError(_("结束日期不能早于开始日期。"), "date_to")


@bp.get("/audit")
def audit() -> Any:
    """List audit events, newest first, with filters."""
    query, errors = load_form(AuditFilter(), request.args)
    values = dict(request.args)
    page = None
    if query is not None:
        page = audit_log.list_audit_events(db.session, per_page=limits.PAGE_SIZE, **query)
    args = {k: v for k, v in values.items() if k != "page" and v}
    choices = audit_log.audit_choices(db.session)
    return render_template(
        "admin/audit.html",
        page=page,
        values=values,
        errors=errors,
        args=args,
        events=audit_log.readable_events(
            page.items if page else [],
            audit_log.usernames(db.session, {e.actor_id for e in page.items} if page else set()),
        ),
        action_choices=[(a, labels.action_label(a)) for a in choices["actions"]],
        type_choices=[(t, labels.object_label(t)) for t in choices["object_types"]],
    ), (422 if errors else 200)
