"""The public page of banks' response times and satisfaction (评价晾晒), once the head approved it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from finportal.domain.states import current_locale
from finportal.extensions import db
from finportal.services import complaint_analysis

bp = Blueprint("ratings", __name__)


@bp.get("/ratings")
def index() -> Any:
    """Show the approved reports, newest first (drafts and withdrawn ones never)."""
    return render_template(
        "ratings/index.html",
        reports=complaint_analysis.reports(db.session, approved_only=True),
        english=current_locale().startswith("en"),
    )
