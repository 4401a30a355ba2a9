"""The demand board from the firm's side: post a need, read its claims, consent, choose, withdraw."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.i18n import name
from finportal.services import enterprises as enterprise_service
from finportal.services import need_forms, needs, verification
from finportal.services.errors import NotFound, ServiceError
from finportal.services.labels import purpose_choices
from finportal.web.forms import flash_refusal, form_errors, load_form
from finportal.web.need_helpers import helpers
from finportal.web.sme.views import act_for_firm, bp, enterprise_id


@bp.context_processor
def _need_helpers() -> dict[str, Any]:
    return helpers()


@bp.get("/needs")
def needs_list() -> Any:
    """List the enterprise's posted needs with their claims."""
    page = needs.list_for_enterprise(
        db.session, enterprise_id(), page=limits.page_number(request.args.get("page"))
    )
    return render_template("needs/sme_list.html", page=page)


def _form_page(values: dict[str, Any], errors: dict[str, str]) -> Any:
    return render_template(
        "needs/sme_new.html",
        values=values,
        errors=errors,
        purposes=purpose_choices(),
        collaterals=needs.choices(needs.COLLATERAL),
        urgencies=needs.choices(needs.URGENCY),
    ), (422 if errors else 200)


@bp.route("/needs/new", methods=["GET", "POST"])
def new_need() -> Any:
    """Post a financing need: amount (万元), term, purpose, collateral, urgency."""
    if request.method == "GET":
        return _form_page({"collateral": "none", "urgency": "normal"}, {})
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data, errors = load_form(need_forms.NeedSchema(), request.form)
    if data is None:
        return _form_page(values, errors)
    try:
        need = needs.post_need(
            db.session, actor_id=current_user.id, enterprise_id=enterprise_id(), data=data
        )
    except NotFound:
        raise
    except ServiceError as exc:
        db.session.rollback()
        return _form_page(values, form_errors(exc))
    flash(_("融资需求已发布，适用的合作银行可以认领。"), "success")
    return redirect(url_for("sme.need_detail", need_id=need.id))


@bp.get("/needs/<int:need_id>")
def need_detail(need_id: int) -> Any:
    """Show a need: its request, the fitting products, the banks' claims and what to do next."""
    need = needs.get_for_enterprise(db.session, enterprise_id(), need_id)
    enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
    return render_template(
        "needs/sme_detail.html",
        need=need,
        products=needs.fitting_products(db.session, need.id),
        verified=verification.is_verified(enterprise),
    )


def _back(need_id: int) -> Any:
    return redirect(url_for("sme.need_detail", need_id=need_id))


@bp.post("/needs/<int:need_id>/claims/<int:claim_id>/consent")
def need_consent(need_id: int, claim_id: int) -> Any:
    """Consent to the claiming bank seeing the firm."""
    try:
        claim = needs.consent_to_claim(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            need_id=need_id,
            claim_id=claim_id,
        )
    except ServiceError as exc:
        flash_refusal(exc)
        return _back(need_id)
    flash(_("已授权%(bank)s查看贵企业信息。", bank=name(claim.bank)), "success")
    return _back(need_id)


@bp.post("/needs/<int:need_id>/claims/<int:claim_id>/choose")
def need_choose(need_id: int, claim_id: int) -> Any:
    """Choose a claim: an application and a referral to that bank follow."""
    try:
        application = needs.choose_claim(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            need_id=need_id,
            claim_id=claim_id,
        )
    except ServiceError as exc:
        flash_refusal(exc)
        return _back(need_id)
    flash(_("已选定该银行，推荐材料已发送给银行。"), "success")
    return redirect(url_for("sme.application", application_id=application.id))


@bp.post("/needs/<int:need_id>/withdraw")
def need_withdraw(need_id: int) -> Any:
    """Withdraw a need still on the board."""
    act_for_firm(
        needs.withdraw_need,
        _("融资需求已撤回。"),
        need_id=need_id,
        reason=request.form.get("reason", ""),
    )
    return _back(need_id)
