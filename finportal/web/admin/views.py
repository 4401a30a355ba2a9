"""The admin's home page; later pages build on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from finportal.web.access import restrict_blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
restrict_blueprint(bp, "admin")


@bp.get("/")
def home() -> Any:
    """Show the admin's home page."""
    return render_template("admin/home.html")
