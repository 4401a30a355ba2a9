"""The SME's home page; the journey's pages build on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user

from finportal.web.access import restrict_blueprint

bp = Blueprint("sme", __name__, url_prefix="/sme")
restrict_blueprint(bp, "sme")


@bp.get("/")
def home() -> Any:
    """Show the enterprise's home page."""
    return render_template("sme/home.html", enterprise=current_user.enterprise)
