"""Fresh databases for the operations tests (scale data, backups, faults)."""

from __future__ import annotations

import os
import uuid
from typing import Any


def fresh_database_url(tmp_path: Any, label: str) -> str:
    """Return the URL of a new empty database: on the test PostgreSQL when set, else SQLite."""
    base_url = os.environ.get("FINPORTAL_TEST_DATABASE_URL")
    if not base_url:
        return f"sqlite:///{tmp_path / f'{label}.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    name = f"{base.database}_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by :func:`fresh_database_url` (SQLite files go with tmp_path)."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def make_app(url: str, instance: Any, **config: Any) -> Any:
    """Return an app on ``url`` with its schema migrated."""
    import flask_migrate

    from finportal import create_app

    previous = os.environ.get("FINPORTAL_INSTANCE_PATH")
    os.environ["FINPORTAL_INSTANCE_PATH"] = str(instance)
    try:
        app = _create(create_app, url, instance, config)
    finally:
        if previous is None:
            os.environ.pop("FINPORTAL_INSTANCE_PATH", None)
        else:
            os.environ["FINPORTAL_INSTANCE_PATH"] = previous
    with app.app_context():
        flask_migrate.upgrade()
    return app


def _create(create_app: Any, url: str, instance: Any, config: dict[str, Any]) -> Any:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "JOBS_MODE": "eager",
            "WTF_CSRF_ENABLED": False,
            "MODEL_DIR": str(instance / "models"),
            "PACKET_DIR": str(instance / "packets"),
            "DOCUMENT_DIR": str(instance / "documents"),
            **config,
        }
    )
