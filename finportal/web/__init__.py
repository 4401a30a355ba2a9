"""Blueprints, one per kind of user, and the access rules they share."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint and the error pages."""
    from finportal.web import access, api, errors, filters, inputs, nav
    from finportal.web.account import bp as account_bp  # issue 15
    from finportal.web.admin import bp as admin_bp
    from finportal.web.advisor import bp as advisor_bp
    from finportal.web.auth import bp as auth_bp
    from finportal.web.bank import bp as bank_bp
    from finportal.web.catalogue import bp as catalogue_bp
    from finportal.web.complaints import bp as complaints_bp  # issue 15
    from finportal.web.public import bp as public_bp
    from finportal.web.ratings import bp as ratings_bp  # issue 15
    from finportal.web.recommender import bp as recommender_bp
    from finportal.web.sme import bp as sme_bp
    from finportal.web.verify import bp as verify_bp

    # First: the id converter must be in place before any rule is added.
    inputs.init_app(app)
    access.init_app(app)
    errors.init_app(app)
    nav.init_app(app)
    filters.init_app(app)
    for bp in (
        public_bp,
        auth_bp,
        catalogue_bp,
        verify_bp,
        sme_bp,
        advisor_bp,
        recommender_bp,
        bank_bp,
        admin_bp,
        complaints_bp,  # issue 15
        ratings_bp,  # issue 15
        account_bp,
    ):
        app.register_blueprint(bp)
    api.init_app(app)
