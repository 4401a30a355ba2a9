"""One enterprise against every published product: eligibility with reasons and net cost.

Names and reasons are worded in the user's language (Chinese outside a request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

import products
from finportal import limits
from finportal.domain import fields as profile_fields
from finportal.services import catalog as catalog_service
from finportal.services.enterprises import get_enterprise
from finportal.services.errors import ValidationFailed
from finportal.services.profile_form import EDITABLE_FIELDS
from finportal.services.profiles import enterprise_profile
from finportal.services.workdays import today_local


@dataclass
class ProductMatch:
    """One product for the enterprise: eligibility, reasons and (when eligible) the quote."""

    code: str
    name: str
    eligible: bool
    demo: bool
    quote: products.Quote | None
    quote_error: str
    failed: list[str]
    unknown: list[str]
    passed: list[str]
    #: undecided conditions whose inputs are not on the profile form (a park's or chamber's
    #: recommendation, a membership, the application's amount, term or purpose)
    by_others: list[str] = field(default_factory=list)


#: Inputs of conditions that are not on the SME's profile form, and how they get settled.
NOT_ON_PROFILE = {
    "batch_recommended": (
        "需由所在园区/商会推荐（批次贷）",
        "needs a recommendation by your park or chamber (batch loans)",
    ),
    "park_codes": ("需由所在园区确认成员身份", "your park confirms the membership"),
    "chamber_codes": ("需由所在商会确认会员身份", "your chamber confirms the membership"),
    "amount": (
        "按申请金额判断（可在上方输入金额和期限比较）",
        "depends on the amount asked (enter an amount and a term above to compare)",
    ),
    "term_months": (
        "按申请期限判断（可在上方输入金额和期限比较）",
        "depends on the term asked (enter an amount and a term above to compare)",
    ),
    "purpose": ("按申请时选择的贷款用途判断", "depends on the purpose chosen when applying"),
}
#: Any other input the profile form lacks.
SETTLED_BY_CENTRE = ("由服务中心受理时确认", "the centre confirms it when it takes the application")


def _by_others(condition: Any) -> str | None:
    """Word an undecided condition whose inputs are not (all) on the profile form.

    The SME is never asked to fill in what its profile form does not have: a batch
    recommendation, a membership, or what the application itself says.
    """
    outside = [n for n in condition.missing_fields if n not in EDITABLE_FIELDS]
    if not outside:
        return None
    pairs = list(dict.fromkeys(NOT_ON_PROFILE.get(n, SETTLED_BY_CENTRE) for n in outside))
    inside = [n for n in condition.missing_fields if n in EDITABLE_FIELDS]
    parts_zh = [zh for zh, _en in pairs]
    parts_en = [en for _zh, en in pairs]
    if inside:
        parts_zh.insert(
            0,
            "请在企业信息中补充"
            + "、".join(f"「{profile_fields.label(n, 'zh_CN')}」" for n in inside),
        )
        parts_en.insert(
            0,
            "fill in "
            + ", ".join(f"'{profile_fields.label(n, 'en')}'" for n in inside)
            + " in the profile",
        )
    # The catalogue's own wording of the condition, without "please fill in ... to check".
    base_zh = condition.message_zh.split("以判断：", 1)[-1]
    base_en = condition.message_en.split(" to check: ", 1)[-1]
    text_en = "; ".join(parts_en)
    return limits.in_user_language(
        f"{'；'.join(parts_zh)}：{base_zh}", f"{text_en[:1].upper()}{text_en[1:]}: {base_en}"
    )


def _message(condition: Any) -> str:
    return limits.in_user_language(condition.message_zh, condition.message_en)


@dataclass(frozen=True)
class MatchingInputs:
    """What matching one enterprise against the published catalogue reads (matches, coach)."""

    catalog: products.Catalog
    profile: dict[str, Any]
    request: dict[str, Any]
    today: date
    lpr: Decimal


def matching_inputs(
    session: Session,
    enterprise_id: int | None,
    amount: Decimal | None = None,
    term_months: int | None = None,
) -> MatchingInputs:
    """Read the catalogue, the firm's effective profile, today and the LPR; the request asked."""
    enterprise = get_enterprise(session, enterprise_id)
    catalog, _versions = catalog_service.current_catalog(session)
    today = today_local()
    request: dict[str, Any] = {}
    if amount is not None:
        request["amount"] = amount
    if term_months is not None:
        request["term_months"] = term_months
    return MatchingInputs(
        catalog,
        enterprise_profile(enterprise),
        request,
        today,
        catalog_service.current_lpr(session, today),
    )


def profile_refused(exc: products.ProfileError) -> ValidationFailed:
    """Return the error a profile the matcher cannot read gives the user."""
    return ValidationFailed(
        f"企业信息有误，无法匹配：{exc}", f"The profile cannot be matched: {exc}"
    )


def match_products(
    session: Session,
    enterprise_id: int | None,
    amount: Decimal | None = None,
    term_months: int | None = None,
) -> list[ProductMatch]:
    """Match the enterprise with the published catalogue; quote the amount and term given.

    Eligible products come first, in the one cost ranking of the catalogue matcher
    (:func:`products.cost_rank`: effective annual cost, then net cost; :func:`by_cost`).
    Without an amount or a term each product is quoted at its own example amount and term.
    """
    job = matching_inputs(session, enterprise_id, amount, term_months)
    try:
        results = products.match_one(
            job.catalog, job.profile, job.request or None, lpr=job.lpr, today=job.today
        )
    except products.ProfileError as exc:
        raise profile_refused(exc) from exc
    out = []
    for result in results:
        conditions = result.evaluation.conditions
        error = limits.pair(result.quote_error) if result.quote_error else ""
        out.append(
            ProductMatch(
                code=result.product.code,
                name=limits.in_user_language(
                    result.product.name_zh, result.product.name_en or result.product.name_zh
                ),
                eligible=result.eligible,
                demo=result.product.demo,
                quote=result.quote,
                quote_error=error,
                failed=[_message(c) for c in conditions if c.result == "failed"],
                unknown=[
                    _message(c)
                    for c in conditions
                    if c.result == "unknown" and _by_others(c) is None
                ],
                passed=[_message(c) for c in conditions if c.result == "passed"],
                by_others=[
                    text
                    for c in conditions
                    if c.result == "unknown" and (text := _by_others(c)) is not None
                ],
            )
        )
    return out


def by_cost(result: ProductMatch) -> tuple[bool, tuple[Decimal, Decimal]]:
    """Sort key of the one ranking of eligible products (:func:`products.cost_rank`).

    The effective annual cost (IRR of the net cash flows), then the net cost: fair across
    repayment methods. The comparison table, the cards, the stored matches (application
    page, review, packet) and the API all rank by it; unquoted products go last.
    """
    quote = result.quote
    if quote is None:
        return (True, (Decimal(0), Decimal(0)))
    return (False, products.cost_rank(quote))
