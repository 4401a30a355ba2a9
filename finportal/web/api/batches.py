"""API: the bank's batches (批次) and its member-by-member decisions."""

from __future__ import annotations

from typing import Any

from finportal.extensions import db
from finportal.services import batch_decisions
from finportal.services import batches as batch_service
from finportal.web.api import api_source, bank_id, make_blueprint
from finportal.web.api.schemas import (
    BatchDetailSchema,
    BatchMemberSchema,
    BatchQuerySchema,
    BatchSchema,
    ErrorSchema,
    MemberDecisionSchema,
)

blp = make_blueprint("batches", "Batches (批次贷) sent to the bank, decided member by member.")


def _view(batch: Any) -> dict[str, Any]:
    use = batch_service.quota_use(batch)
    return {
        "id": batch.id,
        "code": batch.code,
        "name": batch.name,
        "organiser": batch_service.organiser_name(batch),
        "product": batch.product,
        "state": batch.state,
        "filing_status": batch.filing_status,
        "quota_total": use.total,
        "quota_used": use.used,
        "quota_left": use.left,
        "per_firm_cap": batch.per_firm_cap,
        "submitted_at": batch.submitted_at,
        "filed_at": batch.filed_at,
        "members": batch_service.bank_members(db.session, batch),
    }


def _batch(batch_id: int) -> Any:
    return batch_service.get_sent_batch(db.session, batch_id, bank_id=bank_id())


@blp.route("/")
@blp.doc(**{"x-summary-zh": "列出发给本行的批次，最新的在前。"})
@blp.arguments(BatchQuerySchema, location="query")
@blp.response(200, BatchSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(422, schema=ErrorSchema)
def list_batches(query: dict[str, Any]) -> Any:
    """List the batches sent to this bank, newest first."""
    items = batch_service.list_sent_batches(db.session, bank_id=bank_id(), state=query.get("state"))
    return [_view(b) for b in items]


@blp.route("/<int:batch_id>")
@blp.doc(**{"x-summary-zh": "查看一个批次：额度、备案状态和成员企业。"})
@blp.response(200, BatchDetailSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_batch(batch_id: int) -> Any:
    """Return one batch with its quota, filing status and members."""
    return _view(_batch(batch_id))


@blp.route("/<int:batch_id>/members/<int:member_id>/decision", methods=["POST"])
@blp.doc(**{"x-summary-zh": "对一家成员企业作出决定：同意（金额不超过单户上限和剩余额度）或拒绝。"})
@blp.arguments(MemberDecisionSchema)
@blp.response(200, BatchMemberSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@blp.alt_response(422, schema=ErrorSchema)
def decide_member(body: dict[str, Any], batch_id: int, member_id: int) -> Any:
    """Approve (with an amount within the cap and the quota left) or decline one member."""
    batch = _batch(batch_id)
    return batch_decisions.decide_member(
        db.session,
        batch.id,
        member_id,
        bank_id=bank_id(),
        actor_id=None,
        decision=body["decision"],
        approved_amount=body.get("approved_amount"),
        reason_text=body.get("reason_text", ""),
        source=api_source(),
    )


@blp.route("/<int:batch_id>/filing", methods=["POST"])
@blp.doc(**{"x-summary-zh": "登记批次已向担保中心备案。"})
@blp.response(200, BatchSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
def record_filing(batch_id: int) -> Any:
    """Record that the batch was filed (备案) with the guarantee centre."""
    batch = _batch(batch_id)
    batch = batch_decisions.record_filing(
        db.session, batch.id, bank_id=bank_id(), actor_id=None, source=api_source()
    )
    return _view(batch)
