"""The demand board (需求发布): an SME posts a need, fitting banks claim it, the firm chooses.

- **Posting** freezes the profile (``services/profiles.freeze``), matches it with the
  published catalogue (``products.match_one``: a product *fits* when the firm is eligible
  and the amount and term can be quoted) and keeps those products (``NeedProduct``): a bank
  sees the need when one of its products (``BankProduct``) fits.
- **Banks** see the need anonymised (size class, industry, district, score band, amount,
  term, purpose, collateral, urgency) until the firm consents to that bank
  (``services/consents.py``, the one rule); a bank claims it for one of its fitting
  products with a note.
- **The firm** consents per claiming bank, then chooses one claim: that makes an
  application (screened at once by ``services/screening``) and a referral to the bank
  through ``review_actions.refer_to_banks`` (packet by the ``render_packet`` job); the other
  claims end as not chosen.
- **Unclaimed** needs past their claim clock (``domain/clocks.NEED_CLAIM_WORKING_DAYS``)
  escalate to the advisors (:func:`escalate_unclaimed`, a periodic job); an advisor may
  close an escalated need.

Every state change goes through ``services/workflow.move`` (audited).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

import products
from finportal import limits, money
from finportal.domain import clocks
from finportal.domain.states import CLAIM, NEED
from finportal.domain.states import ClaimState as C
from finportal.domain.states import NeedState as N
from finportal.models import (
    Application,
    Bank,
    BankProduct,
    Match,
    Need,
    NeedClaim,
    NeedProduct,
    Product,
    User,
    utcnow,
)
from finportal.paging import Page, paginate
from finportal.services import catalog as catalog_service
from finportal.services import consents, credit, notifications, workflow
from finportal.services.audit import record_event
from finportal.services.enterprises import NO_SIZE, SIZE_LABELS, get_enterprise
from finportal.services.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from finportal.services.profiles import freeze, thaw
from finportal.services.workdays import SHANGHAI, deadline, today_local

#: What secures the loan the firm asks for (Need.collateral holds the key). (zh, en)
COLLATERAL = {
    "none": ("无抵押（信用）", "None (unsecured)"),
    "guarantee": ("第三方或担保公司保证", "Guarantee by a third party"),
    "property": ("房产抵押", "Property mortgage"),
    "equipment": ("设备抵押", "Equipment mortgage"),
    "receivables": ("应收账款质押", "Pledge of receivables"),
    "ip": ("知识产权质押", "Pledge of patents or trademarks"),
    "other": ("其他", "Other"),
}
#: How soon the firm needs the money (Need.urgency holds the key). (zh, en)
URGENCY = {
    "normal": ("一般（一个月内）", "Normal (within a month)"),
    "soon": ("较急（两周内）", "Soon (within two weeks)"),
    "urgent": ("紧急（一周内）", "Urgent (within a week)"),
}
#: Shanghai's districts by their GB/T 2260 code, as banks read a need's district. (zh, en)
DISTRICTS = {
    "310101": ("黄浦区", "Huangpu"),
    "310104": ("徐汇区", "Xuhui"),
    "310105": ("长宁区", "Changning"),
    "310106": ("静安区", "Jing'an"),
    "310107": ("普陀区", "Putuo"),
    "310109": ("虹口区", "Hongkou"),
    "310110": ("杨浦区", "Yangpu"),
    "310112": ("闵行区", "Minhang"),
    "310113": ("宝山区", "Baoshan"),
    "310114": ("嘉定区", "Jiading"),
    "310115": ("浦东新区", "Pudong"),
    "310116": ("金山区", "Jinshan"),
    "310117": ("松江区", "Songjiang"),
    "310118": ("青浦区", "Qingpu"),
    "310120": ("奉贤区", "Fengxian"),
    "310151": ("崇明区", "Chongming"),
}
#: States in which banks see a need on the board (and may claim it).
ON_BOARD = NEED.tagged("board")
#: Claims still waiting on the firm (not ended).
OPEN_CLAIMS = frozenset(s for s in C if "ended" not in CLAIM.info[s].tags)

t = limits.in_user_language


def _word(table: dict[str, tuple[str, str]], code: str | None) -> str:
    if not code:
        return "—"
    words = table.get(code)
    return t(*words) if words else code


def collateral_label(code: str | None) -> str:
    """Word a collateral key."""
    return _word(COLLATERAL, code)


def urgency_label(code: str | None) -> str:
    """Word an urgency key."""
    return _word(URGENCY, code)


def district_label(code: str | None) -> str:
    """Word a district code (the code itself outside Shanghai's table)."""
    return _word(DISTRICTS, code)


def size_label(code: str | None) -> str:
    """Word a size class."""
    return t(*SIZE_LABELS.get(code or "", NO_SIZE))


def industry_label(code: str | None) -> str:
    """Word an industry code by its row of the size notice, with the code: 工业（39）."""
    if not code:
        return "—"
    try:
        row = products.sizes.row_for(code)
    except products.ProfileError:
        row = None
    if row is None:
        return code
    return t(f"{row.name_zh}（{code}）", f"{row.name_en} ({code})")


def choices(table: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    """Return (key, words) pairs of a table for a select box."""
    return [(key, t(zh, en)) for key, (zh, en) in table.items()]


# --- posting -------------------------------------------------------------------------------


def _score_grade(session: Session, profile: dict[str, Any], request: dict[str, Any]) -> str | None:
    """Return the champion model's grade of the frozen profile (None when it cannot score)."""
    row = credit.champion(session)
    if row is None:
        return None
    model = credit.load(row)
    features = credit.features_for(profile, request, today_local())
    result = credit.score_features(model, features)
    return str(result["grade"]) if result.get("status") == "scored" else None


def _fitting_products(
    session: Session, profile: dict[str, Any], request: dict[str, Any]
) -> list[Product]:
    """Return the published products the frozen profile and the request fit (eligible, quoted)."""
    catalog, _versions = catalog_service.current_catalog(session)
    today = today_local()
    try:
        results = products.match_one(
            catalog,
            profile,
            request,
            lpr=catalog_service.current_lpr(session, today),
            today=today,
        )
    except products.ProfileError as exc:
        raise ValidationFailed(
            f"企业信息有误，无法匹配：{exc}", f"The profile cannot be matched: {exc}"
        ) from exc
    codes = [r.product.code for r in results if r.eligible and r.quote is not None]
    if not codes:
        return []
    rows = {
        p.code: p
        for p in session.scalars(
            select(Product).where(Product.code.in_(codes), Product.active.is_(True))
        )
    }
    return [rows[c] for c in codes if c in rows]


def _size_class(profile: dict[str, Any]) -> str | None:
    try:
        return products.size_class(
            profile.get("industry_code"),
            profile.get("employees"),
            profile.get("revenue_last_year"),
            profile.get("total_assets"),
        ).size_class
    except products.ProfileError:
        return None


#: A need posted again with the same request within this many minutes is the same need
#: (a double click, the back button, a resent form), not a second one.
REPOST_MINUTES = 10


def _same_need_just_posted(
    session: Session, enterprise_id: int, data: dict[str, Any]
) -> Need | None:
    since = utcnow() - timedelta(minutes=REPOST_MINUTES)
    return session.scalar(
        select(Need)
        .where(
            Need.enterprise_id == enterprise_id,
            Need.state.in_(ON_BOARD),
            Need.posted_at >= since,
            Need.amount == data["amount"],
            Need.term_months == data["term_months"],
            Need.purpose == data["purpose"],
            Need.collateral == data["collateral"],
            Need.urgency == data["urgency"],
            Need.purpose_note == (data.get("purpose_note") or ""),
        )
        .order_by(Need.id.desc())
        .limit(1)
    )


def post_need(
    session: Session, *, actor_id: int | None, enterprise_id: int | None, data: dict[str, Any]
) -> Need:
    """Post a need from loaded form data: freeze the profile, keep the fitting products (commits)."""
    enterprise = get_enterprise(session, enterprise_id)
    same = _same_need_just_posted(session, enterprise.id, data)
    if same is not None:
        return same  # a double click or a resent form: the need posted moments ago
    snapshot = freeze(enterprise)
    profile = thaw(snapshot)
    request = {
        "amount": data["amount"],
        "term_months": data["term_months"],
        "purpose": data["purpose"],
        "batch_recommended": False,
    }
    fitting = _fitting_products(session, profile, request)
    now = utcnow()
    need = Need(
        enterprise_id=enterprise.id,
        created_by_id=actor_id,
        state=N.OPEN.value,
        amount=data["amount"],
        term_months=data["term_months"],
        purpose=data["purpose"],
        purpose_note=data.get("purpose_note") or "",
        collateral=data["collateral"],
        urgency=data["urgency"],
        profile_snapshot=snapshot,
        size_class=_size_class(profile),
        industry_code=profile.get("industry_code"),
        district_code=profile.get("district_code"),
        score_grade=_score_grade(session, profile, request),
        posted_at=now,
        claim_due_at=deadline(session, now, clocks.NEED_CLAIM_WORKING_DAYS),
    )
    session.add(need)
    session.flush()
    need.number = f"XQ-{now.astimezone(SHANGHAI):%Y%m%d}-{need.id:06d}"
    for product in fitting:
        session.add(NeedProduct(need_id=need.id, product_id=product.id))
    record_event(
        session,
        actor_id=actor_id,
        action="need.posted",
        object_type="need",
        object_id=need.id,
        to_state=N.OPEN.value,
        reason=need.purpose_note,
        data={
            "number": need.number,
            "amount": str(need.amount),
            "term_months": need.term_months,
            "products": [p.code for p in fitting],
            "claim_due_at": need.claim_due_at.isoformat(),
        },
    )
    session.commit()
    return need


# --- reading -------------------------------------------------------------------------------


def _need_options() -> tuple[Any, ...]:
    return (
        joinedload(Need.enterprise),
        selectinload(Need.claims).joinedload(NeedClaim.bank),
        selectinload(Need.claims).joinedload(NeedClaim.product),
    )


def list_for_enterprise(session: Session, enterprise_id: int | None, page: int = 1) -> Page:
    """Return one page of the enterprise's needs, newest first, with their claims."""
    if enterprise_id is None:
        raise NotFound.of("enterprise")
    stmt = (
        select(Need)
        .where(Need.enterprise_id == enterprise_id)
        .order_by(Need.posted_at.desc(), Need.id.desc())
    )
    return paginate(session, stmt, page=page, per_page=limits.PAGE_SIZE, options=_need_options())


def get_for_enterprise(session: Session, enterprise_id: int | None, need_id: int) -> Need:
    """Return one of the enterprise's needs (``NotFound`` for anyone else's)."""
    need = (
        session.scalar(
            select(Need)
            .where(Need.id == need_id)
            .options(*_need_options())
            .execution_options(populate_existing=True)
        )
        if limits.check_id(need_id)
        else None
    )
    if need is None or enterprise_id is None or need.enterprise_id != enterprise_id:
        raise NotFound.of("need")
    return need


def fitting_products(session: Session, need_id: int) -> list[Product]:
    """Return the products the need fits, by name."""
    return list(
        session.scalars(
            select(Product)
            .join(NeedProduct, NeedProduct.product_id == Product.id)
            .where(NeedProduct.need_id == need_id)
            .order_by(Product.code)
        )
    )


def consented_banks(session: Session, need: Need) -> set[int]:
    """Return the banks the firm's consents on the need are in force for (one query)."""
    return {
        c.bank_id
        for c in (consents.for_need(session, need.id, claim.bank_id) for claim in need.claims)
        if c is not None
    }


# --- the bank's side -----------------------------------------------------------------------


def bank_product_ids(session: Session, bank_id: int) -> list[int]:
    """Return the ids of the products the bank lends under."""
    return list(
        session.scalars(
            select(BankProduct.product_id)
            .where(BankProduct.bank_id == bank_id)
            .order_by(BankProduct.product_id)
        )
    )


def _visible_to_bank(bank_id: int) -> Any:
    """SQL: the needs a bank may open: one of its products fits, or it claimed the need."""
    fits = select(NeedProduct.need_id).join(
        BankProduct,
        (BankProduct.product_id == NeedProduct.product_id) & (BankProduct.bank_id == bank_id),
    )
    claimed = select(NeedClaim.need_id).where(NeedClaim.bank_id == bank_id)
    return Need.id.in_(fits) | Need.id.in_(claimed)


@dataclass
class BankView:
    """A need as one bank sees it: anonymised until the firm consented to that bank."""

    need: Need
    revealed: bool
    products: list[Product]
    claim: NeedClaim | None
    claims: int
    #: The firm's name and USCC, only when revealed.
    firm: dict[str, Any] = field(default_factory=dict)

    @property
    def can_claim(self) -> bool:
        """Tell whether the bank may still claim the need."""
        return (
            self.claim is None
            and bool(self.products)
            and NEED.can(self.need.state, N.CLAIMED, "bank")
        )


def _firm(need: Need) -> dict[str, Any]:
    enterprise = need.enterprise
    return {"name": enterprise.name, "uscc": enterprise.uscc}


def _bank_views(session: Session, bank_id: int, needs: list[Need]) -> list[BankView]:
    """Describe needs for one bank with three statements, whatever their number."""
    ids = [n.id for n in needs]
    if not ids:
        return []
    revealed = consents.needs_revealed_to(session, ids, bank_id)
    fits: dict[int, list[Product]] = {}
    for need_id, product in session.execute(
        select(NeedProduct.need_id, Product)
        .join(Product, Product.id == NeedProduct.product_id)
        .join(
            BankProduct,
            (BankProduct.product_id == NeedProduct.product_id) & (BankProduct.bank_id == bank_id),
        )
        .where(NeedProduct.need_id.in_(ids))
        .order_by(NeedProduct.need_id, Product.code)
    ):
        fits.setdefault(need_id, []).append(product)
    out = []
    for need in needs:
        mine = next((c for c in need.claims if c.bank_id == bank_id), None)
        shown = need.id in revealed
        out.append(
            BankView(
                need=need,
                revealed=shown,
                products=fits.get(need.id, []),
                claim=mine,
                claims=sum(1 for c in need.claims if c.state != C.WITHDRAWN),
                firm=_firm(need) if shown else {},
            )
        )
    return out


#: The bank's tabs: needs it may claim, and the needs it claimed.
BANK_TABS = ("open", "claimed")


def board_for_bank(session: Session, bank_id: int, *, tab: str = "open", page: int = 1) -> Page:
    """Return one page of the needs a bank sees (``open``: claimable; ``claimed``: its claims)."""
    stmt = select(Need).where(_visible_to_bank(bank_id))
    if tab == "claimed":
        stmt = stmt.where(
            Need.id.in_(select(NeedClaim.need_id).where(NeedClaim.bank_id == bank_id))
        )
        stmt = stmt.order_by(Need.posted_at.desc(), Need.id.desc())
    else:
        stmt = stmt.where(
            Need.state.in_(ON_BOARD),
            Need.id.not_in(select(NeedClaim.need_id).where(NeedClaim.bank_id == bank_id)),
        ).order_by(Need.claim_due_at, Need.id)
    result = paginate(
        session,
        stmt,
        page=page,
        per_page=limits.PAGE_SIZE,
        options=(
            selectinload(Need.claims),
            joinedload(Need.enterprise),
        ),
    )
    result.items = _bank_views(session, bank_id, list(result.items))
    return result


def get_for_bank(session: Session, bank_id: int, need_id: int) -> BankView:
    """Return a need as the bank sees it (``NotFound`` unless it fits the bank or it claimed it)."""
    need = (
        session.scalar(
            select(Need)
            .where(Need.id == need_id, _visible_to_bank(bank_id))
            .options(selectinload(Need.claims), joinedload(Need.enterprise))
            .execution_options(populate_existing=True)
        )
        if limits.check_id(need_id)
        else None
    )
    if need is None:
        raise NotFound.of("need")
    return _bank_views(session, bank_id, [need])[0]


def _bank_users(session: Session, bank_id: int) -> list[int]:
    return list(
        session.scalars(
            select(User.id)
            .where(User.bank_id == bank_id, User.role == "bank", User.active.is_(True))
            .order_by(User.id)
        )
    )


def _tell_bank(
    session: Session, bank_id: int, need: Need, title: tuple[str, str], body: tuple[str, str]
) -> None:
    for user_id in _bank_users(session, bank_id):
        notifications.notify(
            session, user_id=user_id, title=title, body=body, link=f"/bank/needs/{need.id}"
        )


def _commit(session: Session) -> None:
    workflow.commit_or_conflict(
        session,
        "该融资需求刚刚发生了变化，您的操作未保存；请刷新页面查看最新状态。",
        "The need changed at the same moment; nothing was saved. Reload the page.",
    )


def claim_need(
    session: Session,
    *,
    actor_id: int | None,
    bank_id: int,
    need_id: int,
    product_id: Any,
    note: str,
) -> NeedClaim:
    """Claim a need for one of the bank's fitting products, with a note to the firm (commits)."""
    view = get_for_bank(session, bank_id, need_id)
    need = view.need
    errors: dict[str, str] = {}
    chosen = limits.check_id(product_id)
    product = next((p for p in view.products if p.id == chosen), None)
    if product is None:
        errors["product_id"] = t(
            "请选择贵行适用于该需求的产品。", "Choose one of your products that fits this need."
        )
    text = limits.collect_text(errors, "note", note, "reason")
    if not text and "note" not in errors:
        errors["note"] = t(
            "请写明贵行的方案（额度、利率区间、所需材料等），企业会看到这段说明。",
            "Write your offer (amount, rate range, documents needed); the enterprise reads it.",
        )
    if errors:
        raise ValidationFailed.marked(errors)
    if view.claim is not None:
        raise Conflict("贵行已认领该需求。", "Your bank has already claimed this need.")
    assert product is not None
    workflow.require(NEED, need.state, N.CLAIMED, "bank")
    now = utcnow()
    claim = NeedClaim(
        need_id=need.id,
        bank_id=bank_id,
        product_id=product.id,
        state=C.CLAIMED.value,
        note=text,
        claimed_by_id=actor_id,
        claimed_at=now,
    )
    session.add(claim)
    session.flush()
    bank = session.get(Bank, bank_id)
    assert bank is not None
    workflow.move(
        session,
        NEED,
        need,
        N.CLAIMED,
        by="bank",
        actor_id=actor_id,
        reason=f"{bank.name_zh}认领（{product.name_zh}）",
        data={"claim_id": claim.id, "bank_id": bank_id, "product": product.code},
    )
    record_event(
        session,
        actor_id=actor_id,
        action="need_claim.claimed",
        object_type="need_claim",
        object_id=claim.id,
        to_state=C.CLAIMED.value,
        reason=text,
        data={"need_id": need.id, "bank_id": bank_id, "product": product.code},
    )
    if need.first_claim_at is None:
        need.first_claim_at = now
    notifications.notify(
        session,
        enterprise_id=need.enterprise_id,
        title=(
            f"融资需求 {need.number} 已被{bank.name_zh}认领",
            f"Need {need.number} was claimed by {bank.name_en or bank.name_zh}",
        ),
        body=(
            "授权该银行查看贵企业信息后，可选择其方案。",
            "Consent to the bank seeing your firm, then you may choose its offer.",
        ),
        link=f"/sme/needs/{need.id}",
    )
    _commit(session)
    return claim


# --- the firm's side -----------------------------------------------------------------------


def _claim_of(need: Need, claim_id: Any) -> NeedClaim:
    wanted = limits.check_id(claim_id)
    claim = next((c for c in need.claims if c.id == wanted), None)
    if claim is None:
        raise NotFound.of("claim")
    return claim


def consent_to_claim(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    need_id: int,
    claim_id: Any,
    valid_until: date | None = None,
) -> NeedClaim:
    """Consent to the claiming bank seeing the firm behind the need (commits)."""
    need = get_for_enterprise(session, enterprise_id, need_id)
    claim = _claim_of(need, claim_id)
    workflow.require(CLAIM, claim.state, C.CONSENTED, "sme")
    if need.state != N.CLAIMED:
        raise InvalidTransition(
            f"融资需求当前状态为“{NEED.title(need.state, 'zh_CN')}”，不能再授权银行。",
            f"A need that is {NEED.title(need.state, 'en').lower()} takes no more consents.",
        )
    consents.grant_for_need(
        session, actor_id=actor_id, need=need, bank=claim.bank, valid_until=valid_until
    )
    workflow.move(
        session,
        CLAIM,
        claim,
        C.CONSENTED,
        by="sme",
        actor_id=actor_id,
        reason=f"授权{claim.bank.name_zh}查看企业信息",
        data={"need_id": need.id, "bank_id": claim.bank_id},
    )
    _tell_bank(
        session,
        claim.bank_id,
        need,
        (
            f"企业已授权贵行查看融资需求 {need.number} 的企业信息",
            f"The enterprise behind need {need.number} consented to your bank",
        ),
        (need.enterprise.name, need.enterprise.name),
    )
    _commit(session)
    return claim


def _opinion(need: Need, claim: NeedClaim) -> str:
    """The text the referral's packet carries where an advisor's opinion goes."""
    return (
        f"本推荐来自需求发布：企业发布融资需求 {need.number}，"
        f"选择了贵行的认领方案，由平台直接推荐（未经顾问审核）。贵行认领说明：{claim.note}"
    )


def choose_claim(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    need_id: int,
    claim_id: Any,
    base_url: str = "",
) -> Application:
    """Choose a consented claim: make an application and a referral to its bank (commits).

    The application takes the need's request and its frozen profile, is screened at once
    (match and score), and is referred to the bank for the claimed product through the
    advisor's referral step (``review_actions.refer_to_banks`` with ``by="sme"``), which
    queues the packet. The other claims end as not chosen. Nothing is saved on a refusal.
    """
    from finportal.services.lifecycle import transition
    from finportal.services.review_actions import ReferralRequest, refer_to_banks
    from finportal.services.screening import screen_application

    need = get_for_enterprise(session, enterprise_id, need_id)
    claim = _claim_of(need, claim_id)
    if claim.state == C.CLAIMED:
        raise InvalidTransition(
            f"请先授权{claim.bank.name_zh}查看贵企业信息，再选择其方案。",
            f"Consent to {claim.bank.name_en or claim.bank.name_zh} first, then choose it.",
        )
    workflow.require(CLAIM, claim.state, C.CHOSEN, "sme")
    workflow.require(NEED, need.state, N.MATCHED, "sme")
    try:
        application = Application(
            enterprise_id=need.enterprise_id,
            created_by_id=actor_id,
            state="draft",
            amount=need.amount,
            term_months=need.term_months,
            purpose=need.purpose,
            product_id=claim.product_id,
        )
        session.add(application)
        session.flush()
        record_event(
            session,
            actor_id=actor_id,
            action="application.created",
            object_type="application",
            object_id=application.id,
            to_state="draft",
            reason=f"由融资需求 {need.number} 生成",
            data={"need_id": need.id, "claim_id": claim.id, "purpose_note": need.purpose_note},
        )
        need.application_id = application.id
        transition(
            session,
            application,
            "submitted",
            by="sme",
            actor_id=actor_id,
            reason=f"企业在融资需求 {need.number} 中选定{claim.bank.name_zh}",
            notify=False,
        )
        # The request banks claimed was made on the profile as posted.
        application.profile_snapshot = need.profile_snapshot
        application.submitted_at = utcnow()
        session.flush()
        screen_application(session, application_id=application.id)
        _, versions = catalog_service.current_catalog(session)
        version = versions.get(claim.product.code)
        if version is None:
            raise Conflict(
                f"{claim.product.name_zh}已下架，不能选择该方案。",
                "That product is no longer published; this offer cannot be chosen.",
            )
        eligible = session.scalar(
            select(Match.id).where(
                Match.application_id == application.id,
                Match.product_version_id == version.id,
                Match.eligible.is_(True),
            )
        )
        if eligible is None:
            raise Conflict(
                f"按当前产品目录，贵企业已不符合{claim.product.name_zh}的条件，不能选择该方案；"
                "可撤回本需求后重新发布。",
                "By the current catalogue your firm no longer qualifies for that product; "
                "withdraw this need and post it again.",
            )
        workflow.move(
            session,
            CLAIM,
            claim,
            C.CHOSEN,
            by="sme",
            actor_id=actor_id,
            reason=f"企业选定{claim.bank.name_zh}",
            data={"need_id": need.id, "application_id": application.id},
        )
        for other in need.claims:
            if other.id != claim.id and other.state in (C.CLAIMED, C.CONSENTED):
                workflow.move(
                    session,
                    CLAIM,
                    other,
                    C.NOT_CHOSEN,
                    by="system",
                    actor_id=actor_id,
                    reason="企业选择了其他银行",
                    data={"need_id": need.id},
                )
                _tell_bank(
                    session,
                    other.bank_id,
                    need,
                    (
                        f"融资需求 {need.number}：企业选择了其他银行",
                        f"Need {need.number}: the enterprise chose another bank",
                    ),
                    ("", ""),
                )
        workflow.move(
            session,
            NEED,
            need,
            N.MATCHED,
            by="sme",
            actor_id=actor_id,
            reason=f"企业选定{claim.bank.name_zh}",
            data={"claim_id": claim.id, "application_id": application.id},
        )
        need.closed_at = utcnow()
        _tell_bank(
            session,
            claim.bank_id,
            need,
            (
                f"企业选择了贵行的方案（融资需求 {need.number}），推荐材料已发出",
                f"The enterprise chose your offer (need {need.number}); a referral was sent",
            ),
            (need.enterprise.name, need.enterprise.name),
        )
        referrals = refer_to_banks(
            session,
            application.id,
            actor_id=actor_id,  # type: ignore[arg-type]
            referrals=[ReferralRequest(claim.bank_id, version.id)],
            opinion=_opinion(need, claim),
            base_url=base_url,
            render=False,
            by="sme",
        )
    except ServiceError:
        session.rollback()
        raise
    claim.referral_id = referrals[0].id
    session.commit()
    from finportal.services import packets as packet_service

    packet_service.request_render(session, referrals[0], actor_id=actor_id, base_url=base_url)
    return application


def withdraw_need(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    need_id: int,
    reason: str = "",
) -> Need:
    """Withdraw a need still on the board; its open claims end with it (commits)."""
    need = get_for_enterprise(session, enterprise_id, need_id)
    text = limits.valid_text(reason, "reason", "reason") or "企业撤回融资需求"
    workflow.move(session, NEED, need, N.WITHDRAWN, by="sme", actor_id=actor_id, reason=text)
    need.closed_at = utcnow()
    for claim in need.claims:
        if claim.state in (C.CLAIMED, C.CONSENTED):
            workflow.move(
                session,
                CLAIM,
                claim,
                C.WITHDRAWN,
                by="system",
                actor_id=actor_id,
                reason="企业撤回融资需求",
                data={"need_id": need.id},
            )
            _tell_bank(
                session,
                claim.bank_id,
                need,
                (f"融资需求 {need.number} 已被企业撤回", f"Need {need.number} was withdrawn"),
                ("", ""),
            )
    _commit(session)
    return need


# --- escalation and the advisor ------------------------------------------------------------


def escalate_unclaimed(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Hand every open need past its claim clock to the advisors; a rerun does nothing.

    Each need is committed on its own: a need a bank claims at the same moment keeps the
    claim (its version changed; it is skipped here), and the others still go.
    """
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Need.id)
            .where(Need.state == N.OPEN, Need.claim_due_at <= now)
            .order_by(Need.claim_due_at, Need.id)
        )
    )
    session.commit()  # end the read before the writes (SQLite's single writer)
    handle_due = deadline(session, now, clocks.NEED_ADVISOR_WORKING_DAYS)
    escalated = skipped = 0
    for need_id in due:
        need = session.get(Need, need_id)
        if need is None or need.state != N.OPEN:
            skipped += 1
            continue
        workflow.move(
            session,
            NEED,
            need,
            N.ESCALATED,
            by="system",
            actor_id=None,
            reason=f"{clocks.NEED_CLAIM_WORKING_DAYS} 个工作日内无银行认领",
            data={"claim_due_at": need.claim_due_at.isoformat()},
        )
        need.escalated_at = now
        need.handle_due_at = need.handle_due_at or handle_due
        notifications.notify(
            session,
            enterprise_id=need.enterprise_id,
            title=(
                f"融资需求 {need.number} 暂无银行认领，已转交普惠金融顾问跟进",
                f"No bank claimed need {need.number}; an advisor follows it up",
            ),
            link=f"/sme/needs/{need.id}",
        )
        try:
            session.commit()
        except StaleDataError:
            session.rollback()  # a bank claimed it meanwhile: the claim stands
            skipped += 1
            continue
        escalated += 1
    result = {"escalated": escalated}
    if skipped:
        result["skipped"] = skipped
    return result


def escalated_page(session: Session, page: int = 1, *, advisor_id: int | None = None) -> Page:
    """Return one page of the needs with the advisors, oldest deadline first.

    With ``advisor_id`` the needs assigned to that advisor come first.
    """
    order: list[Any] = []
    if advisor_id is not None:
        order.append(case((Need.assigned_advisor_id == advisor_id, 0), else_=1))
    stmt = (
        select(Need).where(Need.state == N.ESCALATED).order_by(*order, Need.handle_due_at, Need.id)
    )
    return paginate(
        session, stmt, page=page, per_page=limits.PAGE_SIZE, options=(joinedload(Need.enterprise),)
    )


def get_for_advisor(session: Session, need_id: int) -> Need:
    """Return any need (the centre's advisors see every firm)."""
    need = (
        session.scalar(
            select(Need)
            .where(Need.id == need_id)
            .options(*_need_options())
            .execution_options(populate_existing=True)
        )
        if limits.check_id(need_id)
        else None
    )
    if need is None:
        raise NotFound.of("need")
    return need


def close_need(session: Session, *, actor_id: int | None, need_id: int, reason: str) -> Need:
    """Close an escalated need with a written reason the firm reads (commits)."""
    need = get_for_advisor(session, need_id)
    text = limits.valid_text(reason, "reason", "reason")
    if not text:
        raise ValidationFailed.marked(
            {
                "reason": t(
                    "请写明关闭原因，企业会看到这段说明。", "Write why; the enterprise reads it."
                )
            }
        )
    workflow.move(session, NEED, need, N.CLOSED, by="advisor", actor_id=actor_id, reason=text)
    need.closed_at = utcnow()
    need.assigned_advisor_id = need.assigned_advisor_id or actor_id
    notifications.notify(
        session,
        enterprise_id=need.enterprise_id,
        title=(
            f"融资需求 {need.number} 已由顾问关闭",
            f"Need {need.number} was closed by an advisor",
        ),
        body=(text, text),
        link=f"/sme/needs/{need.id}",
    )
    _commit(session)
    return need


# --- the products a bank lends under (admin) -----------------------------------------------


def set_bank_products(
    session: Session, *, actor_id: int | None, bank_id: int, product_ids: list[Any]
) -> list[Product]:
    """Set the catalogue products a bank lends under (which needs it sees); audited (commits)."""
    bank = session.get(Bank, bank_id) if limits.check_id(bank_id) else None
    if bank is None:
        raise NotFound.of("bank")
    wanted = {limits.check_id(p) for p in product_ids}
    rows = list(session.scalars(select(Product).where(Product.active.is_(True))))
    known = {p.id: p for p in rows}
    if None in wanted or not wanted <= set(known):
        raise ValidationFailed.marked(
            {"product_ids": t("所选产品不存在。", "Choose products from the list.")}
        )
    current = {
        bp.product_id: bp
        for bp in session.scalars(select(BankProduct).where(BankProduct.bank_id == bank.id))
    }
    before = sorted(known[i].code for i in current if i in known)
    for product_id, row in current.items():
        if product_id not in wanted:
            session.delete(row)
    for product_id in wanted - set(current):
        session.add(BankProduct(bank_id=bank.id, product_id=product_id))
    after = sorted(known[i].code for i in wanted if i is not None)
    record_event(
        session,
        actor_id=actor_id,
        action="bank.products_set",
        object_type="bank",
        object_id=bank.id,
        data={"before": before, "after": after},
    )
    session.commit()
    return [known[i] for i in sorted(wanted) if i is not None]


def amount_in_wan(value: Decimal) -> Decimal:
    """Return yuan as 万元 (for forms)."""
    return money.to_wan(value, None)
