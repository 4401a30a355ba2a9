"""The firm's subsidies (免申即享): per loan 已享受 / 待兑付 / 已兑付, and its answers to a 公示."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal.domain.states import ENTITLEMENT
from finportal.extensions import db
from finportal.limits import in_user_language
from finportal.services import entitlements
from finportal.services.errors import ServiceError
from finportal.web.forms import no_refusal, refusal
from finportal.web.sme.views import act_for_firm, bp, enterprise_id
from products.sources import public_source


def _render(status: int = 200, **shown: Any) -> Any:
    page = {**no_refusal(), **shown}
    return (
        render_template(
            "sme/subsidies.html",
            loans=entitlements.firm_subsidies(db.session, enterprise_id()),
            machine=ENTITLEMENT,
            exclusion_text=entitlements.exclusion_text,
            kind_title=entitlements.kind_title,
            cite=lambda source: public_source(source, in_user_language("；", "; ")),
            cap_titles={k: in_user_language(*v) for k, v in entitlements.CAP_TITLES.items()},
            **page,
        ),
        status,
    )


@bp.get("/subsidies")
def subsidies() -> Any:
    """Show the firm's subsidies per loan and the listed ones it may confirm or object to."""
    return _render()


@bp.post("/subsidies/<int:entitlement_id>/confirm")
def confirm_subsidy(entitlement_id: int) -> Any:
    """Confirm a listed subsidy."""
    act_for_firm(
        entitlements.confirm,
        _("已确认，补贴将在下一兑付批次中发放。"),
        entitlement_id=entitlement_id,
    )
    return redirect(url_for("sme.subsidies"))


@bp.post("/subsidies/<int:entitlement_id>/object")
def object_to_subsidy(entitlement_id: int) -> Any:
    """Object to a listed subsidy, with why; the objection goes to an advisor."""
    text = request.form.get("objection", "")
    try:
        entitlements.object_to(
            db.session,
            entitlement_id,
            enterprise_id=enterprise_id(),
            actor_id=current_user.id,
            text=text,
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        shown = refusal(exc, {"objection": text, "entitlement_id": entitlement_id}, "object")
        return _render(shown.pop("status"), **shown)
    flash(_("异议已提交，服务中心顾问会处理并回复您。"), "success")
    return redirect(url_for("sme.subsidies"))
