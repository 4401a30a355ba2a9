"""The firm's documents (材料): its profile's, an application's, and what it is asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal.domain.permissions import Actor
from finportal.extensions import db
from finportal.models import Application
from finportal.services import documents
from finportal.services.errors import ServiceError
from finportal.storage import document_store
from finportal.web.forms import form_errors
from finportal.web.sme.views import bp, enterprise_id


def scanner() -> list[str] | None:
    """Return the configured virus scanner (or ClamAV when installed)."""
    return documents.scanner_command(current_app.config.get("VIRUS_SCAN_COMMAND"))


def _upload() -> documents.Upload:
    upload = request.files.get("document")
    if upload is None:
        return documents.Upload("", b"")
    # One byte past the limit is enough to refuse a file as too large.
    return documents.Upload(upload.filename or "", upload.stream.read(documents.MAX_BYTES + 1))


F = TypeVar("F", bound=Callable[..., Any])


def attachment_only(view: F) -> F:
    """Give a download view the sandbox policy in place of the pages' (Flask-Talisman reads it)."""
    view.talisman_view_options = {  # type: ignore[attr-defined]
        "content_security_policy": documents.DOWNLOAD_HEADERS["Content-Security-Policy"]
    }
    return view


def download(document_id: int) -> Response:
    """Send a document the signed-in user may see, as a download only (audited)."""
    actor = Actor.of(current_user)
    document = documents.get_for(db.session, document_id, actor)
    content = documents.read(db.session, document_store(), document, actor_id=current_user.id)
    response = Response(content, mimetype=document.content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{documents.download_name(document)}"'
    )
    response.headers.update(documents.DOWNLOAD_HEADERS)
    return response


def application_context(application: Application) -> dict[str, Any]:
    """Return what the application page's documents section shows."""
    return {
        "doc_asks": documents.asks(db.session, application),
        "app_documents": documents.of_application(db.session, application),
        "doc_kinds": documents.KINDS,
        "doc_application_kinds": documents.APPLICATION_KINDS,
        "doc_max_mb": documents.MAX_BYTES // (1024 * 1024),
        "doc_scan": documents.SCAN_STATUSES,
    }


def _render_list(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    return render_template(
        "sme/documents.html",
        docs=documents.of_enterprise(db.session, enterprise_id()),
        kinds=documents.KINDS,
        profile_kinds=documents.PROFILE_KINDS,
        max_mb=documents.MAX_BYTES // (1024 * 1024),
        scan=documents.SCAN_STATUSES,
        errors=errors or {},
        values={"kind": request.form.get("kind", "")} if request.method == "POST" else {},
    ), status


def _attach(application_id: int | None) -> None:
    """Store the uploaded file for the signed-in firm (standing, or for one application)."""
    documents.attach(
        db.session,
        document_store(),
        actor_id=current_user.id,
        enterprise_id=enterprise_id(),
        application_id=application_id,
        kind=request.form.get("kind", ""),
        upload=_upload(),
        scanner=scanner(),
    )


@bp.route("/documents", methods=["GET", "POST"])
def document_list() -> Any:
    """List the firm's profile documents; upload one (licence, statements, tax returns…)."""
    if request.method == "GET":
        return _render_list()
    try:
        _attach(None)
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _render_list(form_errors(exc), exc.status)
    flash(_("材料已上传。"), "success")
    return redirect(url_for("sme.document_list"))


@bp.post("/applications/<int:application_id>/documents")
def attach_document(application_id: int) -> Any:
    """Attach a document to an application (a contract, an invoice, what was asked for)."""
    from finportal.web.sme.applications import _rerender

    try:
        _attach(application_id)
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _rerender(
            application_id,
            errors={f"upload_{k}": v for k, v in form_errors(exc).items()},
            upload_kind=request.form.get("kind", ""),
        )
    flash(_("材料已上传。"), "success")
    return redirect(url_for("sme.application", application_id=application_id) + "#documents")


@bp.get("/documents/<int:document_id>")
@attachment_only
def document_file(document_id: int) -> Any:
    """Download one of the firm's documents."""
    return download(document_id)
