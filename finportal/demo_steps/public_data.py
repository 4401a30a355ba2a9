"""Demo public data (issue 14, 无感核查): authorisations, a tax and a social-insurance import.

demo-sme and a few verified demo firms authorise the tax and social-insurance sources; an
extract of each is imported as the district big-data centre would send it (the tax file as
CSV, the social-insurance file as XLSX), and one tax file with bad rows is rejected, so the
admin's list shows both outcomes. demo-sme's verified insured headcount differs from what
it declared, so its profile shows the flag. Idempotent: a second run adds nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.models import DataImport, Enterprise, User
from finportal.services.public_data import authorisations, imports, sources
from finportal.services.workdays import today_local

#: How many demo firms (besides demo-sme's) authorise and appear in the extracts.
FIRMS = 12


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import(session: Session, actor_id: int | None, source: str, name: str, content: bytes) -> None:
    """Import a file once (by its name), running the import here rather than in a thread."""
    if session.scalar(select(DataImport.id).where(DataImport.filename == name)) is not None:
        return
    record = imports.accept_file(
        session, actor_id=actor_id, source=source, filename=name, content=content
    )
    session.commit()
    imports.run_import(session, import_id=record.id)
    session.commit()


def seed(session: Session, context: dict[str, object]) -> None:
    """Authorise, then import the demo extracts (idempotent)."""
    users = context.get("users") or {}
    assert isinstance(users, dict)
    sme, admin = users.get("demo-sme"), users.get("demo-admin")
    if not isinstance(sme, User) or sme.enterprise_id is None:
        return
    actor_id = admin.id if isinstance(admin, User) else None
    own = session.get(Enterprise, sme.enterprise_id)
    others = list(
        session.scalars(
            select(Enterprise)
            .where(
                Enterprise.demo.is_(True),
                Enterprise.verification_state == "verified",
                Enterprise.id != sme.enterprise_id,
            )
            .order_by(Enterprise.id)
            .limit(FIRMS)
        )
    )
    firms = [f for f in [own, *others] if f is not None and f.verification_state == "verified"]
    for firm in firms:
        for source in ("tax", "social_insurance"):
            if authorisations.current(session, firm.id, source) is None:
                authorisations.grant(
                    session,
                    actor_id=sme.id if firm.id == sme.enterprise_id else None,
                    enterprise_id=firm.id,
                    source=source,
                    scope=[i.code for i in sources.source(source).items],
                    valid_until=None,
                )
    as_of = (today_local().replace(day=1) - timedelta(days=1)).isoformat()
    tax = sources.source("tax")
    header = [sources.USCC_COLUMNS[0], sources.AS_OF_COLUMNS[0], *(i.columns[0] for i in tax.items)]
    rows: list[list[object]] = [header]
    for firm in firms:
        grade = firm.tax_credit_grade or "B"
        paid = (firm.tax_paid_last_year or Decimal("120000")).quantize(Decimal("0.01"))
        revenue = (firm.revenue_last_year or Decimal("5000000")).quantize(Decimal("0.01"))
        rows.append([firm.uscc, as_of, grade, str(paid), str(revenue)])
    _import(session, actor_id, "tax", "大数据中心-纳税信息-演示.csv", _csv(rows))
    social: list[list[object]] = [["uscc", "as_of", "insured_headcount"]]
    for firm in firms:
        declared = firm.social_insured_employees or 10
        # demo-sme's extract counts two more insured staff than it declared: the flag shows.
        social.append([firm.uscc, as_of, declared + 2 if firm is own else declared])
    _import(session, actor_id, "social_insurance", "大数据中心-社保参保-演示.xlsx", _xlsx(social))
    bad = [
        header,
        [firms[0].uscc, as_of, "E", "-1", ""],
        ["91310112ABCDEFGHIJ", as_of, "A", "1", "1"],
    ]
    _import(session, actor_id, "tax", "大数据中心-纳税信息-有误-演示.csv", _csv(bad))
