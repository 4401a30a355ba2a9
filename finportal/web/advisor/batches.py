"""Advisor pages: batches (批次) — open one, check its members, submit it, download its packet."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from finportal import limits, money
from finportal.domain.states import MEMBER, MemberState
from finportal.extensions import db
from finportal.models import Bank, BatchMember, Chamber, Park
from finportal.services import batch_checks, batch_recommendations
from finportal.services import batch_packets as packet_service
from finportal.services import batches as batch_service
from finportal.services.errors import ServiceError
from finportal.services.exports import XLSX_MIMETYPE, table_to_xlsx
from finportal.web.advisor.views import bp
from finportal.web.forms import load_form, message
from finportal.web.packet_box import packet_box, packet_status


class BatchForm(Schema):
    """The new-batch form."""

    name = limits.Text(
        "name",
        required=True,
        validate=validate.Length(min=1, error=lazy_gettext("请填写批次名称")),
        error_messages={"required": lazy_gettext("请填写批次名称")},
    )
    organiser = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^(park|chamber):\d{1,9}$", error=lazy_gettext("请选择园区或商会")
        ),
        error_messages={"required": lazy_gettext("请选择园区或商会")},
    )
    bank_id = limits.Id(
        required=True,
        message=("请选择银行", "Choose a bank."),
        error_messages={"required": lazy_gettext("请选择银行")},
    )
    #: Loaded as yuan (:data:`finportal.limits.AMOUNTS` ``quota``).
    quota_wan = limits.Amount(
        "quota",
        unit="wan",
        required=True,
        error_messages={"required": lazy_gettext("请填写批次总额度")},
    )


class ListArgs(Schema):
    """The page of a list, and for a batch's members the search (name or USCC) and a state."""

    class Meta:
        unknown = EXCLUDE

    page = limits.page_field()
    q = limits.Text("search", load_default="")
    state = fields.String(
        load_default="", validate=validate.OneOf(["", *(s.value for s in MemberState)])
    )


def _list_args() -> tuple[dict[str, Any], dict[str, str]]:
    """Return the valid list arguments of the request (and the errors of invalid ones)."""
    try:
        data = ListArgs().load(request.args)
    except ValidationError as exc:
        return {"page": 1, "q": "", "state": ""}, {k: str(v) for k, v in exc.messages.items()}
    return {**data, "q": data["q"].strip()}, {}


def _choices() -> dict[str, Any]:
    session = db.session
    return {
        "banks": session.scalars(
            select(Bank).where(Bank.active.is_(True)).order_by(Bank.code)
        ).all(),
        "parks": session.scalars(
            select(Park).where(Park.active.is_(True)).order_by(Park.code)
        ).all(),
        "chambers": session.scalars(
            select(Chamber).where(Chamber.active.is_(True)).order_by(Chamber.code)
        ).all(),
    }


def _render_list(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    found = batch_service.batches_page(db.session, page=_list_args()[0]["page"])
    return (
        render_template(
            "advisor/batches/list.html",
            batches=found.page.items,
            page=found.page,
            quota=found.quota,
            values=values,
            errors=errors,
            **_choices(),
        ),
        status,
    )


@bp.get("/batches/")
def batches() -> Any:
    """List batches and offer the form for a new one."""
    return _render_list({}, {})


@bp.post("/batches/")
def create_batch() -> Any:
    """Open a new batch."""
    data, errors = load_form(BatchForm(), request.form)
    if data is None:
        return _render_list(request.form, errors, 422)
    kind, org_id = data["organiser"].split(":")
    try:
        batch = batch_service.create_batch(
            db.session,
            actor_id=current_user.id,
            name=data["name"],
            bank_id=data["bank_id"],
            quota_total=data["quota_wan"],
            park_id=int(org_id) if kind == "park" else None,
            chamber_id=int(org_id) if kind == "chamber" else None,
        )
    except ServiceError as exc:
        db.session.rollback()
        return _render_list(request.form, {**exc.fields, "_form": message(exc)}, exc.status)
    flash(_("已创建批次 %(code)s。", code=batch.code), "success")
    return redirect(url_for("advisor.batch_detail", batch_id=batch.id))


@bp.get("/batches/<int:batch_id>")
def batch_detail(batch_id: int) -> Any:
    """Show a batch: quota, members by state, a page of its members with their checks, actions."""
    session = db.session
    batch = batch_service.get_batch(session, batch_id)
    args, errors = _list_args()
    members = batch_service.members_page(
        session, batch, page=args["page"], search=args["q"] or None, state=args["state"] or None
    )
    return render_template(
        "advisor/batches/detail.html",
        batch=batch,
        use=batch_service.quotas(session, [batch])[batch.id],
        members=members,
        search=args["q"],
        member_state=args["state"],
        member_states=[s.value for s in MemberState],
        page_args={k: args[k] for k in ("q", "state") if args[k]},
        filter_errors=errors,
        **_packet_box(batch),
        # The note stands beside the scores this page shows.
        synthetic=batch_checks.scored_with_synthetic_model(session, members.items),
    )


def _act(batch_id: int, action: Any, success: str) -> Any:
    try:
        action()
    except ServiceError as exc:
        db.session.rollback()
        flash(message(exc), "danger")
    else:
        flash(success, "success")
    return redirect(url_for("advisor.batch_detail", batch_id=batch_id))


@bp.post("/batches/<int:batch_id>/members/<int:member_id>/check")
def check_member(batch_id: int, member_id: int) -> Any:
    """Check one member's eligibility and consent."""
    member = batch_service.get_member(db.session, batch_id, member_id)
    return _act(
        batch_id,
        lambda: batch_checks.check_member(db.session, member.id, actor_id=current_user.id),
        _("已核验。"),
    )


@bp.post("/batches/<int:batch_id>/members/<int:member_id>/withdraw")
def withdraw_member(batch_id: int, member_id: int) -> Any:
    """Take a member out of the batch (e.g. it failed the check)."""
    member = batch_service.get_member(db.session, batch_id, member_id)
    reason = request.form.get("reason", "")
    return _act(
        batch_id,
        lambda: batch_recommendations.withdraw_member(
            db.session, member.id, actor_id=current_user.id, reason=reason or "顾问移出批次"
        ),
        _("已移出批次。"),
    )


@bp.post("/batches/<int:batch_id>/check")
def check_batch(batch_id: int) -> Any:
    """Check every member not yet submitted."""
    return _act(
        batch_id,
        lambda: batch_checks.check_all_members(db.session, batch_id, actor_id=current_user.id),
        _("已核验全部成员。"),
    )


@bp.post("/batches/<int:batch_id>/submit")
def submit_batch(batch_id: int) -> Any:
    """Submit the batch to its bank."""
    return _act(
        batch_id,
        lambda: batch_checks.submit_batch(db.session, batch_id, actor_id=current_user.id),
        _("批次已提交银行。"),
    )


def _packet_box(batch: Any) -> dict[str, Any]:
    return packet_box(
        batch,
        packet_service.latest_batch_packet_job(db.session, batch.id),
        **_packet_urls(batch.id),
    )


def _packet_urls(batch_id: int) -> dict[str, str]:
    return {
        "packet_url": url_for("advisor.batch_packet", batch_id=batch_id),
        "request_url": url_for("advisor.request_packet", batch_id=batch_id),
        "status_url": url_for("advisor.batch_packet_status", batch_id=batch_id),
    }


@bp.get("/batches/<int:batch_id>/packet/status")
def batch_packet_status(batch_id: int) -> Any:
    """Answer how far the batch packet is (JSON for static/progress.js)."""
    batch = batch_service.get_batch(db.session, batch_id)
    job = packet_service.latest_batch_packet_job(db.session, batch.id)
    return packet_status(batch, job, **_packet_urls(batch.id))


@bp.post("/batches/<int:batch_id>/packet")
def request_packet(batch_id: int) -> Any:
    """Start rendering the batch packet (cover table and every member's packet) in the background."""
    return _act(
        batch_id,
        lambda: packet_service.request_batch_packet(db.session, batch_id, actor_id=current_user.id),
        _("批次材料包已开始生成，完成后可下载。"),
    )


@bp.get("/batches/<int:batch_id>/packet.pdf")
def batch_packet(batch_id: int) -> Any:
    """Download the last rendered batch packet (one PDF)."""
    batch = batch_service.get_batch(db.session, batch_id)
    try:
        pdf, filename = packet_service.download_batch_packet(
            db.session, batch.id, actor_id=current_user.id
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(message(exc), "danger")
        return redirect(url_for("advisor.batch_detail", batch_id=batch_id))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def member_rows(batch: Any) -> tuple[list[str], list[list[Any]]]:
    """Return the member table of a batch (columns, rows), as pages and exports show it."""
    columns = [
        "企业名称",
        "统一社会信用代码",
        "状态",
        "申请金额（万元）",
        "批准金额（万元）",
        "推荐说明",
        "核验结果",
    ]
    rows = []
    members = db.session.scalars(
        select(BatchMember)
        .where(BatchMember.batch_id == batch.id)
        .options(joinedload(BatchMember.enterprise))
        .order_by(BatchMember.id)
    )
    for m in members:
        check = m.check_result or {}
        rows.append(
            [
                m.enterprise.name,
                m.enterprise.uscc,
                MEMBER.title(m.state),
                None if m.requested_amount is None else money.to_wan(m.requested_amount, None),
                None if m.approved_amount is None else money.to_wan(m.approved_amount, None),
                m.note,
                "" if not check else ("通过" if check.get("passed") else "未通过"),
            ]
        )
    return columns, rows


@bp.get("/batches/<int:batch_id>/members.xlsx")
def batch_members_xlsx(batch_id: int) -> Any:
    """Export the batch's member table to Excel."""
    batch = batch_service.get_batch(db.session, batch_id)
    columns, rows = member_rows(batch)
    data = table_to_xlsx(f"批次成员 {batch.code}", columns, rows)
    return Response(
        data,
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="batch-{batch.code}-members.xlsx"'},
    )
