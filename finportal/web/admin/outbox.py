"""The outbox: messages to e-mail, SMS and WeChat by state; failed ones with a retry button."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import fields, validate

from finportal import limits
from finportal.extensions import db
from finportal.services import outbox
from finportal.services.channels import CHANNELS
from finportal.services.errors import ServiceError
from finportal.web.admin.views import CHOICE, FormSchema, bp
from finportal.web.forms import flash_refusal, load_form


class OutboxFilter(FormSchema):
    """Filters of the outbox list (query string)."""

    state = fields.String(
        load_default="failed", validate=validate.OneOf(tuple(outbox.STATES), error=CHOICE)
    )
    page = limits.page_field()


@bp.get("/outbox")
def outbox_list() -> Any:
    """List outbox messages by state; failed ones first, each with a retry button."""
    query, errors = load_form(OutboxFilter(), request.args)
    page = outbox.list_messages(db.session, per_page=limits.PAGE_SIZE, **query) if query else None
    state = (query or {}).get("state", "failed")
    return render_template(
        "admin/outbox.html",
        page=page,
        state=state,
        errors=errors,
        counts=outbox.state_counts(db.session),
        states=outbox.STATES,
        channels=CHANNELS,
        args={"state": state},
    ), (422 if errors else 200)


@bp.post("/outbox/<int:message_id>/retry")
def outbox_retry(message_id: int) -> Any:
    """Send a failed message again (fresh attempts), now."""
    try:
        row = outbox.retry(db.session, message_id, actor_id=current_user.id)
    except ServiceError as exc:
        flash_refusal(exc)
        return redirect(url_for("admin.outbox_list"))
    outbox.send_soon(db.session, [row.id])
    flash(_("已重新发送第 %(id)s 条消息。", id=row.id), "success")
    return redirect(url_for("admin.outbox_list"))
