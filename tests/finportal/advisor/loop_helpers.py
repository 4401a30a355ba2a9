"""Build the records of the referral loop directly (the SME pages are another issue's)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select

from finportal.models import Application, Consent, Match, utcnow
from finportal.services.labels import DEFAULT_SCOPE


def screened_application(
    session: Any,
    enterprise: Any,
    *,
    amount: str = "1000000",
    term_months: int = 12,
    purpose: str = "equipment",
) -> Application:
    """Create a submitted application and screen it (match and score), committed.

    It is submitted through the lifecycle, so it keeps the profile it was submitted with.
    """
    from finportal.services.lifecycle import transition
    from finportal.services.screening import screen_application

    application = Application(
        enterprise_id=enterprise.id,
        amount=Decimal(amount),
        term_months=term_months,
        purpose=purpose,
        state="draft",
    )
    session.add(application)
    session.flush()
    transition(session, application, "submitted", by="sme", actor_id=None, notify=False)
    application.submitted_at = utcnow()
    session.commit()
    screen_application(session, application_id=application.id)
    session.commit()
    return application


def grant_consent(session: Any, application: Application, bank: Any, *, days: int = 365) -> Consent:
    """Record the enterprise's consent to share its data with the bank, committed."""
    consent = Consent(
        enterprise_id=application.enterprise_id,
        application_id=application.id,
        bank_id=bank.id,
        scope=list(DEFAULT_SCOPE),
        valid_until=date.today() + timedelta(days=days),
    )
    session.add(consent)
    session.commit()
    return consent


def eligible_version(session: Any, application: Application) -> int:
    """Return the product version id of the application's best eligible match."""
    match = session.scalar(
        select(Match)
        .where(Match.application_id == application.id, Match.eligible.is_(True))
        .order_by(Match.rank)
        .limit(1)
    )
    assert match is not None, "the test enterprise should be eligible for some product"
    return match.product_version_id


def pdf_text(pdf: bytes) -> str:
    """Extract the text of every page with pypdf."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squash(text: str) -> str:
    """Drop whitespace so text wrapped across lines compares equal."""
    return re.sub(r"\s+", "", text)


def embedded_font_names(pdf: bytes) -> set[str]:
    """Return the /BaseFont names of fonts embedded (with a font file) on any page."""
    names: set[str] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        for font in (fonts or {}).values():
            font = font.get_object()
            for target in [d.get_object() for d in font.get("/DescendantFonts") or []] or [font]:
                descriptor = target.get("/FontDescriptor")
                if descriptor is not None and any(
                    k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    names.add(str(font["/BaseFont"]))
    return names


class Loop:
    """The records of one referral loop: enterprise, banks, users, application, referral."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def build_loop(
    session: Any,
    create_enterprise: Any,
    create_bank: Any,
    create_user: Any,
    *,
    refer: bool = True,
    enterprise_name: str = "上海㐀明精密机械有限公司",
) -> Loop:
    """Screen an application, consent to two banks, claim it and refer it to the first bank."""
    from finportal.services import review_actions

    enterprise = create_enterprise(name=enterprise_name)
    bank, other_bank = create_bank(), create_bank()
    application = screened_application(session, enterprise)
    consent = grant_consent(session, application, bank)
    grant_consent(session, application, other_bank)
    advisor = create_user("advisor", display_name="王顾问")
    bank_user = create_user("bank", bank_id=bank.id, display_name="甲行客户经理")
    other_bank_user = create_user("bank", bank_id=other_bank.id, display_name="乙行客户经理")
    sme_user = create_user("sme", enterprise_id=enterprise.id)
    loop = Loop(
        enterprise=enterprise,
        bank=bank,
        other_bank=other_bank,
        application=application,
        consent=consent,
        advisor=advisor,
        bank_user=bank_user,
        other_bank_user=other_bank_user,
        sme_user=sme_user,
        version_id=eligible_version(session, application),
        referral=None,
    )
    if refer:
        review_actions.claim(session, application.id, actor_id=advisor.id)
        (loop.referral,) = review_actions.refer_to_banks(
            session,
            application.id,
            actor_id=advisor.id,
            referrals=[(bank.id, loop.version_id)],
            opinion="企业经营稳定，建议贵行予以支持。",
        )
        session.refresh(loop.referral)
    return loop
