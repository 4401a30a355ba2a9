"""The backup drill: dump a PostgreSQL database with data and the instance folder, restore
both into an empty database and folder, and find every application and file again."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from finportal.models import Application, Packet
from finportal.storage import packet_store
from tests.finportal.ops_helpers import drop_database, fresh_database_url, make_app

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.db,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.environ.get("FINPORTAL_TEST_DATABASE_URL") or "").startswith("postgresql"),
        reason="the drill needs PostgreSQL (FINPORTAL_TEST_DATABASE_URL)",
    ),
]


def _backup(action: str, folder: Path, url: str, instance: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FINPORTAL_DATABASE_URL": url, "FINPORTAL_INSTANCE_PATH": str(instance)}
    return subprocess.run(
        ["bash", str(ROOT / "scripts/backup.sh"), action, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _applications(url: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    select(
                        Application.id,
                        Application.state,
                        Application.amount,
                        Application.idempotency_key,
                    ).order_by(Application.id)
                )
            ]
    finally:
        engine.dispose()


def test_a_backup_restores_every_application_and_file(tmp_path):
    from finportal.extensions import db
    from finportal.scale import Plan, generate

    source_url = fresh_database_url(tmp_path, "backup_source")
    target_url = fresh_database_url(tmp_path, "backup_target")
    source_instance, target_instance = tmp_path / "source", tmp_path / "target"
    try:
        app = make_app(source_url, source_instance)
        with app.app_context():
            generate(db.session, Plan.of(0.001, packets=1), today=date(2026, 11, 30), demo=False)
            packet = db.session.execute(
                select(Packet.id, Packet.sha256, Packet.storage_key).order_by(Packet.id).limit(1)
            ).one_or_none()
            db.session.remove()
            db.engine.dispose()
        (source_instance / "documents").mkdir(parents=True, exist_ok=True)
        (source_instance / "documents" / "licence.pdf").write_bytes(b"%PDF-1.7 licence")
        before = _applications(source_url)
        assert len(before) >= 100 and packet

        made = _backup("backup", tmp_path / "backup", source_url, source_instance)
        assert made.returncode == 0, made.stderr
        restored = _backup("restore", tmp_path / "backup", target_url, target_instance)
        assert restored.returncode == 0, restored.stderr
        verified = _backup("verify", tmp_path / "backup", target_url, target_instance)
        assert verified.returncode == 0, verified.stderr

        assert _applications(target_url) == before
        assert (target_instance / "documents" / "licence.pdf").read_bytes() == b"%PDF-1.7 licence"
        assert (target_instance / "secret_key").read_text() == (
            source_instance / "secret_key"
        ).read_text()
        # The restored database serves the portal, packets included.
        restored_app = make_app(target_url, target_instance)
        with restored_app.app_context():
            row = db.session.get(Packet, packet.id)
            assert row is not None and row.sha256 == packet.sha256
            pdf = packet_store().get(row.storage_key)
            assert hashlib.sha256(pdf).hexdigest() == packet.sha256
            db.session.remove()
            db.engine.dispose()
        # A backup that was tampered with is refused before anything is restored.
        with (tmp_path / "backup" / "instance.tar.gz").open("ab") as f:
            f.write(b"x")
        refused = _backup("restore", tmp_path / "backup", target_url, tmp_path / "other")
        assert refused.returncode != 0 and not (tmp_path / "other").exists()
    finally:
        drop_database(source_url)
        drop_database(target_url)
