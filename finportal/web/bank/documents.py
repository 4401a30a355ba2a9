"""A bank's view of a referred firm's documents: one by one, or with the packet as one ZIP."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_login import current_user

from finportal.domain.permissions import Actor
from finportal.extensions import db
from finportal.models import Referral
from finportal.services import documents, referrals
from finportal.services.errors import Forbidden, NotFound
from finportal.storage import document_store
from finportal.web.bank.views import _bank_id, bp
from finportal.web.sme.documents import attachment_only, download


def referral_context(referral: Referral, refusal: Forbidden | None) -> dict[str, Any]:
    """Return what the referral page's documents section shows (nothing without consent).

    ``refusal`` is :func:`consents.packet_refusal` of the referral, which the page also shows.
    """
    allowed = refusal is None
    return {
        "doc_kinds": documents.KINDS,
        "referral_documents": documents.for_referral(db.session, referral) if allowed else [],
        "doc_scan": documents.SCAN_STATUSES,
    }


@bp.get("/referrals/<int:referral_id>/documents/<int:document_id>")
@attachment_only
def document_file(referral_id: int, document_id: int) -> Any:
    """Download one document of the referral's firm (consent checked; audited)."""
    referral = referrals.get_referral(db.session, referral_id, bank_id=_bank_id())
    document = documents.get_for(db.session, document_id, Actor.of(current_user))
    if document not in documents.for_referral(db.session, referral):
        raise NotFound.of("document")
    return download(document_id)


@bp.get("/referrals/<int:referral_id>/bundle.zip")
@attachment_only
def bundle(referral_id: int) -> Any:
    """Download the packet with the firm's documents and a manifest, as one ZIP."""
    name, content = documents.bundle(
        db.session, document_store(), referral_id, bank_id=_bank_id(), actor_id=current_user.id
    )
    response = Response(content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers.update(documents.DOWNLOAD_HEADERS)
    return response
