"""Enterprises: finding one, the parks and chambers, memberships confirmed by them, size class."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import products
from finportal import limits
from finportal.models import Chamber, Enterprise, Membership, Park
from finportal.services.audit import record_event
from finportal.services.errors import NotFound
from products.sizes import SIZE_EN, SIZE_ZH

#: What the profile page and the Excel report say of memberships.
MEMBERSHIP_NOTE = "由园区/商会或服务中心确认"
#: Size classes (工信部联企业〔2011〕300号) as pages name them. (zh, en)
SIZE_LABELS = {code: (SIZE_ZH[code], SIZE_EN[code]) for code in SIZE_ZH}
NO_SIZE = ("无法划型", "Size class unknown")


def get_enterprise(session: Session, enterprise_id: int | None) -> Enterprise:
    """Return the actor's enterprise or raise ``NotFound``."""
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id else None
    if enterprise is None:
        raise NotFound.of("enterprise")
    return enterprise


def organisations(session: Session) -> dict[str, list[Any]]:
    """Return the active parks and chambers an SME can say it belongs to."""
    return {
        "parks": list(session.scalars(select(Park).where(Park.active.is_(True)).order_by(Park.id))),
        "chambers": list(
            session.scalars(select(Chamber).where(Chamber.active.is_(True)).order_by(Chamber.id))
        ),
    }


def apply_memberships(
    session: Session, enterprise: Enterprise, park_codes: list[str], chamber_codes: list[str]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    orgs = organisations(session)
    parks = {p.code: p for p in orgs["parks"]}
    chambers = {c.code: c for c in orgs["chambers"]}
    # Names are accepted too (the Excel template lists them).
    parks.update({p.name_zh: p for p in orgs["parks"]})
    chambers.update({c.name_zh: c for c in orgs["chambers"]})
    unknown_parks = [c for c in park_codes if c not in parks]
    unknown_chambers = [c for c in chamber_codes if c not in chambers]
    if unknown_parks:
        errors["park_codes"] = "未知的园区：" + "、".join(unknown_parks)
    if unknown_chambers:
        errors["chamber_codes"] = "未知的商会：" + "、".join(unknown_chambers)
    if errors:
        return errors
    want_parks = {parks[c].id for c in park_codes}
    want_chambers = {chambers[c].id for c in chamber_codes}
    for membership in list(enterprise.memberships):
        unwanted_park = membership.park_id and membership.park_id not in want_parks
        unwanted_chamber = membership.chamber_id and membership.chamber_id not in want_chambers
        if unwanted_park or unwanted_chamber:
            enterprise.memberships.remove(membership)
    have_parks = {m.park_id for m in enterprise.memberships if m.park_id}
    have_chambers = {m.chamber_id for m in enterprise.memberships if m.chamber_id}
    for park_id in sorted(want_parks - have_parks):
        enterprise.memberships.append(Membership(park_id=park_id))
    for chamber_id in sorted(want_chambers - have_chambers):
        enterprise.memberships.append(Membership(chamber_id=chamber_id))
    return {}


def set_memberships(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    park_codes: list[str],
    chamber_codes: list[str],
) -> list[str]:
    """Record the parks and chambers an enterprise belongs to, as confirmed by them or the centre.

    Not for the SME (:data:`MEMBERSHIP_NOTE`); codes or Chinese names. Audited; commits.
    """
    from finportal.services.profile_form import apply_profile

    enterprise = get_enterprise(session, enterprise_id)
    changed = apply_profile(
        session, enterprise, {"park_codes": park_codes, "chamber_codes": chamber_codes}
    )
    record_event(
        session,
        actor_id=actor_id,
        action="enterprise.memberships_confirmed",
        object_type="enterprise",
        object_id=enterprise.id,
        data={"park_codes": list(park_codes), "chamber_codes": list(chamber_codes)},
    )
    session.commit()
    if changed:  # wip-13p: 政策找企业 — match the firm again (park batches read memberships)
        from finportal.services import push

        push.rematch_later(session, enterprise.id, actor_id=actor_id)
    return changed


def size_class_of(enterprise: Enterprise) -> dict[str, Any]:
    """Return the derived size class with its label and the rule that decided it."""
    try:
        result = products.size_class(
            enterprise.industry_code,
            enterprise.employees,
            enterprise.revenue_last_year,
            enterprise.total_assets,
        )
    except products.ProfileError as exc:
        return {"code": None, "label": limits.in_user_language(*NO_SIZE), "rule": str(exc)}
    return {
        "code": result.size_class,
        "label": limits.in_user_language(*SIZE_LABELS.get(result.size_class or "", NO_SIZE)),
        "rule": limits.in_user_language(result.rule_zh, result.rule_en),
    }
