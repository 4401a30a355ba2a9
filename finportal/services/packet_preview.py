"""The advisor's preview of the packet a bank will get, before the referral exists.

The preview is the same packet — the same facts (``packet_context.referral_facts``), the
same sections (``assemble``) and the same renderer — for a referral that is only imagined:
it is never added to the session, so nothing is saved. It carries no verification code
(nothing to verify), and every page is stamped 预览 so that no one mistakes it for the
bank's copy. It is not a download: no download stamp, no audit event of a bank's
download, no packet row, no file in the store.

Unlike the bank's packet (rendered once by a background job), a preview renders in the
request: an advisor asks for it now and then, and waits for it (``flask packets bench``
measures a render; docs/BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal import limits, packets
from finportal.models import Application, Bank, Match, ProductVersion, Referral, User, utcnow
from finportal.services import consents
from finportal.services.errors import NotFound, ValidationFailed
from finportal.services.packet_context import assemble, referral_facts
from finportal.services.workdays import SHANGHAI

#: The packet number a preview prints (no referral, so no number yet).
PREVIEW_NUMBER = "预览"
#: What the stamp on every page of a preview says.
PREVIEW_STAMP = ("预览 PREVIEW", "非正式材料，未发送银行 · Not sent to any bank")


@dataclass(frozen=True)
class Preview:
    """A rendered preview and the file name it is offered under."""

    pdf: bytes
    filename: str


def _refuse(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(zh, en, fields={field: limits.in_user_language(zh, en)})


def preview_packet(
    session: Session,
    application_id: int,
    *,
    bank_id: int | None,
    product_version_id: int | None,
    actor_id: int,
    opinion: str = "",
) -> Preview:
    """Render the packet ``bank_id`` would get for ``product_version_id``, stamped 预览."""
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound.of("application")
    bank = session.get(Bank, bank_id) if bank_id else None
    if bank is None:
        raise _refuse("banks", "请先勾选一家银行再预览。", "Tick a bank to preview its packet.")
    consent = consents.for_application(session, application.id, bank.id)
    if consent is None:
        raise _refuse(
            "banks",
            f"企业未授权向{bank.name_zh}提供信息，没有可预览的材料包。",
            f"The enterprise gave no consent to {bank.name_en or bank.name_zh}: nothing to preview.",
        )
    version = session.get(ProductVersion, product_version_id) if product_version_id else None
    eligible = version is not None and session.scalar(
        select(Match.id).where(
            Match.application_id == application.id,
            Match.product_version_id == version.id,
            Match.eligible.is_(True),
        )
    )
    if not eligible:
        raise _refuse(
            "products",
            "请选择该申请匹配结果中的一个产品。",
            "Choose a product the application matched.",
        )
    opinion = limits.check_text(opinion, "reason") if opinion else ""
    # Built in memory only: a Referral never added to the session is never saved.
    imagined = Referral(
        application_id=application.id,
        application=application,
        bank_id=bank.id,
        bank=bank,
        product_version_id=version.id,
        product_version=version,
        consent_id=consent.id,
        state="sent",
        advisor_opinion=opinion or "（推荐时填写的顾问意见）",
        created_by_id=actor_id,
        sent_at=utcnow(),
        packet_number=PREVIEW_NUMBER,
    )
    try:
        facts = referral_facts(session, imagined)
    finally:
        if imagined in session:
            session.expunge(imagined)
    pdf = packets.render_packet(assemble(facts))
    user = session.get(User, actor_id)
    at = utcnow().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    who = (user.display_name or user.username) if user is not None else ""
    stamped = packets.stamp_pdf(pdf, [*PREVIEW_STAMP, f"{who} {at}".strip()])
    return Preview(stamped, f"preview-{application.id}-{bank.code}.pdf")
