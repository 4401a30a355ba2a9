"""The advisor's home page; later pages build on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from finportal.web.access import restrict_blueprint

bp = Blueprint("advisor", __name__, url_prefix="/advisor")
restrict_blueprint(bp, "advisor")


@bp.get("/")
def home() -> Any:
    """Show the advisor's home page."""
    return render_template("advisor/home.html")
