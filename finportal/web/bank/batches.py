"""Bank pages: batches (批次) sent to this bank — decide member by member, record the filing."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.services import batch_checks, batch_decisions
from finportal.services import batch_packets as packet_service
from finportal.services import batches as batch_service
from finportal.services.errors import ServiceError
from finportal.web.bank.views import bp
from finportal.web.forms import flash_refusal, message
from finportal.web.packet_box import packet_box, packet_status


def _bank_id() -> int:
    return int(current_user.bank_id or 0)


@bp.get("/batches/")
def batches() -> Any:
    """List the batches this bank received (open ones are not sent yet), a page at a time."""
    found = batch_service.sent_batches_page(db.session, bank_id=_bank_id(), page=_page())
    return render_template(
        "bank/batches/list.html", batches=found.page.items, page=found.page, quota=found.quota
    )


def _page() -> int:
    """Return the page number the request asks for (a bad one is refused: ``limits``)."""
    return limits.page_number(request.args.get("page"))


def _visible_batch(batch_id: int) -> Any:
    return batch_service.get_sent_batch(db.session, batch_id, bank_id=_bank_id())


@bp.get("/batches/<int:batch_id>")
def batch_detail(batch_id: int) -> Any:
    """Show one of this bank's batches with a decision form per member."""
    batch = _visible_batch(batch_id)
    members = batch_service.members_page(db.session, batch, page=_page(), for_bank=True)
    return render_template(
        "bank/batches/detail.html",
        batch=batch,
        use=batch_service.quotas(db.session, [batch])[batch.id],
        members=members.items,
        page=members,
        synthetic=batch_checks.scored_with_synthetic_model(db.session, members.items),
        **packet_box(
            batch,
            packet_service.latest_batch_packet_job(db.session, batch.id, bank_id=_bank_id()),
            **_packet_urls(batch.id),
        ),
    )


def _packet_urls(batch_id: int) -> dict[str, str]:
    return {
        "packet_url": url_for("bank.batch_packet", batch_id=batch_id),
        "request_url": url_for("bank.request_packet", batch_id=batch_id),
        "status_url": url_for("bank.batch_packet_status", batch_id=batch_id),
    }


@bp.get("/batches/<int:batch_id>/packet/status")
def batch_packet_status(batch_id: int) -> Any:
    """Answer how far this bank's batch packet is (JSON for static/progress.js)."""
    batch = _visible_batch(batch_id)
    job = packet_service.latest_batch_packet_job(db.session, batch.id, bank_id=_bank_id())
    return packet_status(batch, job, **_packet_urls(batch.id))


@bp.post("/batches/<int:batch_id>/members/<int:member_id>/decision")
def decide_member(batch_id: int, member_id: int) -> Any:
    """Approve (with an amount) or decline (with a reason) one member."""
    batch = _visible_batch(batch_id)
    amount_wan = request.form.get("approved_amount_wan", "").strip()
    amount: Any = None
    if amount_wan:
        try:
            amount = batch_service.parse_amount(amount_wan, "approved_amount", unit="wan")
        except ServiceError as exc:
            flash(message(exc), "danger")
            return redirect(url_for("bank.batch_detail", batch_id=batch.id))
    try:
        batch_decisions.decide_member(
            db.session,
            batch.id,
            member_id,
            bank_id=_bank_id(),
            actor_id=current_user.id,
            decision=request.form.get("decision", ""),
            approved_amount=amount,
            reason_text=request.form.get("reason_text", ""),
        )
    except ServiceError as exc:
        flash_refusal(exc)
    else:
        flash(_("已记录决定。"), "success")
    return redirect(url_for("bank.batch_detail", batch_id=batch.id))


@bp.post("/batches/<int:batch_id>/filing")
def record_filing(batch_id: int) -> Any:
    """Record the batch's filing (备案) with the guarantee centre."""
    batch = _visible_batch(batch_id)
    try:
        batch_decisions.record_filing(
            db.session, batch.id, bank_id=_bank_id(), actor_id=current_user.id
        )
    except ServiceError as exc:
        flash_refusal(exc)
    else:
        flash(_("已记录备案。"), "success")
    return redirect(url_for("bank.batch_detail", batch_id=batch.id))


@bp.post("/batches/<int:batch_id>/packet")
def request_packet(batch_id: int) -> Any:
    """Start rendering the batch packet for this bank in the background."""
    batch = _visible_batch(batch_id)
    try:
        packet_service.request_batch_packet(
            db.session, batch.id, actor_id=current_user.id, bank_id=_bank_id()
        )
    except ServiceError as exc:
        flash_refusal(exc)
    else:
        flash(_("批次材料包已开始生成，完成后可下载。"), "success")
    return redirect(url_for("bank.batch_detail", batch_id=batch.id))


@bp.get("/batches/<int:batch_id>/packet.pdf")
def batch_packet(batch_id: int) -> Any:
    """Download the batch packet rendered for this bank (one PDF); logged."""
    batch = _visible_batch(batch_id)
    try:
        pdf, filename = packet_service.download_batch_packet(
            db.session, batch.id, actor_id=current_user.id, bank_id=_bank_id()
        )
    except ServiceError as exc:
        flash_refusal(exc)
        return redirect(url_for("bank.batch_detail", batch_id=batch.id))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
