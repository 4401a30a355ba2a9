"""Files the portal writes are not readable by other users of the machine."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

import scoring


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def world_bits(path: Path) -> int:
    return mode(path) & 0o007


@pytest.fixture
def default_umask():
    """Start from the usual login umask (022), as a fresh server process would."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_database_secret_key_and_models_are_private(
    tmp_path, monkeypatch, default_umask, reference_model_dir
):
    import flask_migrate
    from sqlalchemy import text

    from finportal import create_app
    from finportal.extensions import db
    from finportal.services import credit

    instance = tmp_path / "instance"
    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("FINPORTAL_SECRET_KEY", raising=False)
    database = instance / "finportal.db"
    app = create_app(
        {
            "TESTING": True,
            "CHECK_PACKET_ENVIRONMENT": False,
            "DATABASE_URL": f"sqlite:///{database}",
        }
    )
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.get_engine().connect() as conn:
                conn.execute(text("SELECT count(*) FROM users"))
                # While a connection is open, SQLite keeps its -wal and -shm files.
                written = [
                    instance,
                    database,
                    Path(f"{database}-wal"),
                    Path(f"{database}-shm"),
                    instance / "secret_key",
                ]
                assert all(p.exists() for p in written), [p for p in written if not p.exists()]
                assert {str(p): world_bits(p) for p in written} == {str(p): 0 for p in written}
            row = credit.register_model(
                db.session, reference_model_dir, actor_id=None, name="参考模型"
            )
            db.session.commit()
            temporary = tmp_path / "tmp"
            temporary.mkdir()
            monkeypatch.setattr(tempfile, "tempdir", str(temporary))
            seen: dict[str, int] = {}
            read_model = scoring.load_model

            def load_model(folder):
                files = [Path(folder), *Path(folder).rglob("*")]
                seen.update({str(p): world_bits(p) for p in files})
                seen["folder mode"] = mode(Path(folder))
                return read_model(folder)

            monkeypatch.setattr(scoring, "load_model", load_model)
            credit._cache.pop(row.version, None)
            credit.load(row)
            assert seen.pop("folder mode") == 0o700
            assert len(seen) > 2
            assert set(seen.values()) == {0}, seen
            # Gone once the model is read: a process that leaves without its exit handlers
            # (each RQ job's fork leaves with os._exit) leaves no folder behind.
            assert list(temporary.iterdir()) == []
            db.session.remove()
    finally:
        app.extensions["finportal_engine"].dispose()


def test_files_left_readable_by_an_older_version_are_tightened(tmp_path, monkeypatch):
    from finportal import create_app

    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)  # noqa: S103 - what an older version left
    database = instance / "finportal.db"
    for path in (database, instance / "secret_key", Path(f"{database}-wal")):
        path.write_text("x" * 64 if path.name == "secret_key" else "")
        os.chmod(path, 0o644)
    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("FINPORTAL_SECRET_KEY", raising=False)
    create_app(
        {
            "TESTING": True,
            "CHECK_PACKET_ENVIRONMENT": False,
            "DATABASE_URL": f"sqlite:///{database}",
        }
    )
    assert mode(instance) == 0o750
    assert mode(database) == 0o640
    assert mode(Path(f"{database}-wal")) == 0o640
    assert mode(instance / "secret_key") == 0o600
