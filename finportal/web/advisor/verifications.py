"""Enterprise verification (企业认证) from the advisor's side: check documents, decide."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal.extensions import db
from finportal.models import Document
from finportal.services import documents
from finportal.services import verification as verification_service
from finportal.services.errors import NotFound, ServiceError
from finportal.storage import document_store
from finportal.web.advisor.views import bp
from finportal.web.forms import flash_refusal
from finportal.web.sme.documents import attachment_only


@bp.get("/verifications")
def verifications() -> Any:
    """List the enterprises waiting to be verified, oldest first."""
    return render_template(
        "advisor/verifications.html",
        pending=verification_service.pending(db.session),
        kinds=documents.KINDS,
    )


@bp.get("/verifications/<int:request_id>/document")
@attachment_only
def verification_document(request_id: int) -> Any:
    """Download the document of a verification request (never shown inline; audited)."""
    request_row = verification_service.get_request(db.session, request_id)
    document = db.session.get(Document, request_row.document_id)
    if document is None:
        raise NotFound.of("document")
    content = documents.read(db.session, document_store(), document, actor_id=current_user.id)
    return Response(
        content,
        mimetype=document.content_type,
        headers={
            "Content-Disposition": f"attachment; filename=verification-{request_id}-{document.sha256[:12]}"
            # Any accepted type, XLSX too (issue 14: an unknown ending was a KeyError, a 500).
            + documents.EXTENSIONS.get(document.content_type, ""),
            **documents.DOWNLOAD_HEADERS,
        },
    )


@bp.post("/verifications/<int:request_id>")
def decide_verification(request_id: int) -> Any:
    """Verify the enterprise, or refuse the request with a reason it reads."""
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        flash(_("请选择通过或不通过。"), "danger")
        return redirect(url_for("advisor.verifications"))
    approve = decision == "approve"
    try:
        verification_service.decide(
            db.session,
            request_id,
            actor_id=current_user.id,
            approve=approve,
            note=request.form.get("note", ""),
        )
    except ServiceError as exc:
        flash_refusal(exc)
    else:
        flash(_("企业已认证。") if approve else _("已退回认证申请。"), "success")
    return redirect(url_for("advisor.verifications"))
