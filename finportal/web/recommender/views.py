"""Recommender pages (园区/商会推荐工作台): own members, their eligibility, recommend and withdraw."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, ValidationError, pre_load

from finportal import limits
from finportal.extensions import db
from finportal.services import batch_recommendations
from finportal.services import batches as batch_service
from finportal.services.errors import ServiceError
from finportal.web.access import restrict_blueprint
from finportal.web.forms import flash_refusal, load_form, message

bp = Blueprint("recommender", __name__, url_prefix="/recommender")
restrict_blueprint(bp, "recommender")


class ListArgs(Schema):
    """Where the recommender is in the member list: the page and the search (name or USCC)."""

    class Meta:
        unknown = EXCLUDE

    page = limits.page_field()
    q = limits.Text("search", load_default="")


#: The list arguments a form posts back so that the recommender returns to the same page.
_LIST_KEYS = ("page", "q")


def _list_args(values: Any) -> dict[str, Any]:
    """Return the valid page and search of ``values`` (request args or a form); else the first page."""
    try:
        data = ListArgs().load({k: values.get(k) for k in _LIST_KEYS if values.get(k)})
    except ValidationError:
        return {"page": 1, "q": ""}
    return {"page": data["page"], "q": data["q"].strip()}


def _back(values: Any) -> Any:
    # Back to the list's page and search as posted: the list judges them as it judges any
    # request (a bad page number is refused there, after the action is done, never before).
    return redirect(
        url_for(
            "recommender.home",
            page=values.get("page") or None,
            q=str(values.get("q") or "").strip() or None,
        )
    )


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
    """Show a page of the organisation's members with their eligibility, and its open batches."""
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
    args = _list_args(request.args)
    found = batch_recommendations.members_page(
        session, actor_id=current_user.id, page=args["page"], search=args["q"] or None
    )
    enterprises = found.items
    evaluations = (
        batch_recommendations.evaluate_members(session, enterprises, version) if version else {}
    )
    open_list = batch_recommendations.open_batches(session, actor_id=current_user.id)
    open_batches = open_list.page.items
    in_batch = batch_recommendations.placements(
        session, actor_id=current_user.id, enterprise_ids=[e.id for e in enterprises]
    )
    # The open batches each enterprise can still be recommended into.
    available = {
        e.id: [b for b in open_batches if all(m.batch_id != b.id for m in in_batch.get(e.id, []))]
        for e in enterprises
    }
    return render_template(
        "recommender/home.html",
        org=org,
        version=version,
        page=found,
        page_args={"q": args["q"]} if args["q"] else {},
        search=args["q"],
        enterprises=enterprises,
        evaluations=evaluations,
        open_batches=open_batches,
        open_total=open_list.page.total,
        in_batch=in_batch,
        available=available,
        quota=open_list.quota,
        errors=request.args.get("error", ""),
    )


@bp.get("/batches")
def batches() -> Any:
    """List the organisation's batches, newest first, a page at a time, with their quota use."""
    org = current_user.park or current_user.chamber
    if org is None:
        return render_template("recommender/batches.html", org=None)
    found = batch_recommendations.recommender_batches_page(
        db.session, actor_id=current_user.id, page=_list_args(request.args)["page"]
    )
    return render_template("recommender/batches.html", org=org, page=found.page, quota=found.quota)


@bp.post("/recommendations")
def recommend() -> Any:
    """Recommend a member enterprise into an open batch of the organisation, with a note."""
    form = {k: v for k, v in request.form.items() if k not in _LIST_KEYS}
    data, errors = load_form(RecommendForm(), form)
    if data is None:
        flash(limits.joined(list(errors.values())), "danger")
        return _back(request.form)
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
    return _back(request.form)


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
    return _back(request.form)
