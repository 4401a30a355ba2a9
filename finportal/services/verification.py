"""Enterprise verification (企业认证): the centre checks that an account acts for the firm.

Anyone who knows a firm's 统一社会信用代码 can register it, so the first account of an
enterprise starts **unverified**: it can keep a profile and see matches, but nothing it does
reaches an advisor or a bank (no submitted application, no consent) until an advisor has
checked an uploaded business licence or letter of authorisation (营业执照 / 授权委托书).

States: unverified -> pending (a document is waiting) -> verified | rejected (upload again).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal import limits
from finportal.domain.states import VERIFICATION
from finportal.domain.states import VerificationState as V
from finportal.models import Enterprise, User, VerificationRequest, utcnow
from finportal.services import documents, notifications, workflow
from finportal.services.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from finportal.storage import FileStore


def is_verified(enterprise: Enterprise | None) -> bool:
    """Tell whether the enterprise's accounts were verified by the centre."""
    return enterprise is not None and enterprise.verification_state == V.VERIFIED


def require_verified(session: Session, enterprise_id: int | None) -> Enterprise:
    """Return the enterprise, or raise :class:`Forbidden` when it is not verified yet."""
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id is not None else None
    if enterprise is None:
        raise NotFound.of("enterprise")
    if not is_verified(enterprise):
        raise Forbidden(
            "贵企业账户尚未通过服务中心认证：请先在“企业认证”页上传营业执照或授权委托书，"
            "认证通过后才能提交申请、向银行授权。",
            "Your enterprise account is not verified yet: upload a business licence or a "
            "letter of authorisation on the verification page first.",
            code="enterprise_unverified",
        )
    return enterprise


def request_verification(
    session: Session,
    files: FileStore,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    kind: str,
    upload: documents.Upload,
    message: str = "",
) -> VerificationRequest:
    """Store the document and ask the centre to verify the enterprise (commits)."""
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id is not None else None
    if enterprise is None:
        raise NotFound.of("enterprise")
    if enterprise.verification_state == V.VERIFIED:
        raise InvalidTransition("贵企业已通过认证。", "Your enterprise is already verified.")
    text = limits.valid_text(message, "reason", "message")
    document = documents.store(
        session,
        files,
        actor_id=actor_id,
        enterprise_id=enterprise.id,
        kind=kind,
        upload=upload,
        allowed=tuple(documents.VERIFICATION_KINDS),
    )
    # A newer upload replaces a request still waiting.
    for old in session.scalars(
        select(VerificationRequest).where(
            VerificationRequest.enterprise_id == enterprise.id,
            VerificationRequest.state == "pending",
        )
    ):
        old.state, old.decided_at, old.decision_note = "rejected", utcnow(), "已被新上传的文件取代"
    request = VerificationRequest(
        enterprise_id=enterprise.id,
        requested_by_id=actor_id,
        document_id=document.id,
        message=text,
    )
    session.add(request)
    session.flush()
    workflow.move(
        session,
        VERIFICATION,
        enterprise,
        V.PENDING,
        by="sme",
        actor_id=actor_id,
        action="enterprise.verification_requested",
        column="verification_state",
        data={"request_id": request.id, "document_id": document.id, "kind": kind},
    )
    session.commit()
    return request


@dataclass(frozen=True)
class PendingRequest:
    """A request waiting for an advisor, with the enterprise and the requester."""

    request: VerificationRequest
    enterprise: Enterprise
    requester: User | None
    other_accounts: int


def pending(session: Session) -> list[PendingRequest]:
    """Return the requests waiting for an advisor, oldest first."""
    rows = list(
        session.execute(
            select(VerificationRequest, Enterprise, User)
            .join(Enterprise, Enterprise.id == VerificationRequest.enterprise_id)
            .outerjoin(User, User.id == VerificationRequest.requested_by_id)
            .where(VerificationRequest.state == "pending")
            .order_by(VerificationRequest.created_at, VerificationRequest.id)
        )
    )
    from sqlalchemy import func

    counts = dict(
        session.execute(
            select(User.enterprise_id, func.count())
            .where(User.enterprise_id.in_([e.id for _, e, _ in rows] or [-1]))
            .group_by(User.enterprise_id)
        ).all()
    )
    return [
        PendingRequest(r, e, u, max(0, counts.get(e.id, 0) - (1 if u is not None else 0)))
        for r, e, u in rows
    ]


def latest_request(session: Session, enterprise_id: int | None) -> VerificationRequest | None:
    """Return the enterprise's newest verification request, if any."""
    if enterprise_id is None:
        return None
    return session.scalar(
        select(VerificationRequest)
        .where(VerificationRequest.enterprise_id == enterprise_id)
        .order_by(VerificationRequest.created_at.desc(), VerificationRequest.id.desc())
        .limit(1)
    )


def get_request(session: Session, request_id: int) -> VerificationRequest:
    """Return a verification request or raise :class:`NotFound`."""
    request = session.get(VerificationRequest, request_id)
    if request is None:
        raise NotFound.of("verification_request")
    return request


def decide(
    session: Session, request_id: int, *, actor_id: int | None, approve: bool, note: str = ""
) -> VerificationRequest:
    """Verify the enterprise or refuse the request with a reason the firm reads (commits)."""
    request = get_request(session, request_id)
    if request.state != "pending":
        raise InvalidTransition("该认证申请已处理。", "This request was already decided.")
    text = limits.valid_text(note, "reason", "note")
    if not approve and not text:
        raise ValidationFailed(
            "不通过时请写明原因，企业会看到。",
            "Say why the request is refused; the enterprise reads it.",
            fields={"note": "请写明原因"},
        )
    enterprise = session.get(Enterprise, request.enterprise_id)
    assert enterprise is not None
    now = utcnow()
    request.state = "approved" if approve else "rejected"
    request.decided_at, request.decided_by_id, request.decision_note = now, actor_id, text
    workflow.move(
        session,
        VERIFICATION,
        enterprise,
        V.VERIFIED if approve else V.REJECTED,
        by="advisor",
        actor_id=actor_id,
        action="enterprise.verified" if approve else "enterprise.verification_rejected",
        column="verification_state",
        reason=text,
        data={"request_id": request.id},
    )
    if approve:
        enterprise.verified_at = now
    notifications.notify(
        session,
        enterprise_id=enterprise.id,
        title=(
            ("企业认证已通过", "Your enterprise is verified")
            if approve
            else ("企业认证未通过", "Verification refused")
        ),
        body=(
            text or "现在可以提交融资申请、向银行授权，并邀请同事加入。",
            text or "You can now submit applications, give consents and invite colleagues.",
        ),
        link="/sme/verification",
    )
    session.commit()
    return request
