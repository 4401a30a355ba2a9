"""The partner bank's pages (合作银行): inbox, referral, packet download, decision, loan outcome.

A bank user only ever sees referrals sent to the user's own bank: every service call
passes ``current_user.bank_id`` and another bank's ids answer 404.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from finportal import audit_queue, limits, page_cache
from finportal.domain.states import REFERRAL
from finportal.extensions import db
from finportal.services import bank_actions, consents, referrals
from finportal.services import packets as packet_service
from finportal.services.errors import ServiceError
from finportal.services.labels import purpose_label
from finportal.services.workdays import SHANGHAI
from finportal.web.access import restrict_blueprint, signed_in_id
from finportal.web.forms import REQUIRED, invalid, load_form, no_refusal, refusal

bp = Blueprint("bank", __name__, url_prefix="/bank")
restrict_blueprint(bp, "bank")


class InboxSchema(Schema):
    """The inbox tab (query string)."""

    class Meta:
        unknown = EXCLUDE

    tab = fields.String(load_default="new", validate=validate.OneOf(list(referrals.INBOX_TABS)))
    page = limits.page_field()


class DecisionSchema(Schema):
    """The decision form: amounts in 万元 and the rate in % as typed; converted below."""

    class Meta:
        unknown = EXCLUDE

    lock_version = fields.Integer(required=True, error_messages=REQUIRED)
    decision = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=validate.OneOf(
            referrals.DECISIONS, error=lazy_gettext("请选择同意、拒绝或补充材料。")
        ),
    )
    #: Loaded as yuan (a loan, :data:`finportal.limits.AMOUNTS`).
    approved_amount_wan = limits.Amount("loan", unit="wan", load_default=None, allow_none=True)
    #: Percent per year as typed; the service bounds the rate (``MAX_ANNUAL_RATE``).
    annual_rate_pct = limits.Number(
        places=limits.RATE_PLACES - 2,
        low=Decimal(-100),
        high=Decimal(100),
        load_default=None,
        allow_none=True,
    )
    term_months = fields.Integer(
        load_default=None, allow_none=True, error_messages={"invalid": limits.MESSAGES["integer"]}
    )
    reason_code = limits.Text("code", load_default=None, allow_none=True)
    reason_text = limits.Text("reason", load_default="", allow_none=True)


#: The decision form's fields and the decisions that take each: the page shows a field only
#: for its decisions (``data-shown-for``), and the server reads only the chosen one's.
DECISION_FIELDS = {
    "approved_amount_wan": ("approved",),
    "annual_rate_pct": ("approved",),
    "term_months": ("approved",),
    "reason_code": ("declined",),
    "reason_text": ("declined", "info_requested"),
}


def decision_form(form: Any) -> dict[str, Any]:
    """Return the posted decision form without the fields of the decisions not chosen."""
    chosen = form.get("decision", "")
    return {
        key: value
        for key, value in form.items()
        if key not in DECISION_FIELDS or chosen in DECISION_FIELDS[key]
    }


class OutcomeSchema(Schema):
    """The loan-outcome form."""

    class Meta:
        unknown = EXCLUDE

    lock_version = fields.Integer(required=True, error_messages=REQUIRED)
    event = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=validate.OneOf(
            referrals.LOAN_EVENTS, error=lazy_gettext("请选择放款、还款、结清、逾期或违约。")
        ),
    )
    occurred_on = limits.Date(
        required=True, error_messages={**REQUIRED, "invalid": limits.MESSAGES["date"]}
    )
    #: Loaded as yuan; 0 allowed here (a repayment), the service asks more of a disbursal.
    amount_wan = limits.Amount("repayment", unit="wan", load_default=None, allow_none=True)
    # issue 13: what a repayment paid, in yuan (to the fen: the subsidies are worked out of it).
    principal_paid = limits.Amount("repayment", unit="yuan", load_default=None, allow_none=True)
    interest_paid = limits.Amount("repayment", unit="yuan", load_default=None, allow_none=True)
    fee_paid = limits.Amount("repayment", unit="yuan", load_default=None, allow_none=True)


def _bank_id() -> int:
    if current_user.bank_id is None:
        abort(403)
    return int(current_user.bank_id)


def _blank_to_none(form: Any) -> dict[str, Any]:
    return {k: (v if v != "" else None) for k, v in form.items() if k != "csrf_token"}


@bp.get("/")
@page_cache.shared("bank_id", "bank")
def home() -> Any:
    """Show the inbox: this bank's referrals by tab (new, viewed, decided, overdue, withdrawn)."""
    data, errors = load_form(InboxSchema(), request.args)
    tab = (data or {}).get("tab", "new")
    found = referrals.referrals_page(
        db.session, bank_id=_bank_id(), status=tab, page=(data or {}).get("page", 1)
    )
    return render_template(
        "bank/home.html",
        tab=tab,
        tabs=limits.words(referrals.INBOX_TABS),
        counts=referrals.inbox_counts(db.session, bank_id=_bank_id()),
        items=found.items,
        page=found,
        is_overdue=referrals.is_overdue,
        errors=errors,
    )


def _render_referral(
    referral_id: int, status: int = 200, *, referral: Any = None, **extra: Any
) -> Any:
    from finportal.web.bank import documents as bank_documents

    if referral is None:
        referral = referrals.get_referral(db.session, referral_id, bank_id=_bank_id())
    extra = {**no_refusal(), **extra}
    refusal = consents.packet_refusal(db.session, referral)
    return (
        render_template(
            "bank/referral.html",
            referral=referral,
            application=referral.application,
            enterprise=referral.application.enterprise,
            decisions=referrals.decisions_of(db.session, referral.id),
            outcomes=referrals.outcomes_of(db.session, referral.id),
            answers=referrals.answers_of(db.session, referral.id),
            packet=packet_service.packet_status(db.session, referral),
            packet_refusal=refusal,
            clock=referrals.bank_clock(referral),
            decision_choices=referrals.DECISIONS,
            decision_fields=DECISION_FIELDS,
            inbox_tab=referrals.inbox_tab_of(referral),
            inbox_tabs=limits.words(referrals.INBOX_TABS),
            decline_reasons=limits.words(referrals.DECLINE_REASONS),
            purpose_label=purpose_label,
            can_decide=any(REFERRAL.can(referral.state, d, "bank") for d in referrals.DECISIONS),
            outcome_events=referrals.loan_events_open(referral.state),
            shanghai=SHANGHAI,
            **bank_documents.referral_context(referral, refusal),
            **extra,
        ),
        status,
        {page_cache.RECORD_HEADER: referral.state},
    )


def _view_kept(state: str) -> bool:
    """Record a view of a referral whose page is kept, in ``state`` (noted by the page): its
    event queued; tell whether it was (not when the view moves the referral)."""
    queue, actor_id = audit_queue.of(current_app), signed_in_id()
    return bool(queue is not None and state and actor_id) and bank_actions.queue_view(
        queue, request.view_args["referral_id"], state, actor_id=actor_id
    )


@bp.get("/referrals/<int:referral_id>")
@page_cache.shared("bank_id", "bank")
@page_cache.recorded(when_kept=_view_kept)
def referral(referral_id: int) -> Any:
    """Show one referral (each view recorded: the first moves it to viewed, every one is in
    the audit trail) with its packet, decision and outcome forms; the page is the same for
    every user of the bank, kept once the view is recorded."""
    # With the page cache and the audit queue, a kept page is served before this runs, its
    # view queued (_view_kept). Else, with the page cache, a view after the first reads only
    # the referral's state to record it: its page is then most often kept. Without it the
    # page is rendered, from the referral read whole with its state.
    viewed = bank_actions.record_view(
        db.session,
        referral_id,
        bank_id=_bank_id(),
        actor_id=current_user.id,
        whole=page_cache.cache_of(current_app) is None,
        queue=audit_queue.of(current_app),
    )
    return page_cache.kept_or(
        lambda again: _render_referral(referral_id, referral=None if again else viewed)
    )


@bp.get("/referrals/<int:referral_id>/packet.pdf")
def packet(referral_id: int) -> Any:
    """Download the referral packet, stamped with this bank, this user and the time."""
    pdf = bank_actions.download_packet(
        db.session, referral_id, bank_id=_bank_id(), actor_id=current_user.id
    )
    referral = referrals.get_referral(db.session, referral_id, bank_id=_bank_id())
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{bank_actions.packet_filename(referral)}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(exc: ServiceError, referral_id: int, form: str) -> Any:
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    return _render_referral(referral_id, **refusal(exc, values, form))


@bp.post("/referrals/<int:referral_id>/decision")
def decision(referral_id: int) -> Any:
    """Record the bank's decision: approve (amount, rate, term), decline (reason) or ask for information."""
    bank_id = _bank_id()
    referrals.get_referral(db.session, referral_id, bank_id=bank_id)
    data, errors = load_form(DecisionSchema(), _blank_to_none(decision_form(request.form)))
    if data is None:
        return _refused(invalid(_("银行反馈有误。"), errors), referral_id, "decision")
    amount = data["approved_amount_wan"]
    rate = data["annual_rate_pct"]
    try:
        bank_actions.record_decision(
            db.session,
            referral_id,
            bank_id=bank_id,
            actor_id=current_user.id,
            decision=data["decision"],
            approved_amount=amount,
            annual_rate=rate / 100 if rate is not None else None,
            term_months=data["term_months"],
            reason_code=data["reason_code"],
            reason_text=data["reason_text"] or "",
            lock_version=data["lock_version"],
            document_kinds=request.form.getlist("documents"),
        )
    except ServiceError as exc:
        if "approved_amount" in exc.fields:
            exc.fields["approved_amount_wan"] = exc.fields.pop("approved_amount")
        if "annual_rate" in exc.fields:
            exc.fields["annual_rate_pct"] = exc.fields.pop("annual_rate")
        return _refused(exc, referral_id, "decision")
    flash(_("银行反馈已记录，企业和服务中心会收到通知。"), "success")
    return redirect(url_for("bank.referral", referral_id=referral_id))


@bp.post("/referrals/<int:referral_id>/outcome")
def outcome(referral_id: int) -> Any:
    """Record a loan event: disbursed, then repaid, overdue_90 or defaulted."""
    bank_id = _bank_id()
    referrals.get_referral(db.session, referral_id, bank_id=bank_id)
    data, errors = load_form(OutcomeSchema(), _blank_to_none(request.form))
    if data is None:
        return _refused(invalid(_("放款及还款情况有误。"), errors), referral_id, "outcome")
    amount = data["amount_wan"]
    try:
        bank_actions.record_outcome(
            db.session,
            referral_id,
            bank_id=bank_id,
            actor_id=current_user.id,
            event=data["event"],
            occurred_on=data["occurred_on"],
            amount=amount,
            principal_paid=data["principal_paid"],
            interest_paid=data["interest_paid"],
            fee_paid=data["fee_paid"],
            lock_version=data["lock_version"],
        )
    except ServiceError as exc:
        if "amount" in exc.fields:
            exc.fields["amount_wan"] = exc.fields.pop("amount")
        return _refused(exc, referral_id, "outcome")
    flash(_("放款及还款情况已记录。"), "success")
    return redirect(url_for("bank.referral", referral_id=referral_id))
