"""Turn ORM records into the plain dicts that ``products`` and ``scoring`` take."""

from __future__ import annotations

from typing import Any

from finportal.models import Application, Enterprise
from finportal.models.enterprises import PROFILE_GROUPS

PROFILE_FIELDS = [
    f
    for group in PROFILE_GROUPS.values()
    for f in group
    if f not in ("park_codes", "chamber_codes")
]


def enterprise_profile(enterprise: Enterprise) -> dict[str, Any]:
    """Return the enterprise's profile with the field names both pure packages use."""
    profile: dict[str, Any] = {name: getattr(enterprise, name) for name in PROFILE_FIELDS}
    profile["certifications"] = list(enterprise.certifications or [])
    parks = sorted(m.park.code for m in enterprise.memberships if m.park is not None)
    chambers = sorted(m.chamber.code for m in enterprise.memberships if m.chamber is not None)
    profile["park_codes"] = parks
    profile["chamber_codes"] = chambers
    # scoring reads the same memberships under these names
    profile["park_memberships"] = parks
    profile["chamber_memberships"] = chambers
    return profile


def application_request(
    application: Application, batch_recommended: bool = False
) -> dict[str, Any]:
    """Return the request part of an application (amount in yuan, term in months)."""
    return {
        "amount": application.amount,
        "term_months": application.term_months,
        "purpose": application.purpose,
        "batch_recommended": batch_recommended,
    }
