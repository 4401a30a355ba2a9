"""Public pages: the landing page and the language switch (health checks: observability.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user

from finportal.i18n import LOCALES
from finportal.web.access import role_home
from finportal.web.inputs import same_site_path

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> Any:
    """Show the landing page, or send a signed-in user home."""
    if current_user.is_authenticated:
        return redirect(role_home(current_user))
    return render_template("index.html")


@bp.get("/lang/<code>")
def switch_language(code: str) -> Any:
    """Switch the interface language and go back where the user was."""
    if code in LOCALES:
        session["lang"] = code
        if current_user.is_authenticated:  # issue 15: e-mail and SMS follow the language
            from finportal.extensions import db
            from finportal.services import notifications

            notifications.set_language(db.session, current_user.id, code)
    return redirect(same_site_path(request.args.get("next")) or url_for("public.index"))
