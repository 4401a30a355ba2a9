"""The demand board from the advisors' side: needs no bank claimed in time; close one."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.services import needs
from finportal.services.complaints import names_of
from finportal.services.errors import ServiceError
from finportal.web.advisor.views import bp
from finportal.web.forms import form_errors
from finportal.web.need_helpers import helpers


@bp.context_processor
def _need_helpers() -> dict[str, Any]:
    return helpers()


@bp.get("/needs")
def needs_escalated() -> Any:
    """List the needs no bank claimed within the clock: the advisor's own first, then by deadline."""
    number = limits.page_number(request.args.get("page"))
    found = needs.escalated_page(db.session, page=number, advisor_id=current_user.id)
    return render_template(
        "needs/advisor_list.html",
        page=found,
        names=names_of(db.session, {n.assigned_advisor_id for n in found.items}),
    )


def _render(need_id: int, status: int = 200, **extra: Any) -> Any:
    need = needs.get_for_advisor(db.session, need_id)
    return render_template(
        "needs/advisor_detail.html",
        need=need,
        products=needs.fitting_products(db.session, need.id),
        assignee=names_of(db.session, {need.assigned_advisor_id}).get(
            need.assigned_advisor_id or 0
        ),
        values=extra.get("values", {}),
        errors=extra.get("errors", {}),
    ), status


@bp.get("/needs/<int:need_id>")
def need_detail(need_id: int) -> Any:
    """Show a need with the firm, its request, fitting products and claims."""
    return _render(need_id)


@bp.post("/needs/<int:need_id>/close")
def need_close(need_id: int) -> Any:
    """Close an escalated need with the reason the firm reads."""
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        needs.close_need(
            db.session, actor_id=current_user.id, need_id=need_id, reason=values.get("reason", "")
        )
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _render(need_id, exc.status, values=values, errors=form_errors(exc))
    flash(_("融资需求已关闭。"), "success")
    return redirect(url_for("advisor.needs_escalated"))
