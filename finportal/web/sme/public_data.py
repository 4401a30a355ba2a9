"""The enterprise's authorisations to fetch its public data (数据核查授权), and what was verified."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.services import consents
from finportal.services import enterprises as enterprise_service
from finportal.services import verification as verification_service
from finportal.services.errors import ServiceError
from finportal.services.public_data import authorisations, facts, imports, sources
from finportal.services.workdays import today_local
from finportal.web.forms import form_errors
from finportal.web.sme.views import act_for_firm, bp, enterprise_id


def _render(
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, status: int = 200
) -> Any:
    eid = enterprise_id()
    enterprise = enterprise_service.get_enterprise(db.session, eid)
    granted = [
        authorisations.describe(a) for a in authorisations.list_for_enterprise(db.session, eid)
    ]
    today = today_local()
    return render_template(
        "sme/data_authorisations.html",
        sources=sources.SOURCES,
        current={g["source"].code: g for g in granted if g["in_force"]},
        granted=granted,
        rows=facts.live_rows(db.session, enterprise),
        verified=verification_service.is_verified(enterprise),
        errors=errors or {},
        values=values or {},
        today=today.isoformat(),
        default_valid_until=(today + timedelta(days=consents.DEFAULT_DAYS)).isoformat(),
    ), status


@bp.get("/data-authorisations")
def data_authorisations() -> Any:
    """Show each source the centre may check, the authorisations given, and what was verified."""
    return _render()


@bp.post("/data-authorisations")
def grant_data_authorisation() -> Any:
    """Authorise the centre to fetch one source's data (scope and last day as chosen)."""
    source = request.form.get("source", "")
    raw_until = request.form.get("valid_until", "").strip()
    values = {"source": source, "scope": request.form.getlist("scope"), "valid_until": raw_until}
    until = limits.parse_day(raw_until) if raw_until else None
    if raw_until and until is None:
        db.session.rollback()
        return _render({"valid_until": _("请输入有效日期，如 2027-01-31。")}, values, 422)
    try:
        granted = authorisations.grant(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            source=source,
            scope=values["scope"],
            valid_until=until,
        )
    except ServiceError as exc:
        db.session.rollback()
        return _render(form_errors(exc), values, exc.status)
    flash(_("已授权。服务中心将按授权范围核查贵企业的数据，核验结果用于匹配和评分。"), "success")
    if current_app.config.get("PUBLIC_DATA_URL"):
        # 无感核查: fetch this firm's data now rather than wait for the next district run.
        imports.fetch(
            db.session,
            actor_id=current_user.id,
            source=granted.source,
            enterprise_id=granted.enterprise_id,
        )
    return redirect(url_for("sme.data_authorisations"))


@bp.post("/data-authorisations/<int:authorisation_id>/withdraw")
def withdraw_data_authorisation(authorisation_id: int) -> Any:
    """Withdraw an authorisation: no more fetches; its verified values stop counting."""
    act_for_firm(
        authorisations.withdraw,
        _("授权已撤回，该来源的核验数据不再用于匹配和评分。"),
        authorisation_id=authorisation_id,
    )
    return redirect(url_for("sme.data_authorisations"))
