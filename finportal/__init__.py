"""FinPortal (闵行区融资服务平台): the Flask application."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from finportal.config import load_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the application; ``config`` overrides the environment."""
    app = Flask(__name__, instance_path=os.environ.get("FINPORTAL_INSTANCE_PATH") or None)
    app.config.from_mapping(load_config(app.instance_path))
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    from finportal import security

    # First: the umask must be set before the database or any file is created.
    security.init_app(app)
    if app.config.get("CHECK_PACKET_ENVIRONMENT", True):
        # Refuse to start without CJK fonts or HarfBuzz subsetting: packets would print
        # boxes or render many times slower, silently.
        from finportal.packets import ensure_environment

        ensure_environment()

    from finportal import cli, i18n, jobs, observability, page_cache
    from finportal.extensions import csrf, db, limiter, login_manager, migrate
    from finportal.web import register_blueprints

    observability.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "migrations")),
    )
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    jobs.init_app(app)
    login_manager.init_app(app)
    register_blueprints(app)
    cli.init_app(app)
    # Last: its before_request runs after the request checks and rate limits.
    page_cache.init_app(app)
    return app
