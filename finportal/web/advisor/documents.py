"""The documents an advisor reads on the review page (downloads only, each audited)."""

from __future__ import annotations

from typing import Any

from finportal.extensions import db
from finportal.models import Application
from finportal.services import documents
from finportal.web.advisor.views import bp
from finportal.web.sme.documents import attachment_only, download


def review_context(application: Application) -> dict[str, Any]:
    """Return what the review page's documents section and return form show."""
    return {
        "doc_kinds": documents.KINDS,
        "doc_asks": documents.asks(db.session, application),
        "app_documents": documents.of_application(db.session, application),
        "profile_documents": documents.of_enterprise(db.session, application.enterprise_id),
        "doc_scan": documents.SCAN_STATUSES,
    }


@bp.get("/documents/<int:document_id>")
@attachment_only
def document_file(document_id: int) -> Any:
    """Download an enterprise's document (never shown inline; audited)."""
    return download(document_id)
