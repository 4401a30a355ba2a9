"""Renewals (续贷, 无还本续贷): the pre-check of a running loan, the pre-filled application and
the same bank first.

- **Which products renew a loan** is read from the catalogue: a product with a condition on
  the loan's days to maturity (``loan_maturing_within_days``) is a renewal product
  (today ``renewal``, 续贷 / 无还本续贷); an admin who publishes another one adds nothing here.
- **The pre-check** (:func:`precheck`) runs the catalogue's eligibility (``products``) and the
  champion credit model (``services/credit``) on the firm's current profile, with the loan's
  facts as the bank reported them (days to maturity, a loan on record, its balance when the
  profile has none), and says whether a renewal product fits and why.
- **The renewal application** is pre-filled from the running loan (:func:`prefill`) and
  remembers it (``models.Renewal``); when submitted, its frozen profile
  carries the loan's facts (:func:`add_loan_facts`); the advisor's referral goes to the bank
  that lent first when a renewal product fits and the firm consented to it
  (:func:`bank_plan`, :func:`require_same_bank_first`); otherwise the page says why not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import products
import scoring
from finportal import limits
from finportal.domain import fields as profile_fields
from finportal.domain.states import APPLICATION
from finportal.models import (
    Application,
    Bank,
    Enterprise,
    Match,
    ProductVersion,
    Referral,
    Renewal,
)
from finportal.services import catalog as catalog_service
from finportal.services import consents, credit, maturities
from finportal.services.errors import NotFound, ValidationFailed
from finportal.services.maturities import Loan
from finportal.services.profiles import enterprise_profile, enterprise_profiles

#: The application's purpose of a renewal (``services/labels.PURPOSES``).
PURPOSE = "renewal"
#: The condition field that makes a product a renewal product.
MATURITY_FIELD = maturities.TYPED_FIELD
#: How many of the score's reasons the pre-check shows.
REASONS_SHOWN = 3

Words = tuple[str, str]


def is_renewal_product(product: products.Product) -> bool:
    """Tell whether a catalogue product renews a loan (a condition reads the days to maturity)."""
    return any(leaf.field == MATURITY_FIELD for c in product.conditions for leaf in c.leaves)


def renewal_products(catalog: Iterable[products.Product]) -> list[products.Product]:
    """Return the catalogue's renewal products, in catalogue order."""
    return [p for p in catalog if is_renewal_product(p)]


# --- the loan's facts ------------------------------------------------------------------------


def loan_facts(loan: Loan, profile: Mapping[str, Any], today: date) -> dict[str, Any]:
    """Return the profile values the running loan settles (the caller lays them over the profile).

    Days to maturity come from the loan (the bank's events, or the SME's figure counted to
    today); a bank-reported loan also means the firm has borrowed, and its disbursed amount
    stands in for a balance the profile leaves empty or at zero.
    """
    facts: dict[str, Any] = {MATURITY_FIELD: max(loan.days_left(today), 0)}
    if loan.source == "bank":
        facts["has_bank_loan_history"] = True
        if not profile.get("existing_loan_balance") and loan.amount:
            facts["existing_loan_balance"] = loan.amount
    return facts


def with_loan_facts(
    profile: Mapping[str, Any], loan: Loan, today: date
) -> tuple[dict[str, Any], list[str]]:
    """Return the profile with the loan's facts laid over it and the names that changed."""
    facts = loan_facts(loan, profile, today)
    changed = [name for name, value in facts.items() if profile.get(name) != value]
    return {**profile, **facts}, changed


def renewal_term(loan: Loan, product: products.Product | None) -> int | None:
    """Return the renewal's term: the loan's, brought inside the product's term range."""
    term = loan.term_months
    if term is None or product is None:
        return term
    return min(max(term, int(product.term_min.value)), int(product.term_max.value))


def renewal_request(loan: Loan, product: products.Product | None = None) -> dict[str, Any]:
    """Return the request of renewing the loan: its amount, its term (inside the product's
    range: a renewal is a new term, chosen within it), purpose renewal."""
    request: dict[str, Any] = {"purpose": PURPOSE}
    if loan.amount:
        request["amount"] = loan.amount
    term = renewal_term(loan, product)
    if term:
        request["term_months"] = term
    return request


# --- the pre-check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFit:
    """One renewal product for the loan: whether it fits and the reasons."""

    code: str
    name: Words
    eligible: bool
    demo: bool
    failed: tuple[Words, ...] = ()
    unknown: tuple[Words, ...] = ()
    passed: tuple[Words, ...] = ()


@dataclass(frozen=True)
class PreCheck:
    """The renewal pre-check of one running loan on one day."""

    as_of: date
    days_left: int
    products: tuple[ProductFit, ...]
    #: {"score", "grade", "pd", "reasons": [(zh, en), ...], "synthetic"} or None
    score: dict[str, Any] | None
    #: Why there is no score (no model, too little data), when there is none.
    score_note: Words = ("", "")
    #: Profile fields the loan's record settled (shown as such).
    from_loan: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fits(self) -> bool:
        """Tell whether some renewal product fits."""
        return any(p.eligible for p in self.products)

    @property
    def fitting(self) -> list[ProductFit]:
        """Return the renewal products that fit."""
        return [p for p in self.products if p.eligible]

    def summary(self) -> Words:
        """Word the result in one paragraph (中文, English), for reminders."""
        if not self.products:
            zh = "续贷预检：产品目录中暂无续贷产品。"
            en = "Renewal pre-check: the catalogue has no renewal product."
        elif self.fits:
            names_zh = "、".join(f"「{p.name[0]}」" for p in self.fitting)
            names_en = ", ".join(p.name[1] for p in self.fitting)
            zh = f"续贷预检：符合{names_zh}的条件。"
            en = f"Renewal pre-check: you meet the conditions of {names_en}."
        else:
            reasons = [r for p in self.products for r in (*p.failed, *p.unknown)]
            zh = "续贷预检：暂不符合续贷产品的条件——" + "；".join(r[0] for r in reasons) + "。"
            en = "Renewal pre-check: no renewal product fits yet — " + "; ".join(
                r[1] for r in reasons
            )
            en += "."
        if self.score is not None:
            zh += f"信用评分 {self.score['score']}（等级 {self.score['grade']}）"
            en += f" Credit score {self.score['score']} (grade {self.score['grade']})"
            if self.score["reasons"]:
                zh += "，主要因素：" + "；".join(r[0] for r in self.score["reasons"])
                en += "; main factors: " + "; ".join(r[1] for r in self.score["reasons"])
            zh += "。"
            en += "."
        elif self.score_note[0]:
            zh += self.score_note[0]
            en += " " + self.score_note[1]
        return zh, en


@dataclass
class Context:
    """What every pre-check of one run reads once: the catalogue, the LPR and the model."""

    catalog: products.Catalog
    versions: dict[str, ProductVersion]
    model: scoring.CreditModel | None
    synthetic: bool = False


def context(session: Session) -> Context:
    """Read the published catalogue and the champion model once for many pre-checks."""
    catalog, versions = catalog_service.current_catalog(session)
    row = credit.champion(session)
    return Context(
        catalog=catalog,
        versions=versions,
        model=credit.load(row) if row is not None else None,
        synthetic=bool(row is not None and row.synthetic),
    )


def _words(message_zh: str, message_en: str) -> Words:
    return (message_zh, message_en or message_zh)


def _score(
    ctx: Context, profile: Mapping[str, Any], request: dict[str, Any], today: date
) -> tuple[dict[str, Any] | None, Words]:
    if ctx.model is None:
        return None, ("尚无启用的评分模型，未评分。", "No credit model is active; not scored.")
    result = credit.score_features(ctx.model, credit.features_for(dict(profile), request, today))
    if result["status"] != "scored":
        return None, (
            "企业信息不足，未评分（请补充企业信息）。",
            "Too little information to score (complete the profile).",
        )
    return {
        "score": int(result["score"]),
        "grade": str(result["grade"]),
        "pd": float(result["pd"]),
        "reasons": [
            _words(r.get("text_zh", ""), r.get("text_en", ""))
            for r in result["reasons"][:REASONS_SHOWN]
        ],
        "synthetic": ctx.synthetic,
    }, ("", "")


def precheck(
    session: Session,
    loan: Loan,
    *,
    today: date,
    enterprise: Enterprise | None = None,
    ctx: Context | None = None,
    profile: Mapping[str, Any] | None = None,
) -> PreCheck:
    """Run the renewal pre-check of a running loan on the firm's current profile.

    ``profile``: the firm's effective profile when the caller read it (:func:`prechecks`).
    """
    ctx = ctx or context(session)
    enterprise = enterprise or session.get(Enterprise, loan.enterprise_id)
    assert enterprise is not None
    profile, changed = with_loan_facts(
        enterprise_profile(enterprise) if profile is None else profile, loan, today
    )
    candidates = renewal_products(ctx.catalog)
    fits = []
    for product in candidates:
        request = renewal_request(loan, product)
        evaluation = products.evaluate(product, profile, request, today=today)
        fits.append(
            ProductFit(
                code=product.code,
                name=_words(product.name_zh, product.name_en),
                eligible=evaluation.eligible,
                demo=product.demo,
                failed=tuple(
                    _words(c.message_zh, c.message_en)
                    for c in evaluation.conditions
                    if c.result == "failed"
                ),
                unknown=tuple(
                    _words(c.message_zh, c.message_en)
                    for c in evaluation.conditions
                    if c.result == "unknown" and c.required
                ),
                passed=tuple(
                    _words(c.message_zh, c.message_en)
                    for c in evaluation.conditions
                    if c.result == "passed"
                ),
            )
        )
    chosen = next((p for p, f in zip(candidates, fits, strict=True) if f.eligible), None)
    score, note = _score(
        ctx, profile, renewal_request(loan, chosen or next(iter(candidates), None)), today
    )
    return PreCheck(
        as_of=today,
        days_left=loan.days_left(today),
        products=tuple(fits),
        score=score,
        score_note=note,
        from_loan=tuple(changed),
    )


def prechecks(session: Session, loans: Iterable[Loan], *, today: date) -> dict[str, PreCheck]:
    """Return the pre-check of each loan by its key (the catalogue and model read once)."""
    loans = list(loans)
    if not loans:
        return {}
    ctx = context(session)
    firms = {
        e.id: e
        for e in session.scalars(
            select(Enterprise).where(Enterprise.id.in_({loan.enterprise_id for loan in loans}))
        )
    }
    profiles = enterprise_profiles(session, firms.values())
    return {
        loan.key: precheck(
            session,
            loan,
            today=today,
            enterprise=firms[loan.enterprise_id],
            ctx=ctx,
            profile=profiles[loan.enterprise_id],
        )
        for loan in loans
    }


# --- the renewal application ------------------------------------------------------------------


@dataclass(frozen=True)
class Prefill:
    """The new-application form's values for renewing a loan, and what was adjusted."""

    values: dict[str, Any]
    loan: Loan
    check: PreCheck
    notes: tuple[Words, ...] = ()


def _wan(value: Decimal) -> str:
    from finportal.services.profile_form import yuan_to_wan

    return yuan_to_wan(value)


def prefill(session: Session, enterprise_id: int | None, key: str, *, today: date) -> Prefill:
    """Return the form values of renewing one of the firm's running loans.

    Amount and term are the loan's (the term brought inside the fitting renewal product's
    range, saying so), the purpose is renewal, the product the first renewal product that fits,
    and the consent goes to the bank that lent.
    """
    loan = maturities.get_loan(session, enterprise_id, key, today=today)
    ctx = context(session)
    check = precheck(session, loan, today=today, ctx=ctx)
    chosen = next((ctx.catalog.get(p.code) for p in check.fitting), None)
    notes: list[Words] = []
    amount = loan.amount
    term = renewal_term(loan, chosen)
    if chosen is not None:
        # A product that fits took the loan's amount; its term range may differ.
        tlow, thigh = int(chosen.term_min.value), int(chosen.term_max.value)
        if term != loan.term_months:
            notes.append(
                (
                    f"原贷款期限 {loan.term_months} 个月不在{chosen.name_zh}的期限范围"
                    f"（{tlow}–{thigh} 个月）内，已按 {term} 个月预填。",
                    f"The loan's term of {loan.term_months} months is outside the range of"
                    f" {chosen.name_en or chosen.name_zh} ({tlow}–{thigh} months);"
                    f" {term} months is filled in.",
                )
            )
    else:
        notes.append(
            (
                "续贷预检显示暂无符合条件的续贷产品，申请将由服务中心匹配产品。",
                "The pre-check found no renewal product that fits; the centre will match"
                " a product.",
            )
        )
    return Prefill(
        check=check,
        values={
            "renews": loan.key,
            "amount": _wan(amount) if amount is not None else "",
            "term_months": str(term) if term is not None else "",
            "purpose": PURPOSE,
            "product_code": chosen.code if chosen is not None else "",
            "consent_bank_ids": [str(loan.bank_id)] if loan.bank_id is not None else [],
        },
        loan=loan,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class Banner:
    """What the renewal form says about the loan it renews (and what was adjusted)."""

    loan: Loan
    notes: tuple[Words, ...] = ()


def form_banner(
    session: Session, enterprise_id: int | None, key: str, *, today: date
) -> Banner | None:
    """Return the renewal form's banner for a loan key (None: no key, or no such loan)."""
    if not key:
        return None
    try:
        found = prefill(session, enterprise_id, key, today=today)
    except NotFound:
        return None
    return Banner(loan=found.loan, notes=found.notes)


def renewed_referral_id(
    session: Session, enterprise_id: int, key: str | None, *, today: date
) -> int | None:
    """Return the referral of the bank-reported loan an application form renews (or None).

    An empty key is an ordinary application; a key of a loan the firm does not have
    (repaid meanwhile, or another firm's) is refused beside the form.
    """
    if not key:
        return None
    try:
        loan = maturities.get_loan(session, enterprise_id, key, today=today)
    except NotFound as exc:  # say it beside the form, keeping what was typed
        raise ValidationFailed(
            "要续贷的贷款不存在或已结清，请从“我的贷款”重新发起续贷申请。",
            "The loan to renew does not exist or is repaid; start again from My loans.",
            fields={
                "_form": limits.in_user_language(
                    "要续贷的贷款不存在或已结清，请从“我的贷款”重新发起续贷申请。",
                    "The loan to renew does not exist or is repaid; start again from My loans.",
                )
            },
        ) from exc
    return loan.referral_id


def link(session: Session, application: Application, referral_id: int) -> Renewal:
    """Record that the application renews the referral's loan (the caller commits)."""
    row = Renewal(application_id=application.id, referral_id=referral_id)
    session.add(row)
    return row


def renewed_referral(session: Session, application_id: int) -> int | None:
    """Return the referral whose loan the application renews (None: not a renewal)."""
    row = session.get(Renewal, application_id)
    return row.referral_id if row is not None else None


def renewed_bank(session: Session, application_id: int) -> Bank | None:
    """Return the bank whose loan the application renews (None: not a renewal)."""
    referral_id = renewed_referral(session, application_id)
    referral = session.get(Referral, referral_id) if referral_id is not None else None
    return referral.bank if referral is not None else None


def open_renewals(session: Session, referral_ids: Iterable[int]) -> dict[int, Application]:
    """Return the latest renewal application still open (not ended) per renewed referral."""
    ids = list(referral_ids)
    found: dict[int, Application] = {}
    if ids:
        rows = session.execute(
            select(Renewal.referral_id, Application)
            .join(Application, Application.id == Renewal.application_id)
            .where(
                Renewal.referral_id.in_(ids),
                Application.state.not_in(APPLICATION.tagged("ended")),
            )
            .order_by(Application.created_at, Application.id)
        )
        for referral_id, application in rows:
            found[referral_id] = application  # the latest wins
    return found


def add_loan_facts(session: Session, application: Application, *, today: date) -> None:
    """Lay the renewed loan's facts over a renewal application's frozen profile.

    Called when the application is submitted: screening, the advisor, the packet and the
    bank read the days to maturity as the bank's events give them on that day; the fields
    so set are listed under ``from_loan`` of the snapshot.
    """
    referral_id = renewed_referral(session, application.id) if application.id else None
    if referral_id is None or not application.profile_snapshot:
        return
    loan = maturities.loan_of_referral(session, referral_id)
    if loan is None:
        return
    snapshot = dict(application.profile_snapshot)
    plain = dict(snapshot.get("profile") or {})
    live = {n: profile_fields.from_plain(n, v) for n, v in plain.items()}
    facts = loan_facts(loan, live, today)
    for name, value in facts.items():
        plain[name] = profile_fields.to_plain(name, value)
    snapshot["profile"] = plain
    snapshot["from_loan"] = {"referral_id": loan.referral_id, "fields": sorted(facts)}
    application.profile_snapshot = snapshot


# --- the same bank first ---------------------------------------------------------------------


@dataclass(frozen=True)
class BankPlan:
    """Where a renewal application's referral goes first, and why."""

    referral_id: int
    bank_id: int
    bank_name: Words
    #: The renewal product version to refer (eligible in the application's matches).
    product_version_id: int | None
    product_name: Words
    #: True when the lending bank must get the first referral.
    first: bool
    explanation: Words


def _renewal_matches(session: Session, application_id: int) -> list[tuple[Match, products.Product]]:
    rows = session.scalars(
        select(Match)
        .where(Match.application_id == application_id)
        .options(catalog_service.eager_version(Match.product_version))
        .order_by(Match.rank, Match.id)
    )
    found = []
    for match in rows:
        product = catalog_service.product_of(match.product_version)
        if is_renewal_product(product):
            found.append((match, product))
    return found


def bank_plan(session: Session, application: Application) -> BankPlan | None:
    """Return where a renewal application goes first (None for other applications)."""
    referral_id = renewed_referral(session, application.id)
    if referral_id is None:
        return None
    referral = session.get(Referral, referral_id)
    if referral is None:
        return None
    bank = referral.bank
    bank_name = _words(bank.name_zh, bank.name_en)
    matches = _renewal_matches(session, application.id)
    fitting = [(m, p) for m, p in matches if m.eligible]
    if not fitting:
        reasons_zh = [
            c.get("message_zh", "")
            for m, _p in matches
            for c in (m.conditions or [])
            if c.get("result") == "failed"
        ]
        reasons_en = [
            c.get("message_en", "")
            for m, _p in matches
            for c in (m.conditions or [])
            if c.get("result") == "failed"
        ]
        why_zh = "；".join(reasons_zh) or "未完成匹配或目录中没有续贷产品"
        why_en = "; ".join(reasons_en) or "not matched yet, or no renewal product in the catalogue"
        return BankPlan(
            referral_id=referral.id,
            bank_id=bank.id,
            bank_name=bank_name,
            product_version_id=None,
            product_name=("", ""),
            first=False,
            explanation=(
                f"续贷产品不符合条件（{why_zh}），不必先推荐给原贷款银行{bank.name_zh}，"
                "可按匹配结果推荐其他产品或银行。",
                f"No renewal product fits ({why_en}), so the lending bank"
                f" {bank.name_en or bank.name_zh} need not come first; refer another product"
                " or bank from the matches.",
            ),
        )
    match, product = fitting[0]
    product_name = _words(product.name_zh, product.name_en)
    if consents.for_application(session, application.id, bank.id) is None:
        return BankPlan(
            referral_id=referral.id,
            bank_id=bank.id,
            bank_name=bank_name,
            product_version_id=match.product_version_id,
            product_name=product_name,
            first=False,
            explanation=(
                f"企业未授权原贷款银行{bank.name_zh}查看本次申请，不能先推荐给该行；"
                "可推荐给企业已授权的其他银行。",
                f"The enterprise gave the lending bank {bank.name_en or bank.name_zh} no consent"
                " for this application, so it cannot come first; refer a bank it consented to.",
            ),
        )
    return BankPlan(
        referral_id=referral.id,
        bank_id=bank.id,
        bank_name=bank_name,
        product_version_id=match.product_version_id,
        product_name=product_name,
        first=True,
        explanation=(
            f"续贷申请先推荐给原贷款银行{bank.name_zh}（{product.name_zh}符合条件）；"
            "该行反馈后可再推荐给其他银行。",
            f"A renewal goes to the lending bank {bank.name_en or bank.name_zh} first"
            f" ({product.name_en or product.name_zh} fits); other banks may follow once it"
            " has answered.",
        ),
    )


def require_same_bank_first(
    session: Session,
    application: Application,
    bank_ids: Iterable[int],
    existing: Iterable[Referral],
) -> None:
    """Refuse a renewal's first referral that leaves out the bank that lent, when it fits."""
    plan = bank_plan(session, application)
    if plan is None or not plan.first:
        return
    if plan.bank_id in set(bank_ids) or any(r.bank_id == plan.bank_id for r in existing):
        return
    message = (
        f"续贷申请须先推荐给原贷款银行{plan.bank_name[0]}（{plan.product_name[0]}符合条件）。",
        f"A renewal goes to the lending bank {plan.bank_name[1]} first"
        f" ({plan.product_name[1]} fits).",
    )
    raise ValidationFailed(
        message[0], message[1], fields={"banks": limits.in_user_language(*message)}
    )
