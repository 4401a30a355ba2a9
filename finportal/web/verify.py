"""Public check of a referral packet: /verify/<code> shows its SHA-256 and a few facts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from finportal.extensions import db
from finportal.services import batches as batch_service
from finportal.services import packets as packet_service
from finportal.services.errors import NotFound

bp = Blueprint("verify", __name__, url_prefix="/verify")


@bp.get("/")
def index() -> Any:
    """Show a form to type a verification code (or go to its page)."""
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for("verify.packet", code=code.upper()))
    return render_template("verify.html", found=None, code="")


@bp.get("/<code>")
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
    return render_template("verify.html", found=found, code=code)
