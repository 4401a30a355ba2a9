"""Public check of a referral packet: /verify/<code> shows its SHA-256 and a few facts.

A visitor may also upload the file (or give its SHA-256 as ``?sha256=``): the page says
whether it is the original packet or one recorded bank download (which bank, when).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from finportal.extensions import db
from finportal.packets import sha256_hex
from finportal.services import batches as batch_service
from finportal.services import packets as packet_service
from finportal.services.errors import NotFound, ValidationFailed

bp = Blueprint("verify", __name__, url_prefix="/verify")


@bp.get("/")
def index() -> Any:
    """Show a form to type a verification code (or go to its page)."""
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for("verify.packet", code=code.upper()))
    return render_template("verify.html", found=None, code="")


@bp.route("/<code>", methods=["GET", "POST"])
def packet(code: str) -> Any:
    """Show the packet's SHA-256, number, bank, product and date (no personal data)."""
    try:
        found = packet_service.verify_packet(db.session, code)
    except NotFound as exc:
        try:
            # Not a single referral's packet: maybe a batch packet's cover or member code.
            found = batch_service.verify_code(db.session, code)
        except NotFound:
            return render_template("verify.html", found=None, code=code, error=exc.message_zh), 404
    digest = (request.values.get("sha256") or "").strip()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        digest = sha256_hex(upload.read())
    check, check_error = None, None
    if digest:
        try:
            check = packet_service.check_file(db.session, code, digest, original=found.sha256)
        except ValidationFailed as exc:
            check_error = exc.message_zh
    return render_template(
        "verify.html",
        found=found,
        code=code,
        check=check,
        check_error=check_error,
        sha256=digest,
    ), (422 if check_error else 200)
