"""A batch packet reads its members together (issue 12): as many statements for 12 members as
for 3, and every member's packet says what it said when each member was read on its own.

Before, the ``batch_packet`` job looked up each member's firm, profile, verified facts,
documents, score and consent one member at a time (about six statements a member: 37 for 5
members, 307 for 50; docs/BENCHMARKS.md, "Batch packets: members read together").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from finportal.models import Batch, Consent, utcnow
from finportal.services import batch_packets, batches, packet_context
from finportal.services.errors import Forbidden
from finportal.services.workdays import SHANGHAI
from tests.finportal.batches.packet_members import add_members
from tests.finportal.test_query_counts import counting
from tests.helpers import screened

pytestmark = pytest.mark.db


def _batch(db_session: Any, world: Any, name: str) -> Any:
    return batches.create_batch(
        db_session,
        actor_id=world.advisor.id,
        name=name,
        bank_id=world.bank.id,
        quota_total=Decimal("90000000"),
        park_id=world.park.id,
    )


def _today() -> Any:
    return utcnow().astimezone(SHANGHAI).date()


def _contexts(db_session: Any, batch_id: int) -> list[Any]:
    """What the batch packet job builds before it renders: every member's packet context."""
    batch = db_session.get(Batch, batch_id)
    members = batch_packets.batch_packet_members(batch)
    facts = packet_context.batch_member_facts(db_session, batch, members, _today())
    return [packet_context.assemble(f) for f in facts]


def _statements(db_session: Any, batch_id: int) -> tuple[int, list[Any]]:
    """Count the statements of building a batch's member contexts, as a new job would."""
    db_session.commit()
    db_session.expire_all()
    with counting() as statements:
        contexts = _contexts(db_session, batch_id)
    return len(statements), contexts


@pytest.fixture
def two_batches(db_session, batch_world, request):
    """A batch of 3 checked members and one of 12; some firms scored on an application since.

    The members were checked without a model (no score in their check), then the model was
    promoted and every fourth firm's application screened: those packets show the firm's
    latest score, the others none.
    """
    w = batch_world
    small = _batch(db_session, w, "三户批次")
    large = _batch(db_session, w, "十二户批次")
    firms = add_members(
        db_session, small, 3, recommender=w.recommender, advisor=w.advisor, chamber=w.chamber
    )
    firms += add_members(
        db_session,
        large,
        12,
        recommender=w.recommender,
        advisor=w.advisor,
        chamber=w.chamber,
        seed=710_000,
    )
    request.getfixturevalue("champion_model")
    for firm in firms[::4]:
        screened(db_session, firm)
    return small, large


def test_twelve_members_take_as_many_statements_as_three(db_session, two_batches):
    small, large = two_batches
    _statements(db_session, small.id)  # warms the process's caches (parsed product, fonts)
    for_three, three = _statements(db_session, small.id)
    for_twelve, twelve = _statements(db_session, large.id)
    assert (len(three), len(twelve)) == (3, 12)
    assert for_twelve == for_three, (for_three, for_twelve)


def test_members_read_together_say_what_each_says_read_alone(db_session, two_batches):
    _, large = two_batches
    today = _today()
    members = batch_packets.batch_packet_members(large)
    together = packet_context.batch_member_facts(db_session, large, members, today)
    db_session.expire_all()
    alone = [
        packet_context.member_facts(db_session, member, index, today)
        for index, member in enumerate(batch_packets.batch_packet_members(large), 1)
    ]
    assert together == alone
    # The members differ where a mix-up would show: names, verified facts, documents,
    # chambers, scores from an application or none, amounts and notes.
    assert len({f.enterprise_uscc for f in together}) == 12
    assert [f.packet_number[-3:] for f in together] == [f"{i:03d}" for i in range(1, 13)]
    assert sum(1 for f in together if f.verified) == 6
    assert sum(1 for f in together if f.backed) == 4
    assert sum(1 for f in together if f.chambers) == 4
    scored = [f.score for f in together if f.score]
    assert 0 < len(scored) < 12
    assert len({f.amount for f in together}) == 12
    # What the bank reads: each firm's own verified grade and document on its own packet.
    contexts = [packet_context.assemble(f) for f in together]
    for fact, context in zip(together, contexts, strict=True):
        assert context.enterprise_name == fact.enterprise_name
        marked = "✔ 已核验" in context.enterprise_profile["纳税信用等级"]
        assert marked == bool(fact.verified)
        backed = [r.source for r in context.verified_facts if "有材料佐证" in r.source]
        assert all(fact.enterprise_name in source for source in backed)
        assert bool(backed) == bool(fact.backed)


def test_a_member_without_consent_is_named_when_read_together(db_session, two_batches):
    small, _ = two_batches
    members = batch_packets.batch_packet_members(small)
    withdrawn = members[1]
    for consent in db_session.scalars(
        select(Consent).where(
            Consent.batch_id == small.id, Consent.enterprise_id == withdrawn.enterprise_id
        )
    ):
        consent.withdrawn_at = utcnow()
    db_session.commit()
    with pytest.raises(Forbidden) as refused:
        packet_context.batch_member_facts(db_session, small, members, _today())
    assert withdrawn.enterprise.name in refused.value.message_zh
