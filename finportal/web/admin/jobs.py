"""Background jobs: the dead-letter list (failed jobs) with a retry button, and the queue."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from marshmallow import fields, validate

from finportal import jobs, limits, page_cache
from finportal.extensions import db
from finportal.services.errors import ServiceError
from finportal.web.admin.views import CHOICE, FormSchema, bp, text
from finportal.web.forms import flash_refusal, load_form

STATE_LABELS = {
    "failed": lazy_gettext("失败（待处理）"),
    "queued": lazy_gettext("排队中"),
    "running": lazy_gettext("运行中"),
    "done": lazy_gettext("已完成"),
}


class JobFilter(FormSchema):
    """Filters of the job list (query string)."""

    state = fields.String(
        load_default="failed", validate=validate.OneOf(jobs.JOB_STATES, error=CHOICE)
    )
    kind = text("code")
    page = limits.page_field()


@bp.get("/jobs")
@page_cache.never  # the queue's depths are read from Redis, not the database
def jobs_list() -> Any:
    """List jobs by state; failed ones first, each with a retry button."""
    query, errors = load_form(JobFilter(), request.args)
    page = (
        jobs.list_jobs(db.session, per_page=limits.PAGE_SIZE, **query)
        if query is not None
        else None
    )
    counts = jobs.state_counts()
    depths: dict[str, int] = {}
    if not errors:
        try:
            depths = jobs.queue_depths()
        except Exception:  # noqa: BLE001 - the page still shows the database's view
            depths = {"unreachable": 1}
    state = (query or {}).get("state", "failed")
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/jobs.html",
        page=page,
        state=state,
        values=dict(request.args),
        errors=errors,
        args=args,
        counts=counts,
        depths=depths,
        labels=STATE_LABELS,
        kinds=sorted(jobs.JOB_KINDS),
    ), (422 if errors else 200)


@bp.post("/jobs/<job_id>/retry")
def job_retry(job_id: str) -> Any:
    """Queue a failed job again."""
    try:
        record = jobs.retry(db.session, job_id, actor_id=current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash_refusal(exc)
        return redirect(url_for("admin.jobs_list"))
    flash(_("已重新排队：%(kind)s（%(id)s）。", kind=record.kind, id=record.id[:8]), "success")
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("admin.jobs_list")
    return redirect(target)
