"""Two approvals arriving at once never overspend a batch's quota (PostgreSQL, real connections).

The test commits its own rows through separate connections (not the rolled-back
``db_session``), races two bank approvals on two threads, and deletes what it made.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from finportal.models import (
    AuditEvent,
    Bank,
    Batch,
    BatchMember,
    Consent,
    Enterprise,
    Park,
    Product,
    ProductVersion,
)
from finportal.services import batch_decisions, batches
from finportal.services.errors import Conflict
from tests.helpers import make_uscc

ROUNDS = 6


@pytest.fixture
def pg_engine(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "concurrent approvals need PostgreSQL's row locks: set FINPORTAL_TEST_DATABASE_URL"
        )
    engine = create_engine(database_url, pool_size=4)
    yield engine
    engine.dispose()


def _make_world(engine, rounds):
    """Commit a bank, a park, two members per round and one submitted batch per round."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine, expire_on_commit=False) as s:
        product = Product(code=f"conc_{tag}", name_zh="并发测试产品")
        bank = Bank(code=f"conc_{tag}", name_zh="并发测试银行")
        park = Park(code=f"conc_{tag}", name_zh="并发测试园区")
        s.add_all([product, bank, park])
        s.flush()
        version = ProductVersion(product_id=product.id, number=1, content={}, content_hash=tag)
        s.add(version)
        s.flush()
        seed = int(tag, 16) % 999_000
        ids = {"product": product.id, "version": version.id, "bank": bank.id, "park": park.id}
        ids["enterprises"], ids["batches"] = [], []
        for i in range(2):
            e = Enterprise(uscc=make_uscc(9_000_000 + seed + i), name=f"并发测试企业{i}")
            s.add(e)
            s.flush()
            ids["enterprises"].append(e.id)
        for r in range(rounds):
            batch = Batch(
                code=f"CONC-{tag}-{r}",
                name="并发测试批次",
                park_id=park.id,
                bank_id=bank.id,
                product_id=product.id,
                product_version_id=version.id,
                quota_total=Decimal("5000000"),
                per_firm_cap=Decimal("3000000"),
                quota_used=Decimal("0"),
                state="submitted",
            )
            s.add(batch)
            s.flush()
            members = [
                BatchMember(batch_id=batch.id, enterprise_id=e_id, state="submitted")
                for e_id in ids["enterprises"]
            ]
            s.add_all(members)
            # Each member consented to the bank for this batch: the bank may see and decide it.
            s.add_all(
                Consent(
                    enterprise_id=e_id,
                    batch_id=batch.id,
                    bank_id=bank.id,
                    scope=["profile"],
                    valid_until=date.today() + timedelta(days=30),
                )
                for e_id in ids["enterprises"]
            )
            s.flush()
            ids["batches"].append((batch.id, [m.id for m in members]))
        s.commit()
    return ids


def _drop_world(engine, ids):
    batch_ids = [b for b, _ in ids["batches"]]
    member_ids = [m for _, ms in ids["batches"] for m in ms]
    with Session(engine) as s:
        s.execute(
            delete(AuditEvent).where(
                (AuditEvent.object_type == "batch_member") & AuditEvent.object_id.in_(member_ids)
                | (AuditEvent.object_type == "batch") & AuditEvent.object_id.in_(batch_ids)
            )
        )
        s.execute(delete(BatchMember).where(BatchMember.id.in_(member_ids)))
        s.execute(delete(Consent).where(Consent.batch_id.in_(batch_ids)))
        s.execute(delete(Batch).where(Batch.id.in_(batch_ids)))
        s.execute(delete(Enterprise).where(Enterprise.id.in_(ids["enterprises"])))
        s.execute(delete(ProductVersion).where(ProductVersion.id == ids["version"]))
        s.execute(delete(Product).where(Product.id == ids["product"]))
        s.execute(delete(Bank).where(Bank.id == ids["bank"]))
        s.execute(delete(Park).where(Park.id == ids["park"]))
        s.commit()


def test_two_simultaneous_approvals_never_overspend_the_quota(pg_engine):
    ids = _make_world(pg_engine, ROUNDS)
    try:
        for batch_id, member_ids in ids["batches"]:
            barrier = threading.Barrier(2)
            outcomes: dict[int, str] = {}

            def approve(member_id, batch_id=batch_id, barrier=barrier, outcomes=outcomes):
                with Session(pg_engine, expire_on_commit=False) as s:
                    # Load first, so both threads reach the UPDATE together.
                    batches.get_member(s, batch_id, member_id, bank_id=ids["bank"])
                    barrier.wait(timeout=10)
                    try:
                        batch_decisions.decide_member(
                            s,
                            batch_id,
                            member_id,
                            bank_id=ids["bank"],
                            actor_id=None,
                            decision="approved",
                            approved_amount=Decimal("3000000"),
                        )
                        outcomes[member_id] = "approved"
                    except Conflict as exc:
                        outcomes[member_id] = exc.code

            threads = [threading.Thread(target=approve, args=(m,)) for m in member_ids]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            # 3,000,000 + 3,000,000 > 5,000,000: exactly one of the two fits.
            assert sorted(outcomes.values()) == ["approved", "quota_exceeded"], outcomes
            with Session(pg_engine) as s:
                batch = s.get(Batch, batch_id)
                assert batch.quota_used == Decimal("3000000") <= batch.quota_total
                states = sorted(
                    s.scalars(select(BatchMember.state).where(BatchMember.batch_id == batch_id))
                )
                approved = s.scalars(
                    select(BatchMember.approved_amount).where(
                        BatchMember.batch_id == batch_id, BatchMember.state == "approved"
                    )
                ).all()
            # The loser's member is untouched: still awaiting a decision, nothing approved.
            assert states == ["approved", "submitted"]
            assert sum(approved) == batch.quota_used
    finally:
        _drop_world(pg_engine, ids)
