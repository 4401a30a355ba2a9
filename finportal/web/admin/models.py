"""Credit models: versions with their model cards, promotion, drift of recent applications."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal.domain.states import current_locale
from finportal.extensions import db
from finportal.models import Job, ModelVersion
from finportal.services import admin as admin_service
from finportal.services import credit, monitor_cache, retraining
from finportal.services.errors import ServiceError
from finportal.web.admin.views import bp
from finportal.web.forms import flash_refusal


@bp.get("/models")
def models(status: int = 200) -> Any:
    """List model versions with status, synthetic flag and metrics, and the champion's drift."""
    rows = admin_service.list_models(db.session)
    champion = next((r for r in rows if r.status == "champion"), None)
    drift = credit.recent_drift(db.session, champion) if champion is not None else None
    return render_template("admin/models.html", rows=rows, champion=champion, drift=drift), status


@bp.post("/models/retrain")
def model_retrain() -> Any:
    """Start retraining a challenger from the platform's outcomes; follow it on its page."""
    try:
        job = retraining.request_retrain(db.session, actor_id=current_user.id)
    except ServiceError as exc:
        flash_refusal(exc)
        return models(exc.status)
    return redirect(url_for("admin.model_retrain_progress", job_id=job.id))


def _retrain_job(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.kind != retraining.RETRAIN_JOB:
        abort(404)
    return job


@bp.get("/models/retrain/<job_id>")
def model_retrain_progress(job_id: str) -> Any:
    """Show a retraining's steps and percent (the page polls its status); then the new card."""
    job = _retrain_job(job_id)
    status = retraining.retrain_status(job)
    english = current_locale().startswith("en")
    steps = [
        {"key": key, "label": en if english else zh, "number": i}
        for i, (key, zh, en, _end) in enumerate(retraining.STEPS, 1)
    ]
    row = (
        db.session.get(ModelVersion, status["model_version_id"])
        if status["model_version_id"]
        else None
    )
    return render_template("admin/model_retrain.html", job=job, status=status, steps=steps, row=row)


@bp.get("/models/retrain/<job_id>/status")
def model_retrain_status(job_id: str) -> Any:
    """Answer a retraining's progress as JSON (for the page's polling)."""
    return retraining.retrain_status(_retrain_job(job_id))


@bp.get("/models/<int:model_id>")
def model_detail(model_id: int) -> Any:
    """Show a model version's card and the drift of recent applications against it."""
    row = admin_service.get_model(db.session, model_id)
    return render_template(
        "admin/model_detail.html",
        row=row,
        card=row.card,
        drift=credit.recent_drift(db.session, row),
    )


@bp.post("/models/<int:model_id>/promote")
def model_promote(model_id: int) -> Any:
    """Make a model version the one that scores new applications."""
    row = admin_service.promote_model(db.session, model_id, actor_id=current_user.id)
    flash(
        _(
            "已启用模型 %(name)s（%(version)s），新的申请将用它评分；在办的申请正在后台重新评分。",
            name=row.name,
            version=row.version,
        ),
        "success",
    )
    return redirect(url_for("admin.models"))


@bp.get("/models/<int:model_id>/compare")
def model_compare(model_id: int) -> Any:
    """Compare the champion and this model on the same most recent loan outcomes."""
    result = credit.compare_with_champion(db.session, model_id)
    return render_template(
        "admin/model_compare.html",
        result=result,
        previous=credit.previous_champion(db.session),
    )


@bp.post("/models/<int:model_id>/promote-with-reason")
def model_promote_with_reason(model_id: int) -> Any:
    """Promote a model with the admin's written reason (needed when a baseline beat it)."""
    reason = request.form.get("reason", "")
    row = credit.promote_with_rescore(db.session, model_id, actor_id=current_user.id, reason=reason)
    flash(
        _(
            "已启用模型 %(name)s（%(version)s），理由已记录；在办的申请正在后台重新评分。",
            name=row.name,
            version=row.version,
        ),
        "success",
    )
    return redirect(url_for("admin.models"))


@bp.post("/models/rollback")
def model_rollback() -> Any:
    """Restore the previous champion (audited, with a reason)."""
    row = credit.rollback_model(
        db.session, actor_id=current_user.id, reason=request.form.get("reason", "")
    )
    flash(
        _("已恢复上一个模型 %(name)s（%(version)s）。", name=row.name, version=row.version),
        "success",
    )
    return redirect(url_for("admin.models"))


@bp.get("/models/monitor")
def model_monitor() -> Any:
    """Calibration and approval rates by size class, district, first-borrower status, industry."""
    page = monitor_cache.monitor_page(
        db.session, max_age_seconds=current_app.config["MONITOR_MAX_AGE_SECONDS"]
    )
    return render_template("admin/model_monitor.html", report=page.report, page=page)


@bp.post("/models/monitor/refresh")
def model_monitor_refresh() -> Any:
    """Recompute the fairness monitor in the background (a job), then show the page."""
    monitor_cache.request_refresh(db.session, actor_id=current_user.id)
    flash(_("已开始在后台重新计算，完成后刷新本页即可看到新的数据。"), "success")
    return redirect(url_for("admin.model_monitor"))
