"""A batch of any number of checked members whose packets differ, for the batch packet's reads.

Used by ``test_batch_packet_reads.py`` and ``scripts/bench_batch_context.py``: each member is
a firm of the park with its own figures; every second one authorised the tax source and has
verified facts from one exchange file (the grade differs from the declared one); every third
one keeps a financial statement on its profile (its revenue is backed by a document); every
third one is also a member of a chamber.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finportal.models import Consent, Document, Enterprise, Membership
from finportal.services import batch_checks, batch_recommendations
from finportal.services.public_data import authorisations, imports
from finportal.services.workdays import today_local
from tests.helpers import healthy_firm

#: Seeds of the firms start here, away from the test factories' counter.
FIRST_SEED = 700_000


def add_members(
    session: Any,
    batch: Any,
    count: int,
    *,
    recommender: Any,
    advisor: Any,
    chamber: Any = None,
    seed: int = FIRST_SEED,
) -> list[Any]:
    """Add ``count`` firms of the batch's park, consented, recommended and checked (committed)."""
    firms = []
    for i in range(count):
        firm = Enterprise(
            **healthy_firm(
                seed + i,
                name=f"上海批次材料包成员{seed + i}有限公司",
                employees=40 + i,
                revenue_last_year=Decimal("20000000.00") + Decimal(100000 * i),
                tax_paid_last_year=Decimal("600000.00") + Decimal(1000 * i),
            )
        )
        firm.memberships.append(Membership(park_id=batch.park_id))
        if chamber is not None and i % 3 == 2:
            firm.memberships.append(Membership(chamber_id=chamber.id))
        session.add(firm)
        firms.append(firm)
    session.flush()
    for i, firm in enumerate(firms):
        session.add(
            Consent(
                enterprise_id=firm.id,
                batch_id=batch.id,
                bank_id=batch.bank_id,
                scope=["profile", "financials", "credit_record", "score"],
                valid_until=date.today() + timedelta(days=365),
            )
        )
        if i % 3 == 0:
            session.add(
                Document(
                    enterprise_id=firm.id,
                    kind="financial_statement",
                    filename=f"{firm.name}2025年财务报表.pdf",
                    content_type="application/pdf",
                    size_bytes=1000 + i,
                    sha256=f"{seed + i:064x}",
                )
            )
    session.commit()
    verified = firms[::2]
    for firm in verified:
        authorisations.grant(
            session,
            actor_id=None,
            enterprise_id=firm.id,
            source="tax",
            scope=["tax_credit_grade", "tax_paid_yuan"],
            valid_until=today_local() + timedelta(days=365),
        )
    if verified:
        rows = [["uscc", "as_of", "tax_credit_grade", "tax_paid_yuan"]] + [
            [firm.uscc, "2026-09-30", "B", str(500000 + 1000 * n)]
            for n, firm in enumerate(verified)
        ]
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        imports.upload(
            session,
            actor_id=None,
            source="tax",
            filename="tax.csv",
            content=out.getvalue().encode(),
        )
    for i, firm in enumerate(firms):
        batch_recommendations.recommend_member(
            session,
            batch_id=batch.id,
            enterprise_id=firm.id,
            actor_id=recommender.id,
            note=f"园区推荐第{i + 1}户" if i % 2 else "",
            requested_amount=str(1000000 + 10000 * i),
        )
    batch_checks.check_all_members(session, batch.id, actor_id=advisor.id)
    return firms
