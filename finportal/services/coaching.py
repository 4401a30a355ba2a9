"""The near-miss coach for one firm (信用修复主动告知): what to change to qualify, and the saving.

The rule lives in ``products.coach`` (vectorised over the catalogue); this module reads the
firm's profile, the published catalogue, the LPR and the parks and chambers it could join,
and words the result in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

import products
from finportal import limits
from finportal.models import Chamber, Park
from finportal.services.matches import matching_inputs, profile_refused
from products.coach import RepairPath, Suggestion, coach


@dataclass(frozen=True)
class RepairView:
    """A repair path in the user's language."""

    key: str
    title: str
    steps: list[str]
    where: str
    url: str


@dataclass(frozen=True)
class StepView:
    """One step in the user's language: what is wrong, what to do, and how to repair."""

    condition_id: str
    problem: str
    action: str
    repair: RepairView | None


@dataclass(frozen=True)
class NearMiss:
    """A product the firm nearly qualifies for, as a page shows it."""

    code: str
    name: str
    steps: list[StepView]
    quote: products.Quote | None
    quote_error: str
    #: What the loan would cost less than the cheapest one open now (None: no comparison).
    saving: Decimal | None
    suggestion: Suggestion


def _repair(path: RepairPath | None) -> RepairView | None:
    if path is None:
        return None
    zh = limits.in_user_language("zh", "en") == "zh"
    return RepairView(
        key=path.key,
        title=path.title_zh if zh else path.title_en,
        steps=list(path.steps_zh if zh else path.steps_en),
        where=path.where_zh if zh else path.where_en,
        url=path.url,
    )


def organisations(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Return the active parks and chambers a firm could join, as (code, name) by code."""
    parks = session.execute(
        select(Park.code, Park.name_zh, Park.name_en).where(Park.active).order_by(Park.code)
    ).all()
    chambers = session.execute(
        select(Chamber.code, Chamber.name_zh, Chamber.name_en)
        .where(Chamber.active)
        .order_by(Chamber.code)
    ).all()
    return {
        "park_codes": [(c, limits.in_user_language(zh, en or zh)) for c, zh, en in parks],
        "chamber_codes": [(c, limits.in_user_language(zh, en or zh)) for c, zh, en in chambers],
    }


def near_misses(
    session: Session,
    enterprise_id: int | None,
    amount: Decimal | None = None,
    term_months: int | None = None,
    baseline: products.Quote | None = None,
    only: str | None = None,
) -> list[NearMiss]:
    """Return the products the enterprise nearly qualifies for, fewest steps first.

    ``baseline`` is the cheapest quote the firm can have now (the matches page's first
    eligible product), for the saving; ``only`` keeps one product (its page).
    """
    job = matching_inputs(session, enterprise_id, amount, term_months)
    try:
        found = coach(
            job.catalog,
            job.profile,
            job.request,
            lpr=job.lpr,
            today=job.today,
            organisations=organisations(session),
            baseline=baseline,
        )
    except products.ProfileError as exc:
        raise profile_refused(exc) from exc
    out = []
    for item in found:
        if only is not None and item.product.code != only:
            continue
        product = item.product
        out.append(
            NearMiss(
                code=product.code,
                name=limits.in_user_language(product.name_zh, product.name_en or product.name_zh),
                steps=[
                    StepView(
                        condition_id=s.condition_id,
                        problem=limits.in_user_language(s.problem_zh, s.problem_en),
                        action=limits.in_user_language(s.action_zh, s.action_en),
                        repair=_repair(s.repair),
                    )
                    for s in item.steps
                ],
                quote=item.quote,
                quote_error=limits.pair(item.quote_error) if item.quote_error else "",
                saving=item.saving,
                suggestion=item,
            )
        )
    return out
