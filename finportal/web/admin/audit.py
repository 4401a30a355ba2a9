"""The audit trail: filter by actor, action, object and date range, page by page."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from marshmallow import ValidationError, fields, validate, validates_schema

from finportal.extensions import db
from finportal.services import admin as admin_service
from finportal.web.admin.views import DATE, INTEGER, FormSchema, bp, text
from finportal.web.forms import load_form

PER_PAGE = 50


class AuditFilter(FormSchema):
    """Filters of the audit list (query string)."""

    actor = text()
    action = text()
    object_type = text()
    object_id = fields.Integer(load_default=None, error_messages=INTEGER)
    date_from = fields.Date(load_default=None, error_messages=DATE)
    date_to = fields.Date(load_default=None, error_messages=DATE)
    page = fields.Integer(
        load_default=1, error_messages=INTEGER, validate=validate.Range(min=1, error="页码从1开始")
    )

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("结束日期不能早于开始日期。", "date_to")


@bp.get("/audit")
def audit() -> Any:
    """List audit events, newest first, with filters."""
    query, errors = load_form(AuditFilter(), request.args)
    values = dict(request.args)
    page = None
    if query is not None:
        page = admin_service.list_audit_events(db.session, per_page=PER_PAGE, **query)
    args = {k: v for k, v in values.items() if k != "page" and v}
    return render_template(
        "admin/audit.html",
        page=page,
        values=values,
        errors=errors,
        args=args,
        names=admin_service.usernames(
            db.session, {e.actor_id for e in page.items} if page else set()
        ),
        choices=admin_service.audit_choices(db.session),
    ), (422 if errors else 200)
