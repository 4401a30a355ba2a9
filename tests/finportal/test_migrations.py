"""The migrations build the schema from nothing, tear it down and build it again."""

from __future__ import annotations

import uuid

import flask_migrate
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from finportal.models import Base


@pytest.fixture
def scratch_url(database_url, tmp_path):
    """A fresh, empty database of the same kind as the test database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_downgrade_upgrade(scratch_url, tmp_path, monkeypatch):
    from finportal import create_app
    from finportal.extensions import db

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "DATABASE_URL": scratch_url})
    expected = set(Base.metadata.tables)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            assert expected <= set(inspect(db.get_engine()).get_table_names())
            flask_migrate.downgrade(revision="base")
            assert set(inspect(db.get_engine()).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            assert expected <= set(inspect(db.get_engine()).get_table_names())
    finally:
        app.extensions["finportal_engine"].dispose()


def test_models_and_migrations_agree(app):
    """No model change is missing a migration (autogenerate finds nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from finportal.extensions import db

    with app.app_context(), db.get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_constraint_names_follow_the_convention(app):
    from finportal.extensions import db

    with app.app_context():
        inspector = inspect(db.get_engine())
        fks = inspector.get_foreign_keys("applications")
        uniques = inspector.get_unique_constraints("users")
    assert all(fk["name"] and fk["name"].startswith("fk_applications_") for fk in fks)
    assert any(u["name"] == "uq_users_username" for u in uniques)
