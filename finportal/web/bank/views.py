"""The bank's home page; later pages build on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from finportal.web.access import restrict_blueprint

bp = Blueprint("bank", __name__, url_prefix="/bank")
restrict_blueprint(bp, "bank")


@bp.get("/")
def home() -> Any:
    """Show the bank's home page."""
    return render_template("bank/home.html")
