"""The catalogue products a partner bank lends under (which demand-board needs it sees)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from finportal.extensions import db
from finportal.models import Product
from finportal.services import needs
from finportal.web.admin.views import attempt, bp


def bank_product_choices(bank_id: int) -> list[tuple[Product, bool]]:
    """Return every active product with whether the bank lends under it (two statements)."""
    chosen = set(needs.bank_product_ids(db.session, bank_id))
    rows = db.session.scalars(
        select(Product).where(Product.active.is_(True)).order_by(Product.code)
    )
    return [(p, p.id in chosen) for p in rows]


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"bank_product_choices": bank_product_choices}


@bp.post("/organisations/bank/<int:org_id>/products")
def bank_products(org_id: int) -> Any:
    """Set the products the bank lends under."""
    _saved, errors = attempt(
        lambda: needs.set_bank_products(
            db.session,
            actor_id=current_user.id,
            bank_id=org_id,
            product_ids=request.form.getlist("product_ids"),
        )
    )
    if errors:
        db.session.rollback()
        flash(errors.get("_form") or next(iter(errors.values())), "danger")
    else:
        flash(_("已保存该银行的适用产品。"), "success")
    return redirect(url_for("admin.organisation_edit", kind="bank", org_id=org_id))
