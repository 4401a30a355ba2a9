"""The enterprise's trust pages: verification (企业认证), consents (授权) and colleagues."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.services import accounts, consents, documents
from finportal.services import enterprises as enterprise_service
from finportal.services import verification as verification_service
from finportal.services.errors import ServiceError
from finportal.storage import document_store
from finportal.web.forms import form_errors
from finportal.web.sme.views import act_for_firm, bp, enterprise_id


def _render_verification(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
    return render_template(
        "sme/verification.html",
        enterprise=enterprise,
        latest=verification_service.latest_request(db.session, enterprise.id),
        kinds=documents.VERIFICATION_KINDS,
        max_mb=documents.MAX_BYTES // (1024 * 1024),
        errors=errors or {},
        values={k: v for k, v in request.form.items() if k != "csrf_token"},
    ), status


@bp.route("/verification", methods=["GET", "POST"])
def verification() -> Any:
    """Show the enterprise's verification state; upload a licence or authorisation letter."""
    if request.method == "GET":
        return _render_verification()
    upload = request.files.get("document")
    try:
        verification_service.request_verification(
            db.session,
            document_store(),
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            kind=request.form.get("kind", ""),
            upload=documents.Upload(
                upload.filename or "" if upload else "", upload.read() if upload else b""
            ),
            message=request.form.get("message", ""),
        )
    except ServiceError as exc:
        db.session.rollback()
        return _render_verification(form_errors(exc), exc.status)
    flash(_("已提交认证材料，服务中心审核后会通知您。"), "success")
    return redirect(url_for("sme.verification"))


@bp.get("/consents")
def consent_list() -> Any:
    """Show the enterprise's consents (a page at a time, newest first) and the batches that
    ask for one."""
    eid = enterprise_id()
    found = consents.consents_page(db.session, eid, limits.page_number(request.args.get("page")))
    return render_template(
        "sme/consents.html",
        consents=[consents.describe(c) for c in found.items],
        page=found,
        requests=consents.batch_requests(db.session, eid),
        verified=verification_service.is_verified(
            enterprise_service.get_enterprise(db.session, eid)
        ),
    )


@bp.post("/consents/batches/<int:batch_id>")
def grant_batch_consent(batch_id: int) -> Any:
    """Consent to a batch's bank receiving the enterprise's data for that batch."""
    act_for_firm(
        consents.grant_for_batch,
        _("已授权。银行只会在该批次中收到贵企业的信息。"),
        batch_id=batch_id,
    )
    return redirect(url_for("sme.consent_list"))


@bp.post("/consents/<int:consent_id>/withdraw")
def withdraw_any_consent(consent_id: int) -> Any:
    """Withdraw one of the enterprise's consents."""
    act_for_firm(
        consents.withdraw, _("授权已撤回，银行不会再收到贵企业的材料。"), consent_id=consent_id
    )
    return redirect(url_for("sme.consent_list"))


@bp.route("/colleagues", methods=["GET", "POST"])
def colleagues() -> Any:
    """List the enterprise's accounts and invitations; invite a colleague (verified firms only)."""
    eid = enterprise_id()
    link = None
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            _invitation, token = accounts.invite_colleague(
                db.session,
                actor_id=current_user.id,
                enterprise_id=eid,
                note=request.form.get("note", ""),
            )
        except ServiceError as exc:
            db.session.rollback()
            errors, status = form_errors(exc), exc.status
        else:
            link = url_for("auth.accept_invitation", token=token, _external=True)
    response = render_template(
        "sme/colleagues.html",
        users=accounts.colleagues(db.session, eid),
        invitations=accounts.invitations(db.session, eid),
        verified=verification_service.is_verified(
            enterprise_service.get_enterprise(db.session, eid)
        ),
        link=link,
        errors=errors,
        days=accounts.INVITATION_DAYS,
    )
    headers = {"Cache-Control": "no-store"} if link else {}
    return response, status, headers


@bp.post("/colleagues/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id: int) -> Any:
    """Revoke an unused invitation."""
    act_for_firm(accounts.revoke_invitation, _("邀请已撤销。"), invitation_id=invitation_id)
    return redirect(url_for("sme.colleagues"))
