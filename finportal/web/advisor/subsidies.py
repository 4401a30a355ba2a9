"""The centre's subsidy pages (补贴兑付): compute, publish the 公示, objections, payout batches."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import EXCLUDE, Schema

from finportal import limits
from finportal.domain.states import ENTITLEMENT
from finportal.extensions import db
from finportal.limits import in_user_language
from finportal.services import entitlements, payouts
from finportal.services.errors import ServiceError
from finportal.services.exports import XLSX_MIMETYPE
from finportal.services.workdays import today_local
from finportal.web.advisor.views import bp
from finportal.web.forms import invalid, load_form, no_refusal, refusal
from products.sources import public_source


class ListSchema(Schema):
    """The list's filters."""

    class Meta:
        unknown = EXCLUDE

    state = limits.Text("code", load_default=None, allow_none=True)
    page = limits.page_field()


def _render(status: int = 200, **shown: Any) -> Any:
    data, _errors = load_form(ListSchema(), request.args)
    data = data or {"state": None, "page": 1}
    state = data["state"] if data["state"] in {s.value for s in ENTITLEMENT.states} else None
    page = {**no_refusal(), **shown}
    return (
        render_template(
            "advisor/subsidies.html",
            counts=entitlements.state_counts(db.session),
            machine=ENTITLEMENT,
            objections=entitlements.objections(db.session),
            payout_list=payouts.list_payouts(db.session),
            page=entitlements.entitlements_page(db.session, state=state, page=data["page"]),
            state=state,
            period=entitlements.period_of(today_local()),
            exclusion_text=entitlements.exclusion_text,
            kind_title=entitlements.kind_title,
            cite=lambda source: public_source(source, in_user_language("；", "; ")),
            **page,
        ),
        status,
    )


@bp.get("/subsidies")
def subsidies() -> Any:
    """Show the entitlements by state, the objections, and the payout batches."""
    return _render()


def _period_action(form: str, action: Any, done: str) -> Any:
    period = request.form.get("period", "")
    try:
        action(db.session, period, actor_id=current_user.id)
    except ServiceError as exc:
        shown = refusal(exc, {"period": period}, form)
        return _render(shown.pop("status"), **shown)
    flash(done, "success")
    return redirect(url_for("advisor.subsidies"))


@bp.post("/subsidies/compute")
def compute_subsidies() -> Any:
    """Work out the entitlements of every repayment the banks reported (idempotent)."""
    result = entitlements.compute_entitlements(db.session, actor_id=current_user.id)
    flash(
        _(
            "已计算 %(owed)s 笔补贴，%(excluded)s 笔不予补贴。",
            owed=len(result.owed),
            excluded=len(result.excluded),
        ),
        "success",
    )
    return redirect(url_for("advisor.subsidies"))


@bp.post("/subsidies/publish")
def publish_subsidies() -> Any:
    """Publish the 公示 of every computed entitlement up to a period."""
    return _period_action("publish", entitlements.publish_list, _("公示已发布，企业已收到通知。"))


@bp.post("/subsidies/close")
def close_subsidy_answers() -> Any:
    """End the answer time of lists past their deadline (silence confirms or forfeits)."""
    n = entitlements.close_expired(db.session)
    flash(_("已处理 %(n)s 笔公示期满的补贴。", n=n), "success")
    return redirect(url_for("advisor.subsidies"))


@bp.post("/subsidies/payouts")
def create_subsidy_payout() -> Any:
    """Make the payout batch (一口兑付) of every confirmed entitlement up to a period."""
    return _period_action("payout", payouts.create_payout, _("兑付批次已生成。"))


def _render_detail(entitlement_id: int, status: int = 200, **shown: Any) -> Any:
    row = entitlements.get_entitlement(db.session, entitlement_id)
    page = {**no_refusal(), **shown}
    return (
        render_template(
            "advisor/subsidy.html",
            e=row,
            machine=ENTITLEMENT,
            exclusion_text=entitlements.exclusion_text,
            kind_title=entitlements.kind_title,
            cap_titles={k: in_user_language(*v) for k, v in entitlements.CAP_TITLES.items()},
            cite=lambda source: public_source(source, in_user_language("；", "; ")),
            resolutions={k: in_user_language(*v) for k, v in entitlements.RESOLUTIONS.items()},
            **page,
        ),
        status,
    )


@bp.get("/subsidies/<int:entitlement_id>")
def subsidy(entitlement_id: int) -> Any:
    """Show one entitlement with everything it was worked out of."""
    return _render_detail(entitlement_id)


class ResolveSchema(Schema):
    """The answer to an objection."""

    class Meta:
        unknown = EXCLUDE

    decision = limits.Text("code", load_default="")
    resolution = limits.Text("reason", load_default="")
    amount = limits.Amount("repayment", unit="yuan", load_default=None, allow_none=True)


@bp.post("/subsidies/<int:entitlement_id>/resolve")
def resolve_subsidy(entitlement_id: int) -> Any:
    """Resolve a firm's objection: the subsidy stands (maybe corrected) or is cancelled."""
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data, errors = load_form(
        ResolveSchema(), {k: (v if v != "" else None) for k, v in values.items()}
    )
    try:
        if data is None:
            raise invalid(_("处理意见有误。"), errors)
        entitlements.resolve_objection(
            db.session,
            entitlement_id,
            actor_id=current_user.id,
            decision=data["decision"] or "",
            text=data["resolution"] or "",
            amount=data["amount"],
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        shown = refusal(exc, values, "resolve")
        return _render_detail(entitlement_id, shown.pop("status"), **shown)
    flash(_("异议已处理，企业会收到答复。"), "success")
    return redirect(url_for("advisor.subsidy", entitlement_id=entitlement_id))


@bp.post("/subsidies/<int:entitlement_id>/reverse")
def reverse_subsidy(entitlement_id: int) -> Any:
    """Claw back a paid subsidy, with the reason (audited)."""
    reason = request.form.get("reason", "")
    try:
        payouts.reverse_payment(
            db.session, entitlement_id, actor_id=current_user.id, by="advisor", reason=reason
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        shown = refusal(exc, {"reason": reason}, "reverse")
        return _render_detail(entitlement_id, shown.pop("status"), **shown)
    flash(_("已登记追回，企业已收到通知。"), "success")
    return redirect(url_for("advisor.subsidy", entitlement_id=entitlement_id))


@bp.get("/subsidies/payouts/<int:payout_id>")
def subsidy_payout(payout_id: int) -> Any:
    """Show a payout batch: its lines, total and checksum."""
    return render_template(
        "advisor/subsidy_payout.html",
        view=payouts.get_payout(db.session, payout_id),
        kind_title=entitlements.kind_title,
        machine=ENTITLEMENT,
    )


@bp.get("/subsidies/payouts/<int:payout_id>.<fmt>")
def subsidy_payout_export(payout_id: int, fmt: str) -> Any:
    """Download a payout batch for the finance office (xlsx or csv, with its checksum)."""
    if fmt == "xlsx":
        data, mimetype = payouts.export_xlsx(db.session, payout_id), XLSX_MIMETYPE
    elif fmt == "csv":
        data, mimetype = payouts.export_csv(db.session, payout_id), "text/csv; charset=utf-8"
    else:
        abort(404)
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="payout-{payout_id}.{fmt}"'},
    )
