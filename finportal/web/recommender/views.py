"""The recommender's home page; later pages build on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from finportal.web.access import restrict_blueprint

bp = Blueprint("recommender", __name__, url_prefix="/recommender")
restrict_blueprint(bp, "recommender")


@bp.get("/")
def home() -> Any:
    """Show the recommender's home page."""
    return render_template("recommender/home.html")
