"""The demand board from a bank's side: needs that fit its products, anonymised; claim one."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.services import needs
from finportal.services.errors import ServiceError
from finportal.web.bank.views import _bank_id, bp
from finportal.web.forms import form_errors
from finportal.web.need_helpers import helpers


@bp.context_processor
def _need_helpers() -> dict[str, Any]:
    return helpers()


@bp.get("/needs")
def needs_board() -> Any:
    """List the needs that fit the bank's products (to claim) and the bank's claims."""
    tab = request.args.get("tab", "open")
    if tab not in needs.BANK_TABS:
        tab = "open"
    number = limits.page_number(request.args.get("page"))
    page = needs.board_for_bank(db.session, _bank_id(), tab=tab, page=number)
    return render_template("needs/bank_list.html", page=page, tab=tab)


def _render(need_id: int, status: int = 200, **extra: Any) -> Any:
    view = needs.get_for_bank(db.session, _bank_id(), need_id)
    return render_template(
        "needs/bank_detail.html",
        view=view,
        need=view.need,
        values=extra.get("values", {}),
        errors=extra.get("errors", {}),
    ), status


@bp.get("/needs/<int:need_id>")
def need_detail(need_id: int) -> Any:
    """Show a need as the bank may see it, with the claim form while it can be claimed."""
    return _render(need_id)


@bp.post("/needs/<int:need_id>/claim")
def need_claim(need_id: int) -> Any:
    """Claim the need for one of the bank's fitting products, with an offer in words."""
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        needs.claim_need(
            db.session,
            actor_id=current_user.id,
            bank_id=_bank_id(),
            need_id=need_id,
            product_id=values.get("product_id", ""),
            note=values.get("note", ""),
        )
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _render(need_id, exc.status, values=values, errors=form_errors(exc))
    flash(_("已认领该需求，企业授权后可看到企业信息。"), "success")
    return redirect(url_for("bank.need_detail", need_id=need_id))
