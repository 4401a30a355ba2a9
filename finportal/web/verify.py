"""Public check of a referral packet: /verify/<code> shows its SHA-256."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("verify", __name__, url_prefix="/verify")
