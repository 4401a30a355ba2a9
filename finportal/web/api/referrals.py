"""API: the bank's referrals — list, detail, packet, decisions and loan outcomes.

Each endpoint calls the same service functions as the bank's pages
(``finportal.services.referrals``), scoped to the token's bank.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app

from finportal import audit_queue
from finportal.extensions import db
from finportal.services import bank_actions
from finportal.services import referrals as referral_service
from finportal.web.api import bank_id, make_blueprint
from finportal.web.api.schemas import (
    DecisionInSchema,
    DecisionOutSchema,
    ErrorSchema,
    OutcomeInSchema,
    OutcomeOutSchema,
    ReferralDetailSchema,
    ReferralQuerySchema,
    ReferralSchema,
    SubmittedProfileSchema,
)

#: Referrals per page of the list unless the client asks for another ``page_size``.
LIST_PAGE_SIZE = 100
LIST_MAX_PAGE_SIZE = 1000

blp = make_blueprint(
    "referrals", "Referrals sent to the bank, their packets, decisions and outcomes."
)


class _Detail:
    """A referral with its decisions and loan events, for ``ReferralDetailSchema``."""

    def __init__(self, referral: Any, decisions: list[Any], outcomes: list[Any]) -> None:
        self._referral = referral
        self.decisions = decisions
        self.outcomes = outcomes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._referral, name)


@blp.route("/")
@blp.doc(**{"x-summary-zh": "分页列出本行收到的推荐，最新的在前；可按状态和变更时间筛选。"})
@blp.arguments(ReferralQuerySchema, location="query")
@blp.response(200, ReferralSchema(many=True))
@blp.paginate(page_size=LIST_PAGE_SIZE, max_page_size=LIST_MAX_PAGE_SIZE)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(422, schema=ErrorSchema)
def list_referrals(query: dict[str, Any], pagination_parameters: Any) -> Any:
    """List the bank's referrals, newest first, one page at a time; filter by status and by time changed.

    ``page`` and ``page_size`` choose the page; the ``X-Pagination`` header tells the total
    and the pages.
    """
    found = referral_service.referrals_page(
        db.session,
        bank_id=bank_id(),
        status=query.get("status"),
        since=query.get("since"),
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        show_last=False,  # past the last page: empty, as X-Pagination says
    )
    pagination_parameters.item_count = found.total
    return found.items


@blp.route("/<int:referral_id>")
@blp.doc(**{"x-summary-zh": "查看一条推荐及其反馈和放款记录（打开即标记为已查看）。"})
@blp.response(200, ReferralDetailSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_referral(referral_id: int) -> Any:
    """Return one referral with its decisions and loan events (opening it marks it viewed)."""
    referral = bank_actions.mark_viewed(
        db.session,
        referral_id,
        bank_id=bank_id(),
        actor_id=None,
        queue=audit_queue.of(current_app),
    )
    return _Detail(
        referral,
        referral_service.decisions_of(db.session, referral.id),
        referral_service.outcomes_of(db.session, referral.id),
    )


@blp.route("/<int:referral_id>/profile")
@blp.doc(**{"x-summary-zh": "查看企业提交申请时的资料（材料包所用的数据）。"})
@blp.response(200, SubmittedProfileSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_profile(referral_id: int) -> Any:
    """Return the enterprise profile as submitted with the application (the packet's facts)."""
    return referral_service.submitted_profile(db.session, referral_id, bank_id=bank_id())


@blp.route("/<int:referral_id>/packet")
@blp.doc(**{"x-summary-zh": "下载推荐材料包（PDF），带本行和时间的水印，并记录在案。"})
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
def download_packet(referral_id: int) -> Any:
    """Download the referral packet (PDF), stamped with the bank and the time; logged."""
    referral = referral_service.get_referral(db.session, referral_id, bank_id=bank_id())
    pdf = bank_actions.download_packet(db.session, referral.id, bank_id=bank_id(), actor_id=None)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{bank_actions.packet_filename(referral)}"'
            )
        },
    )


@blp.route("/<int:referral_id>/decisions", methods=["POST"])
@blp.doc(
    **{"x-summary-zh": "记录银行反馈：同意（金额、年利率、期限）、拒绝（原因代码）或要求补充材料。"}
)
@blp.arguments(DecisionInSchema)
@blp.response(201, DecisionOutSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@blp.alt_response(422, schema=ErrorSchema)
def post_decision(body: dict[str, Any], referral_id: int) -> Any:
    """Record a decision: approved (amount, annual rate, term), declined (reason code) or info_requested."""
    return bank_actions.record_decision(
        db.session,
        referral_id,
        bank_id=bank_id(),
        actor_id=None,
        decision=body["decision"],
        approved_amount=body.get("approved_amount"),
        annual_rate=body.get("annual_rate"),
        term_months=body.get("term_months"),
        reason_code=body.get("reason_code"),
        reason_text=body.get("reason_text") or "",
        document_kinds=body.get("documents") or [],
    )


@blp.route("/<int:referral_id>/outcomes", methods=["POST"])
@blp.doc(**{"x-summary-zh": "记录放款及还款情况：先放款（金额），再结清、逾期 90 天或违约。"})
@blp.arguments(OutcomeInSchema)
@blp.response(201, OutcomeOutSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@blp.alt_response(422, schema=ErrorSchema)
def post_outcome(body: dict[str, Any], referral_id: int) -> Any:
    """Record a loan event: disbursed (with the amount), then repaid, overdue_90 or defaulted."""
    return bank_actions.record_outcome(
        db.session,
        referral_id,
        bank_id=bank_id(),
        actor_id=None,
        event=body["event"],
        occurred_on=body["occurred_on"],
        amount=body.get("amount"),
        principal_paid=body.get("principal_paid"),
        interest_paid=body.get("interest_paid"),
        fee_paid=body.get("fee_paid"),
    )
