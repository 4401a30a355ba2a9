"""Recommender pages (园区/商会推荐工作台): own members, their eligibility, recommend and withdraw."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from marshmallow import Schema, pre_load

from finportal import limits
from finportal.extensions import db
from finportal.services import batch_recommendations
from finportal.services import batches as batch_service
from finportal.services.errors import ServiceError
from finportal.web.access import restrict_blueprint
from finportal.web.forms import flash_refusal, load_form, message

bp = Blueprint("recommender", __name__, url_prefix="/recommender")
restrict_blueprint(bp, "recommender")


class RecommendForm(Schema):
    """Recommend one member enterprise into a batch."""

    batch_id = limits.Id(
        required=True,
        message=("请选择批次", "Choose a batch."),
        error_messages={"required": lazy_gettext("请选择批次")},
    )
    enterprise_id = limits.Id(
        required=True,
        message=("请选择企业", "Choose an enterprise."),
        error_messages={"required": lazy_gettext("请选择企业")},
    )
    note = limits.Text("reason", load_default="")
    #: Loaded as yuan (a loan, :data:`finportal.limits.AMOUNTS`); empty: the per-firm cap.
    requested_amount_wan = limits.Amount("loan", unit="wan", load_default=None, allow_none=True)

    @pre_load
    def _blank(self, data: Any, **_: Any) -> Any:
        out = dict(data)
        if str(out.get("requested_amount_wan", "")).strip() == "":
            out["requested_amount_wan"] = None
        return out


@bp.get("/")
def home() -> Any:
    """Show the organisation's member enterprises, their eligibility, and its batches."""
    session = db.session
    org = current_user.park or current_user.chamber
    if org is None:
        return render_template("recommender/home.html", org=None)
    try:
        version = batch_recommendations.recommender_product(session, actor_id=current_user.id)
    except ServiceError as exc:
        # No batch product published yet: the page still lists the members.
        flash(message(exc), "warning")
        version = None
    enterprises = batch_recommendations.organisation_members(session, actor_id=current_user.id)
    evaluations = (
        {e.id: batch_recommendations.evaluate_member(e, version) for e in enterprises}
        if version
        else {}
    )
    batches = batch_recommendations.recommender_batches(session, actor_id=current_user.id)
    open_batches = [b for b in batches if b.state == "open"]
    in_batch: dict[int, list[Any]] = {}
    for batch in batches:
        for member in batch.members:
            if member.state != "withdrawn":
                in_batch.setdefault(member.enterprise_id, []).append(member)
    # The open batches each enterprise can still be recommended into.
    available = {
        e.id: [b for b in open_batches if all(m.batch_id != b.id for m in in_batch.get(e.id, []))]
        for e in enterprises
    }
    return render_template(
        "recommender/home.html",
        org=org,
        version=version,
        enterprises=enterprises,
        evaluations=evaluations,
        batches=batches,
        open_batches=open_batches,
        in_batch=in_batch,
        available=available,
        quota={b.id: batch_service.quota_use(b) for b in batches},
        errors=request.args.get("error", ""),
    )


@bp.post("/recommendations")
def recommend() -> Any:
    """Recommend a member enterprise into an open batch of the organisation, with a note."""
    data, errors = load_form(RecommendForm(), request.form)
    if data is None:
        flash(limits.joined(list(errors.values())), "danger")
        return redirect(url_for("recommender.home"))
    amount = data["requested_amount_wan"]
    try:
        member = batch_recommendations.recommend_member(
            db.session,
            batch_id=data["batch_id"],
            enterprise_id=data["enterprise_id"],
            actor_id=current_user.id,
            note=data["note"],
            requested_amount=amount,
        )
    except ServiceError as exc:
        flash_refusal(exc)
    else:
        flash(_("已推荐 %(name)s 进入批次。", name=member.enterprise.name), "success")
    return redirect(url_for("recommender.home"))


@bp.post("/batches/<int:batch_id>/members/<int:member_id>/withdraw")
def withdraw(batch_id: int, member_id: int) -> Any:
    """Withdraw a recommendation before the batch goes to the bank."""
    try:
        member = batch_service.get_member(db.session, batch_id, member_id)
        batch_recommendations.withdraw_member(
            db.session,
            member.id,
            actor_id=current_user.id,
            reason=request.form.get("reason", ""),
        )
    except ServiceError as exc:
        flash_refusal(exc)
    else:
        flash(_("已撤回推荐。"), "success")
    return redirect(url_for("recommender.home"))
