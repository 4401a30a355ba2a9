"""Complaints and suggestions of any signed-in user (反映, 评价): raise, follow, rate, reopen.

The centre's side (acknowledge, assign, answer) is ``web/advisor/complaints.py``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from finportal import limits
from finportal.domain import clocks
from finportal.domain.permissions import Actor, handles_complaint
from finportal.extensions import db
from finportal.i18n import name
from finportal.models import ROLES, Bank, Product
from finportal.services import complaints
from finportal.services.errors import ServiceError
from finportal.services.labels import action_label
from finportal.web.access import restrict_blueprint
from finportal.web.forms import REQUIRED, form_errors, load_form, message

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
restrict_blueprint(bp, *ROLES)

CHOICE = {"required": limits.MESSAGES["required"], "validator_failed": limits.MESSAGES["choice"]}


class ListSchema(Schema):
    """The list's tab and page (query string)."""

    class Meta:
        unknown = EXCLUDE

    tab = fields.String(load_default="open", validate=validate.OneOf(list(complaints.TABS)))
    page = limits.page_field()


class RaiseSchema(Schema):
    """What a complaint or suggestion form posts."""

    class Meta:
        unknown = EXCLUDE

    kind = fields.String(
        required=True, validate=validate.OneOf(list(complaints.KINDS)), error_messages=CHOICE
    )
    about = fields.String(
        required=True, validate=validate.OneOf(list(complaints.ABOUT)), error_messages=CHOICE
    )
    theme = fields.String(
        required=True, validate=validate.OneOf(list(complaints.THEMES)), error_messages=CHOICE
    )
    bank_id = limits.Id(load_default=None, allow_none=True)
    product_id = limits.Id(load_default=None, allow_none=True)
    title = limits.Text("title", required=True, error_messages=REQUIRED)
    body = limits.Text("reason", required=True, error_messages=REQUIRED)


class RateSchema(Schema):
    """The complainant's rating: stars, a comment, and whether to reopen."""

    class Meta:
        unknown = EXCLUDE

    stars = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, max=5),
        error_messages={**REQUIRED, "invalid": limits.MESSAGES["choice"]},
    )
    comment = limits.Text("comment", load_default="")
    action = fields.String(load_default="close", validate=validate.OneOf(["close", "reopen"]))
    lock_version = fields.Integer(load_default=None, allow_none=True, strict=False)


def _actor() -> Actor:
    return Actor.of(current_user)


def _blank_to_none(form: Any) -> dict[str, Any]:
    return {k: (v if v != "" else None) for k, v in form.items() if k != "csrf_token"}


@bp.get("/")
def home() -> Any:
    """List the complaints and suggestions the user raised, by tab."""
    data, errors = load_form(ListSchema(), request.args)
    data = data or {}
    tab = data.get("tab", "open")
    actor = _actor()
    found = complaints.complaints_page(
        db.session, actor=actor, tab=tab, raised_by_me=True, page=data.get("page", 1)
    )
    return render_template(
        "complaints/home.html",
        tab=tab,
        tabs=limits.words(complaints.TABS),
        counts=complaints.tab_counts(db.session, actor=actor, raised_by_me=True),
        page=found,
        errors=errors,
        kinds=limits.words(complaints.KINDS),
        about=limits.words(complaints.ABOUT),
        clock=complaints.clock,
    )


def _render_form(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    return render_template(
        "complaints/new.html",
        values=values,
        errors=errors,
        kinds=limits.words(complaints.KINDS),
        about=limits.words(complaints.ABOUT),
        themes=limits.words(complaints.THEMES),
        bank_options=[
            (b.id, name(b))
            for b in db.session.query(Bank).filter(Bank.active.is_(True)).order_by(Bank.code)
        ],
        product_options=[(p.id, name(p)) for p in db.session.query(Product).order_by(Product.code)],
        ack_days=clocks.COMPLAINT_ACK_WORKING_DAYS,
        answer_days=clocks.COMPLAINT_ANSWER_WORKING_DAYS,
        text_max=limits.TEXT,
    ), status


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    """Raise a complaint or a suggestion about a bank, a product, the centre or the portal."""
    if request.method == "GET":
        values = {
            "kind": request.args.get("kind", "complaint"),
            "about": request.args.get("about", ""),
        }
        return _render_form(values, {})
    values = _blank_to_none(request.form)
    data, errors = load_form(RaiseSchema(), values)
    if data is None:
        return _render_form(
            values, {"_form": _("请修改标出的内容，其余已填写的内容已保留。"), **errors}, 422
        )
    try:
        raised = complaints.raise_complaint(db.session, actor=_actor(), **data)
    except ServiceError as exc:
        db.session.rollback()
        return _render_form(values, {"_form": message(exc), **form_errors(exc)}, exc.status)
    flash(
        _(
            "已提交，编号 %(number)s。服务中心将在 %(days)s 个工作日内受理。",
            number=raised.number,
            days=clocks.COMPLAINT_ACK_WORKING_DAYS,
        ),
        "success",
    )
    return redirect(url_for("complaints.detail", complaint_id=raised.id))


def _render_detail(complaint_id: int, status: int = 200, **extra: Any) -> Any:
    actor = _actor()
    complaint = complaints.get_complaint(db.session, complaint_id, actor=actor)
    extra.setdefault("errors", {})
    extra.setdefault("values", {})
    return render_template(
        "complaints/detail.html",
        c=complaint,
        kinds=limits.words(complaints.KINDS),
        about=limits.words(complaints.ABOUT),
        themes=limits.words(complaints.THEMES),
        clock=complaints.clock(complaint),
        raiser=complaint.raised_by_id == actor.user_id,
        handles=handles_complaint(actor, complaint),
        may_rate=complaint.state in complaints.AWAITING_RATING,
        may_reopen=complaints.may_reopen(complaint),
        unsatisfied=clocks.UNSATISFIED_STARS,
        history=complaints.history(
            db.session, complaint.id, centre=handles_complaint(actor, complaint)
        ),
        action_label=action_label,
        names=complaints.names_of(db.session, {complaint.assigned_to_id}),
        **extra,
    ), status


@bp.get("/<int:complaint_id>")
def detail(complaint_id: int) -> Any:
    """Show a complaint: its deadlines, the answer, and the rating form when it is answered."""
    return _render_detail(complaint_id)


@bp.post("/<int:complaint_id>/rate")
def rate(complaint_id: int) -> Any:
    """Rate the answer and close it, or (unsatisfied, once) reopen it."""
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data, errors = load_form(RateSchema(), values)
    if data is None:
        return _render_detail(
            complaint_id, 422, errors={"_form": _("请修改标出的内容。"), **errors}, values=values
        )
    try:
        complaints.rate(
            db.session,
            complaint_id,
            actor=_actor(),
            stars=data["stars"],
            comment=data["comment"],
            reopen=data["action"] == "reopen",
            lock_version=data["lock_version"],
        )
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _render_detail(
            complaint_id,
            exc.status,
            errors={"_form": message(exc), **form_errors(exc)},
            values=values,
        )
    if data["action"] == "reopen":
        flash(_("已要求重新办理，服务中心将再次答复。"), "success")
    else:
        flash(_("感谢您的评价，该诉求已办结。"), "success")
    return redirect(url_for("complaints.detail", complaint_id=complaint_id))
