"""The advisor's queue and review pages (普惠金融顾问): claim, return, reject, override, refer."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from finportal import limits, page_cache, security
from finportal.extensions import db, limiter
from finportal.models import Chamber, Park, Product
from finportal.services import consents, queue, renewals, review, review_actions
from finportal.services import packet_preview as packet_preview_service
from finportal.services.errors import ServiceError
from finportal.services.labels import action_label, purpose_label
from finportal.services.referrals import DECLINE_REASONS, is_overdue
from finportal.web.access import restrict_blueprint
from finportal.web.forms import REQUIRED, invalid, load_form, no_refusal, refusal

bp = Blueprint("advisor", __name__, url_prefix="/advisor")
restrict_blueprint(bp, "advisor")

#: A review form posted without the version of the page (or with one that is no number).
LOCK_VERSION = {
    "required": lazy_gettext("页面版本缺失，请刷新页面后再操作。"),
    "invalid": lazy_gettext("页面版本有误，请刷新页面后再操作。"),
    "null": lazy_gettext("页面版本缺失，请刷新页面后再操作。"),
}


class MissingVersion(ServiceError):
    """A versioned action without a (numeric) lock version: refused, nothing changes."""

    status = 400
    code = "lock_version_required"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(
            "页面版本缺失或有误，未作任何更改；请刷新页面后再操作。",
            "The page's version is missing or not a number; nothing was changed. "
            "Reload the page and try again.",
            fields=fields,
        )


class QueueFilterSchema(Schema):
    """Filters of the queue (query string)."""

    class Meta:
        unknown = EXCLUDE

    status = fields.String(
        load_default=None,
        validate=validate.OneOf([*queue.QUEUE_FILTER_STATES, ""]),
    )
    product = limits.Text("code", load_default=None)
    park = limits.Id(load_default=None)
    chamber = limits.Id(load_default=None)
    grade = limits.Text("code", load_default=None)
    deadline = fields.String(
        load_default=None, validate=validate.OneOf([*queue.DEADLINE_FILTERS, ""])
    )
    page = limits.page_field()
    # issue 15: the history tabs and the search (firm name, USCC, application number)
    tab = fields.String(load_default=queue.QUEUE_TAB, validate=validate.OneOf(queue.QUEUE_TABS))
    q = limits.Text("search", load_default=None)


class VersionSchema(Schema):
    """The version of the application the advisor saw (optimistic locking)."""

    class Meta:
        unknown = EXCLUDE

    lock_version = fields.Integer(required=True, strict=False, error_messages=LOCK_VERSION)


class ReturnSchema(VersionSchema):
    message = limits.Text("reason", required=True, error_messages=REQUIRED)
    fields_ = fields.List(limits.Text("code"), data_key="fields", load_default=list)
    documents = fields.List(limits.Text("code"), load_default=list)


class RejectSchema(VersionSchema):
    reason_code = limits.Text("code", required=True, error_messages=REQUIRED)
    reason_text = limits.Text("reason", load_default="")
    #: "1" once the advisor confirmed on the confirmation step (不予推荐 cannot be undone).
    confirmed = fields.String(load_default="")


class OverrideSchema(VersionSchema):
    eligible = fields.Boolean(required=True, error_messages=REQUIRED)
    reason = limits.Text("reason", required=True, error_messages=REQUIRED)


class ReferSchema(VersionSchema):
    opinion = limits.Text("reason", load_default="")
    banks = fields.List(limits.Id(), load_default=list)


class NoteSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    body = limits.Text("note", required=True, error_messages=REQUIRED)


def _form() -> dict[str, Any]:
    """The posted form with list fields (checkboxes) kept as lists."""
    data: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token"}
    for name in ("fields", "banks", "documents"):
        if name in request.form:
            data[name] = [v for v in request.form.getlist(name) if v]
    return data


def _back(application_id: int) -> Any:
    return redirect(url_for("advisor.application", application_id=application_id))


def _refused(exc: ServiceError, application_id: int, form: str) -> Any:
    """Show the review page again with the message, what was typed and errors beside fields."""
    return _render_review(application_id, **refusal(exc, _form(), form))


def _render_review(application_id: int, status: int = 200, **extra: Any) -> Any:
    from finportal.web.advisor import documents as advisor_documents

    view = review.get_review(db.session, application_id)
    extra = {**no_refusal(), **extra}
    return render_template(
        "advisor/review.html",
        r=view,
        reject_reasons=limits.words(review_actions.REJECT_REASONS),
        return_fields=review_actions.return_fields(),
        decline_reasons=limits.words(DECLINE_REASONS),
        consent_summary=consents.describe,
        referral_overdue=is_overdue,
        action_label=action_label,
        purpose_label=purpose_label,
        # 续贷 (issue 13): where a renewal goes first, and why.
        renewal_plan=renewals.bank_plan(db.session, view.application),
        **advisor_documents.review_context(view.application),
        **extra,
    ), status


def _versioned_action(
    application_id: int, form: str, operation: Callable[..., Any], done: str
) -> Any:
    """Run a review step that takes only the page's lock version; flash ``done`` or refuse.

    The version is required: without it two advisors could both act on what they saw.
    """
    data, errors = load_form(VersionSchema(), request.form)
    if data is None:
        return _refused(MissingVersion(fields=errors), application_id, form)
    try:
        operation(
            db.session, application_id, actor_id=current_user.id, lock_version=data["lock_version"]
        )
    except ServiceError as exc:
        return _refused(exc, application_id, form)
    flash(done, "success")
    return _back(application_id)


@bp.get("/")
@page_cache.shared()
def home() -> Any:
    """Show the queue of screened and in-review applications, earliest deadline first."""
    data, errors = load_form(QueueFilterSchema(), request.args)
    data = data or {}
    tab = data.get("tab") or queue.QUEUE_TAB
    search = data.get("q") or None
    found = queue.queue_page(
        db.session,
        tab=tab,
        search=search,
        page=data.get("page") or 1,
        status=data.get("status") or None,
        product_code=data.get("product") or None,
        park_id=data.get("park"),
        chamber_id=data.get("chamber"),
        grade=data.get("grade") or None,
        deadline_filter=data.get("deadline") or None,
    )
    items = found.items
    return render_template(
        "advisor/home.html",
        items=items,
        page=found,
        page_args={k: v for k, v in request.args.items() if k != "page" and v},
        synthetic=review.scored_with_synthetic_model(
            db.session, [it.application.id for it in items if it.grade]
        ),
        filters=request.args,
        errors=errors,
        tab=tab,
        tabs={key: queue.tab_title(key) for key in queue.QUEUE_TABS},
        tab_counts=queue.tab_counts(db.session, search=search),
        search=search or "",
        filter_states=queue.QUEUE_FILTER_STATES,
        deadline_filters=limits.words(queue.DEADLINE_FILTERS),
        products=db.session.query(Product).order_by(Product.code).all(),
        parks=db.session.query(Park).order_by(Park.code).all(),
        chambers=db.session.query(Chamber).order_by(Chamber.code).all(),
    )


@bp.post("/applications/<int:application_id>/claim")
def claim(application_id: int) -> Any:
    """Take an application into review."""
    return _versioned_action(
        application_id, "claim", review_actions.claim, _("已认领，请在办理时限内处理。")
    )


@bp.get("/applications/<int:application_id>")
@page_cache.shared()
def application(application_id: int) -> Any:
    """Show the review page of an application."""
    return _render_review(application_id)


@bp.post("/applications/<int:application_id>/return")
def return_application(application_id: int) -> Any:
    """Send the application back to the SME for information."""
    data, errors = load_form(ReturnSchema(), _form())
    if data is None:
        return _refused(invalid(_("退回内容有误。"), errors), application_id, "return")
    try:
        review_actions.return_for_information(
            db.session,
            application_id,
            actor_id=current_user.id,
            message=data["message"],
            fields=data["fields_"],
            lock_version=data["lock_version"],
            document_kinds=data["documents"],
        )
    except ServiceError as exc:
        return _refused(exc, application_id, "return")
    flash(_("已退回企业补充材料。"), "success")
    return _back(application_id)


@bp.post("/applications/<int:application_id>/reject")
def reject(application_id: int) -> Any:
    """Reject the application with a reason."""
    data, errors = load_form(RejectSchema(), request.form)
    if data is None:
        return _refused(invalid(_("不予推荐的原因有误。"), errors), application_id, "reject")
    if data["confirmed"] == "back":
        # 返回修改 on the confirmation step: the review page with what was typed.
        return _render_review(application_id, values=_form(), active_form="reject")
    if data["confirmed"] != "1":
        # The confirmation step, without JavaScript: what would be refused is refused now;
        # what would go through is shown once more with 确认 and 返回修改.
        try:
            application, reason_text = review_actions.check_rejection(
                db.session,
                application_id,
                reason_code=data["reason_code"],
                reason_text=data["reason_text"],
                lock_version=data["lock_version"],
            )
        except ServiceError as exc:
            return _refused(exc, application_id, "reject")
        return render_template(
            "advisor/reject_confirm.html",
            application=application,
            reason_code=data["reason_code"],
            reason_label=limits.words(review_actions.REJECT_REASONS)[data["reason_code"]],
            reason_text=reason_text,
            lock_version=data["lock_version"],
        )
    try:
        review_actions.reject(
            db.session,
            application_id,
            actor_id=current_user.id,
            reason_code=data["reason_code"],
            reason_text=data["reason_text"],
            lock_version=data["lock_version"],
        )
    except ServiceError as exc:
        return _refused(exc, application_id, "reject")
    flash(_("已作出不予推荐的决定。"), "success")
    return _back(application_id)


@bp.post("/applications/<int:application_id>/matches/<int:match_id>/override")
def override_match(application_id: int, match_id: int) -> Any:
    """Override one computed match with a written reason."""
    data, errors = load_form(OverrideSchema(), request.form)
    if data is None:
        return _refused(invalid(_("调整匹配结果须写明理由。"), errors), application_id, "override")
    try:
        review_actions.override_match(
            db.session,
            application_id,
            match_id,
            actor_id=current_user.id,
            eligible=data["eligible"],
            reason=data["reason"],
            lock_version=data["lock_version"],
        )
    except ServiceError as exc:
        return _refused(exc, application_id, "override")
    flash(_("已调整匹配结果并记录理由。"), "success")
    return _back(application_id)


@bp.post("/applications/<int:application_id>/refer")
def refer(application_id: int) -> Any:
    """Refer the application to the chosen banks, one product per bank."""
    form = _form()
    data, errors = load_form(ReferSchema(), form)
    if data is None:
        return _refused(invalid(_("推荐信息有误。"), errors), application_id, "refer")
    requests = []
    for bank_id in data["banks"]:
        version_id = limits.check_id(request.form.get(f"product_{bank_id}", ""))
        if version_id is None:
            return _refused(
                invalid(_("请为每家银行选择一个产品。"), {"products": _("请选择产品。")}),
                application_id,
                "refer",
            )
        requests.append(
            review_actions.ReferralRequest(bank_id=bank_id, product_version_id=version_id)
        )
    try:
        created = review_actions.refer_to_banks(
            db.session,
            application_id,
            actor_id=current_user.id,
            referrals=requests,
            opinion=data["opinion"],
            lock_version=data["lock_version"],
        )
    except ServiceError as exc:
        return _refused(exc, application_id, "refer")
    flash(
        _("已推荐给 %(n)s 家银行，推荐材料包正在后台生成。", n=len(created)),
        "success",
    )
    return _back(application_id)


def _preview_key() -> str:
    # Per signed-in user (an anonymous request is refused by the blueprint's checks anyway).
    user_id = getattr(current_user, "id", None)
    return f"preview|{user_id}" if user_id is not None else f"preview|{security.client_address()}"


@bp.post("/applications/<int:application_id>/packet-preview")
@limiter.limit(security.configured_limit("PREVIEW_RATE_LIMIT"), key_func=_preview_key)
def packet_preview(application_id: int) -> Any:
    """Show the packet the first ticked bank would get, stamped 预览 (nothing is saved)."""
    form = _form()
    banks = form.get("banks") or []
    bank_id = limits.check_id(banks[0]) if banks else None
    version_id = limits.check_id(form.get(f"product_{bank_id}", "")) if bank_id else None
    opinion = str(form.get("opinion", ""))
    try:
        preview = packet_preview_service.preview_packet(
            db.session,
            application_id,
            bank_id=bank_id,
            product_version_id=version_id,
            actor_id=current_user.id,
            opinion=opinion,
        )
    except (ServiceError, limits.LimitError) as exc:
        if isinstance(exc, limits.LimitError):
            exc = invalid(exc.message(), {"opinion": exc.message()})
        return _refused(exc, application_id, "refer")
    return send_file(
        io.BytesIO(preview.pdf),
        mimetype="application/pdf",
        download_name=preview.filename,
        as_attachment=False,
    )


@bp.post("/applications/<int:application_id>/rematch")
def rematch(application_id: int) -> Any:
    """Match the application afresh after a bank declined."""
    return _versioned_action(
        application_id,
        "rematch",
        review_actions.rematch,
        _("已重新匹配，可推荐给其他银行或产品。"),
    )


@bp.post("/applications/<int:application_id>/notes")
def add_note(application_id: int) -> Any:
    """Add a note to the application."""
    data, errors = load_form(NoteSchema(), request.form)
    if data is None:
        return _refused(invalid(_("备注不能为空。"), errors), application_id, "note")
    try:
        review_actions.add_note(
            db.session, application_id, actor_id=current_user.id, body=data["body"]
        )
    except ServiceError as exc:
        return _refused(exc, application_id, "note")
    flash(_("备注已保存。"), "success")
    return _back(application_id)
