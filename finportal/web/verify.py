"""Public check of a packet: /verify/<code> shows its SHA-256 and a few facts.

The code may be a referral packet's, a batch packet's cover's or one of its member
packets' (all rows of ``packets``). A visitor may also upload the file (or give its
SHA-256 as ``?sha256=``): the page says whether it is the original packet or one recorded
download (which bank, when).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from finportal.extensions import db
from finportal.packets import sha256_hex
from finportal.services import packet_verification
from finportal.services.errors import NotFound, ValidationFailed
from finportal.web.forms import message

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
        found = packet_verification.verify_packet(db.session, code)
    except NotFound as exc:
        return render_template("verify.html", found=None, code=code, error=message(exc)), 404
    digest = (request.values.get("sha256") or "").strip()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        digest = sha256_hex(upload.read())
    check, check_error = None, None
    if digest:
        try:
            check = packet_verification.check_file(db.session, code, digest)
        except ValidationFailed as exc:
            check_error = message(exc)
    return render_template(
        "verify.html",
        found=found,
        code=code,
        check=check,
        check_error=check_error,
        sha256=digest,
    ), (422 if check_error else 200)
