"""The migrations build the schema from nothing, tear it down and build it again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flask_migrate
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from finportal.models import Base

#: The migrations are SQL per dialect (SQLite rebuilds tables in batch mode).
pytestmark = pytest.mark.both_engines


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


@pytest.fixture
def migrating(scratch_url, tmp_path, monkeypatch):
    """Enter an app on the scratch database (``with migrating(**config) as app``); its engine
    is disposed on the way out, so that the scratch database can be dropped."""
    from finportal import create_app

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))

    @contextmanager
    def enter(**config: Any) -> Iterator[Any]:
        app = create_app({"TESTING": True, "DATABASE_URL": scratch_url, **config})
        try:
            with app.app_context():
                yield app
        finally:
            app.extensions["finportal_engine"].dispose()

    return enter


def test_upgrade_downgrade_upgrade(migrating):
    from finportal.extensions import db

    expected = set(Base.metadata.tables)
    with migrating():
        flask_migrate.upgrade()
        assert expected <= set(inspect(db.get_engine()).get_table_names())
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.get_engine()).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert expected <= set(inspect(db.get_engine()).get_table_names())


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


BEFORE_PACKETS = "5b8e2d41c7a9"


def _tables(conn: Any, *only: str) -> Any:
    """The tables as the database holds them at the revision a test stopped at (reflected)."""
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(conn, only=list(only) or None)
    return meta.tables


def _old_packet_world(conn, pdf: bytes, batch_pdf: bytes, batch_file: str) -> dict[str, int]:
    """Rows as the schema before ``packets`` kept them: a referral with its PDF blob, and a
    batch packet rendered by the old job (its codes in the job's result, its file on disk)."""
    import datetime as dt
    import hashlib

    t = _tables(conn)
    now = dt.datetime.now(dt.UTC)
    stamps = {"created_at": now, "updated_at": now}

    def add(table: str, **values: object) -> int:
        return conn.execute(t[table].insert().values(**values)).inserted_primary_key[0]

    enterprise = add(
        "enterprises",
        uscc="91310112MA1GB00001",
        name="上海迁移测试精密机械有限公司",
        certifications=[],
        demo=False,
        verification_state="verified",
        **stamps,
    )
    bank = add("banks", code="mig_bank", name_zh="迁移测试银行", name_en="Bank", demo=False,
               active=True, **stamps)  # fmt: skip
    product = add("products", code="park_batch", name_zh="园区批次贷", name_en="Park batch",
                  active=True, **stamps)  # fmt: skip
    version = add("product_versions", product_id=product, number=1, content={},
                  content_hash="0" * 64, published_at=now)  # fmt: skip
    application = add("applications", enterprise_id=enterprise, state="referred",
                      amount=1000000, term_months=12, purpose="", lock_version=1, **stamps)  # fmt: skip
    consent = add("consents", enterprise_id=enterprise, bank_id=bank, application_id=application,
                  scope=["profile"], granted_at=now, valid_until=dt.date(2099, 1, 1))  # fmt: skip
    referral = add(
        "referrals",
        application_id=application,
        bank_id=bank,
        product_version_id=version,
        consent_id=consent,
        state="sent",
        advisor_opinion="",
        sent_at=now,
        lock_version=1,
        packet_number="RP-20261130-000001",
        verification_code="ABCD-EFGH-JKMN",
        packet_sha256=hashlib.sha256(pdf).hexdigest(),
        packet_pdf=pdf,
        packet_rendered_at=now,
        **stamps,
    )
    park = add("parks", code="mig_park", name_zh="迁移测试园区", name_en="Park", source="",
               active=True, **stamps)  # fmt: skip
    batch = add("batches", code="PB-MIG-1", name="迁移批次", bank_id=bank, product_id=product,
                product_version_id=version, park_id=park, quota_total=5000000,
                per_firm_cap=2000000, quota_used=0, state="submitted",
                filing_status="not_filed", **stamps)  # fmt: skip
    member = add("batch_members", batch_id=batch, enterprise_id=enterprise, note="",
                 state="submitted", reason_text="", created_at=now)  # fmt: skip
    conn.execute(
        t["jobs"]
        .insert()
        .values(
            id=str(uuid.uuid4()),
            kind="batch_packet",
            state="done",
            args={"batch_id": batch},
            message="",
            object_type="batch",
            object_id=batch,
            created_at=now,
            finished_at=now,
            result={
                "file": batch_file,
                "sha256": hashlib.sha256(batch_pdf).hexdigest(),
                "bytes": len(batch_pdf),
                "verification_code": "BCDE-FGHJ-KMNP",
                "members": [
                    {
                        "member_id": member,
                        "packet_number": "PB-MIG-1-001",
                        "verification_code": "CDEF-GHJK-MNPQ",
                    }
                ],
            },
        )
    )
    return {"referral": referral, "batch": batch, "member": member}


def test_packet_blobs_move_into_files_and_back(migrating, tmp_path):
    """Existing packets survive the upgrade (same SHA-256 verifies) and the downgrade."""
    import hashlib

    from finportal.extensions import db
    from finportal.packets import render_packet
    from finportal.packets.samples import sample_context
    from finportal.services import packet_verification

    packet_dir = tmp_path / "packets"
    pdf = render_packet(sample_context(verification_code="ABCD-EFGH-JKMN"))
    batch_pdf = render_packet(sample_context(verification_code="BCDE-FGHJ-KMNP"))
    digest, batch_digest = (hashlib.sha256(b).hexdigest() for b in (pdf, batch_pdf))
    batch_file = f"batch-1-{batch_digest[:16]}.pdf"
    (packet_dir / "batches").mkdir(parents=True)
    (packet_dir / "batches" / batch_file).write_bytes(batch_pdf)
    with migrating(PACKET_DIR=str(packet_dir)):
        flask_migrate.upgrade(revision=BEFORE_PACKETS)
        with db.get_engine().begin() as conn:
            ids = _old_packet_world(conn, pdf, batch_pdf, batch_file)
        # To the head: the pages read the models, whose columns later revisions add.
        flask_migrate.upgrade()

        columns = {c["name"] for c in inspect(db.get_engine()).get_columns("referrals")}
        assert not columns & {"packet_pdf", "packet_sha256", "verification_code"}
        stored = packet_dir / digest[:2] / digest
        assert stored.read_bytes() == pdf and stored.stat().st_mode & 0o777 == 0o600
        found = packet_verification.verify_packet(db.session, "abcd-efgh-jkmn")
        assert found.sha256 == digest and found.packet_number == "RP-20261130-000001"
        for code in ("BCDE-FGHJ-KMNP", "CDEF-GHJK-MNPQ"):
            assert packet_verification.verify_packet(db.session, code).sha256 == batch_digest
            check = packet_verification.check_file(db.session, code, batch_digest)
            assert check.matches == "original"
        assert (packet_dir / batch_digest[:2] / batch_digest).read_bytes() == batch_pdf
        db.session.remove()

        flask_migrate.downgrade(revision=BEFORE_PACKETS)
        with db.get_engine().connect() as conn:
            row = conn.execute(
                text(
                    "SELECT packet_pdf, packet_sha256, verification_code FROM referrals"
                    " WHERE id = :id"
                ),
                {"id": ids["referral"]},
            ).one()
            result = conn.execute(text("SELECT result FROM jobs")).scalar_one()
        assert bytes(row[0]) == pdf and row[1] == digest and row[2] == "ABCD-EFGH-JKMN"
        if isinstance(result, str):
            import json

            result = json.loads(result)
        assert (packet_dir / "batches" / result["file"]).read_bytes() == batch_pdf
        assert result["members"][0]["verification_code"] == "CDEF-GHJK-MNPQ"
        assert "packets" not in inspect(db.get_engine()).get_table_names()
        # Down to nothing with rows that refer to the tables SQLite copies to alter
        # (it used to fail on a foreign key: DROP TABLE enterprises).
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.get_engine()).get_table_names()) <= {"alembic_version"}


def test_downgrade_base_with_rows_that_refer_to_altered_tables(migrating):
    """SQLite copies a table to alter it; a row referring to it used to stop the downgrade
    ("FOREIGN KEY constraint failed" on DROP TABLE enterprises, e.g. with the demo data)."""
    import datetime as dt

    from finportal.extensions import db

    with migrating():
        flask_migrate.upgrade()
        now = dt.datetime.now(dt.UTC)
        with db.get_engine().begin() as conn:
            t = _tables(conn)
            enterprises, applications = t["enterprises"], t["applications"]
            enterprise = conn.execute(
                enterprises.insert().values(
                    uscc="91310112MA1GB00002",
                    name="上海外键测试有限公司",
                    certifications=[],
                    demo=False,
                    verification_state="unverified",
                    created_at=now,
                    updated_at=now,
                )  # fmt: skip
            ).inserted_primary_key[0]
            conn.execute(
                applications.insert().values(
                    enterprise_id=enterprise,
                    state="draft",
                    amount=1000000,
                    term_months=12,
                    purpose="",
                    lock_version=1,
                    created_at=now,
                    updated_at=now,
                )  # fmt: skip
            )
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.get_engine()).get_table_names()) <= {"alembic_version"}


BEFORE_PUSH_RECORDS = "b7d3e9a1c205"  # wip-13p


def test_firms_told_under_the_old_push_count_as_told(migrating):
    """The old one-notice-per-firm-and-product pushes become push records of an unknown cost."""
    import datetime as dt

    from finportal.extensions import db

    with migrating():
        flask_migrate.upgrade(revision=BEFORE_PUSH_RECORDS)
        now = dt.datetime.now(dt.UTC)
        with db.get_engine().begin() as conn:
            t = _tables(conn)
            firm = conn.execute(
                t["enterprises"].insert().values(
                    uscc="91310112MA1GB00001", name="迁移测试", certifications=[],
                    demo=False, verification_state="verified", created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # fmt: skip
            product = conn.execute(
                t["products"].insert().values(
                    code="ip_pledge", name_zh="知识产权质押贷款", name_en="IP",
                    active=True, created_at=now, updated_at=now,
                )
            ).inserted_primary_key[0]  # fmt: skip
            for key in (f"policy_push:ip_pledge:{firm}", f"policy_push:other:{firm}"):
                conn.execute(
                    t["notifications"].insert().values(
                        enterprise_id=firm, kind="policy_push", title_zh="新产品发布",
                        title_en="", body_zh="", body_en="", dedupe_key=key, created_at=now,
                    )
                )  # fmt: skip
        flask_migrate.upgrade()
        with db.get_engine().connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT enterprise_id, product_id, version_id, effective_rate"
                    " FROM push_records ORDER BY id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [(firm, product, None, None)]
        flask_migrate.downgrade(revision=BEFORE_PUSH_RECORDS)
        assert "push_records" not in inspect(db.get_engine()).get_table_names()


BEFORE_MATURITY = "a7c3e9f1b254"


def test_running_loans_get_their_maturity_stored(migrating):
    """The backfill: first disbursal plus the last approved term; a month end stays in its month."""
    import datetime as dt
    from decimal import Decimal

    from finportal.extensions import db

    with migrating():
        flask_migrate.upgrade(revision=BEFORE_MATURITY)
        now = dt.datetime.now(dt.UTC)
        stamps = {"created_at": now, "updated_at": now}
        with db.get_engine().begin() as conn:
            t = _tables(conn)
            firm = conn.execute(
                t["enterprises"].insert().values(
                    uscc="91310112MA1GB00002", name="到期测试", certifications=[],
                    demo=False, verification_state="verified", **stamps,
                )
            ).inserted_primary_key[0]  # fmt: skip
            bank = conn.execute(
                t["banks"].insert().values(
                    code="b1", name_zh="测试银行", name_en="Bank", demo=False, active=True,
                    **stamps,
                )
            ).inserted_primary_key[0]  # fmt: skip
            product = conn.execute(
                t["products"].insert().values(
                    code="ip_pledge", name_zh="知识产权质押贷款", name_en="IP", active=True,
                    **stamps,
                )
            ).inserted_primary_key[0]  # fmt: skip
            version = conn.execute(
                t["product_versions"].insert().values(
                    product_id=product, number=1, content={}, content_hash="x" * 64,
                    published_at=now,
                )
            ).inserted_primary_key[0]  # fmt: skip
            referrals = []
            for n in range(3):
                application = conn.execute(
                    t["applications"].insert().values(
                        enterprise_id=firm, state="referred", amount=Decimal(100000),
                        term_months=12, purpose="working_capital", lock_version=1,
                        idempotency_key=f"mig-{n}", **stamps,
                    )
                ).inserted_primary_key[0]  # fmt: skip
                referrals.append(
                    conn.execute(
                        t["referrals"]
                        .insert()
                        .values(
                            application_id=application,
                            bank_id=bank,
                            product_version_id=version,
                            state="disbursed",
                            advisor_opinion="",
                            sent_at=now,
                            lock_version=1,
                            **stamps,
                        )
                    ).inserted_primary_key[0]  # fmt: skip
                )
            lent, reapproved, not_lent = referrals
            for referral, term in ((lent, 1), (reapproved, 6), (reapproved, 12), (not_lent, 3)):
                conn.execute(
                    t["bank_decisions"].insert().values(
                        referral_id=referral, decision="approved", term_months=term,
                        approved_amount=Decimal(100000), reason_text="", decided_at=now,
                    )
                )  # fmt: skip
            for referral, day in (
                (lent, dt.date(2027, 1, 31)),
                (lent, dt.date(2027, 3, 1)),  # a second disbursal: the first counts
                (reapproved, dt.date(2026, 11, 30)),
            ):
                conn.execute(
                    t["loan_outcomes"].insert().values(
                        referral_id=referral, event="disbursed", occurred_on=day,
                        amount=Decimal(100000), recorded_at=now,
                    )
                )  # fmt: skip
        flask_migrate.upgrade()
        with db.get_engine().connect() as conn:
            rows = conn.execute(text("SELECT id, matures_on FROM referrals ORDER BY id")).all()
        stored = {r[0]: r[1] if not isinstance(r[1], str) else dt.date.fromisoformat(r[1]) for r in rows}  # fmt: skip
        assert stored == {
            lent: dt.date(2027, 2, 28),
            reapproved: dt.date(2027, 11, 30),
            not_lent: None,
        }
        flask_migrate.downgrade(revision=BEFORE_MATURITY)
        assert "matures_on" not in {
            c["name"] for c in inspect(db.get_engine()).get_columns("referrals")
        }


BEFORE_MONITOR_SNAPSHOTS = "b3d5f7a9c146"  # wip-24-monitor


def test_monitor_snapshots_come_and_go(migrating):
    """The fairness monitor's summary table: a stored report reads back; the downgrade drops it."""
    import datetime as dt
    import json

    from finportal.extensions import db

    with migrating():
        flask_migrate.upgrade(revision=BEFORE_MONITOR_SNAPSHOTS)
        assert "monitor_snapshots" not in inspect(db.get_engine()).get_table_names()
        flask_migrate.upgrade()
        report = {"rows": 2, "groups": {"street": [{"group": "莘庄镇", "bad_rate": None}]}}
        with db.get_engine().begin() as conn:
            table = _tables(conn, "monitor_snapshots")["monitor_snapshots"]
            conn.execute(
                table.insert().values(
                    locale="zh_CN", as_of=dt.datetime.now(dt.UTC), seconds=1.5, data=report
                )
            )
            data = conn.execute(table.select()).one().data
        assert (json.loads(data) if isinstance(data, str) else data) == report
        indexes = inspect(db.get_engine()).get_indexes("monitor_snapshots")
        assert [i["column_names"] for i in indexes] == [["locale", "as_of"]]
        flask_migrate.downgrade(revision=BEFORE_MONITOR_SNAPSHOTS)
        tables = set(inspect(db.get_engine()).get_table_names())
        assert "monitor_snapshots" not in tables and "dashboard_snapshots" in tables
        flask_migrate.upgrade()
        assert "monitor_snapshots" in inspect(db.get_engine()).get_table_names()
