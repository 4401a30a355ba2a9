"""Public data (无感核查): upload exchange files, fetch from the exchange API, follow imports."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.models import Job
from finportal.services.errors import NotFound, ServiceError
from finportal.services.public_data import imports, sources
from finportal.web.admin.views import bp
from finportal.web.forms import form_errors


def _state_label(state: str) -> str:
    zh, en = imports.STATES.get(state, (state, state))
    return limits.in_user_language(zh, en)


def _render(
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, status: int = 200
) -> Any:
    page_number = limits.page_number(request.args.get("page"))
    page = imports.imports_page(db.session, page=page_number, per_page=limits.PAGE_SIZE)
    return render_template(
        "admin/public_data.html",
        page=page,
        source_options=[(s.code, s.label()) for s in sources.SOURCES],
        source_label=lambda code: sources.source(code).label(),
        state_label=_state_label,
        api=bool(current_app.config.get("PUBLIC_DATA_URL")),
        max_mb=limits.PUBLIC_DATA_MAX_BYTES // (1024 * 1024),
        errors=errors or {},
        values=values or {},
    ), status


@bp.get("/public-data")
def public_data() -> Any:
    """List the imports, newest first, with the upload and fetch forms."""
    return _render()


@bp.post("/public-data")
def public_data_upload() -> Any:
    """Accept an exchange file (CSV or XLSX) of one source and queue its import."""
    upload = request.files.get("file")
    values = {"source": request.form.get("source", "")}
    content = upload.stream.read(limits.PUBLIC_DATA_MAX_BYTES + 1) if upload else b""
    if upload is None or not upload.filename:
        return _render({"file": _("请选择要上传的文件（CSV 或 .xlsx）。")}, values, 422)
    try:
        record = imports.upload(
            db.session,
            actor_id=current_user.id,
            source=values["source"],
            filename=upload.filename,
            content=content,
        )
    except ServiceError as exc:
        db.session.rollback()
        return _render(form_errors(exc), values, exc.status)
    flash(_("文件已接收，正在后台检查并导入。"), "success")
    return redirect(url_for("admin.public_data_import", import_id=record.id))


@bp.post("/public-data/fetch")
def public_data_fetch() -> Any:
    """Queue a fetch of one source over the exchange API for every authorised firm."""
    values = {"fetch_source": request.form.get("source", "")}
    try:
        record = imports.fetch(db.session, actor_id=current_user.id, source=values["fetch_source"])
    except ServiceError as exc:
        db.session.rollback()
        errors = {("fetch_source" if k == "source" else k): v for k, v in form_errors(exc).items()}
        return _render(errors, values, exc.status)
    flash(_("已开始从数据交换接口获取数据。"), "success")
    return redirect(url_for("admin.public_data_import", import_id=record.id))


def _import(import_id: int) -> Any:
    if limits.check_id(import_id) is None:
        raise NotFound.of("import")
    return imports.get(db.session, import_id)


@bp.get("/public-data/<int:import_id>")
def public_data_import(import_id: int) -> Any:
    """Show one import: its progress, what it stored, or the rows that made it rejected."""
    record = _import(import_id)
    state = imports.current_state(db.session, record)
    return render_template(
        "admin/public_data_import.html",
        record=record,
        state=state,
        job=db.session.get(Job, record.job_id) if record.job_id else None,
        source=sources.source(record.source),
        state_label=_state_label,
        counts=imports.COUNTS,
        words=limits.in_user_language,
        finished=state in imports.FINISHED,
    )


@bp.get("/public-data/<int:import_id>/status")
def public_data_status(import_id: int) -> Any:
    """Answer an import's progress as JSON (the page polls it)."""
    record = _import(import_id)
    return imports.status(db.session, record)
