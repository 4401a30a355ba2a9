"""Turn ORM records into the plain dicts that ``products`` and ``scoring`` take, and freeze them.

An application keeps the profile it was submitted with (:func:`freeze`): screening, the
advisor's review, the packet and the API read that snapshot (:func:`submitted_profile`), so
what a bank receives is what the advisor saw, even if the firm edits its profile later;
:func:`changes_since` shows what changed in the live profile since.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, object_session

from finportal.domain import fields as profile_fields
from finportal.models import Application, Enterprise, utcnow

#: Memberships are read from the enterprise's memberships, not columns.
_MEMBERSHIPS = ("park_codes", "chamber_codes")
#: The profile fields that are columns of the enterprise.
PROFILE_FIELDS = [n for n in profile_fields.fields() if n not in _MEMBERSHIPS]


def enterprise_profile(
    enterprise: Enterprise, verified: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the enterprise's live, effective profile (the names both pure packages use).

    The one reader of a firm's values: what it declared, with the values verified from
    public data it authorised laid over them (``services/public_data/facts.py``), so
    matching, scoring and packets see the verified figure. :func:`declared_profile` is the
    firm's own values only (its form shows those). ``verified`` is the firm's verified
    values when the caller read them already (:func:`enterprise_profiles` for a list).
    """
    profile = declared_profile(enterprise)
    if verified is None:
        session = object_session(enterprise)
        if session is not None and enterprise.id is not None:
            from finportal.services.public_data.facts import verified_values

            verified = verified_values(session, enterprise.id)
    profile.update(verified or {})
    return profile


def enterprise_profiles(
    session: Session, enterprises: Iterable[Enterprise]
) -> dict[int, dict[str, Any]]:
    """Return {enterprise id: effective profile} of many firms, verified values in one statement."""
    from finportal.services.public_data.facts import verified_values_of_many

    firms = list(enterprises)
    verified = verified_values_of_many(session, [e.id for e in firms]) if firms else {}
    return {e.id: enterprise_profile(e, verified.get(e.id, {})) for e in firms}


def declared_profile(enterprise: Enterprise) -> dict[str, Any]:
    """Return the enterprise's live profile as the firm declared it (no verified values)."""
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


def membership_names(enterprise: Enterprise) -> dict[str, list[str]]:
    """Return the names of the enterprise's parks and chambers (for pages and packets)."""
    return {
        "parks": sorted(m.park.name_zh for m in enterprise.memberships if m.park is not None),
        "chambers": sorted(
            m.chamber.name_zh for m in enterprise.memberships if m.chamber is not None
        ),
    }


def freeze(enterprise: Enterprise) -> dict[str, Any]:
    """Return the enterprise's profile as plain data, to keep with a submitted application."""
    live = enterprise_profile(enterprise)
    session = object_session(enterprise)
    verified: dict[str, Any] = {}
    if session is not None and enterprise.id is not None:
        from finportal.services.public_data.facts import snapshot

        verified = snapshot(session, enterprise)
    return {
        "taken_at": utcnow().isoformat(),
        "profile": {n: profile_fields.to_plain(n, live.get(n)) for n in profile_fields.fields()},
        "memberships": membership_names(enterprise),
        # issue 14: the verified facts behind the profile (source, as-of date, import).
        "verified": verified,
    }


def submitted_verified(application: Application) -> dict[str, Any]:
    """Return the verified facts the application was submitted with (live ones before)."""
    if application.profile_snapshot:
        return dict(application.profile_snapshot.get("verified") or {})
    session = object_session(application)
    if session is None:
        return {}
    from finportal.services.public_data.facts import snapshot

    return snapshot(session, application.enterprise)


def thaw(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Return a frozen profile in the typed form of :func:`enterprise_profile`."""
    plain = snapshot.get("profile") or {}
    profile = {n: profile_fields.from_plain(n, plain.get(n)) for n in profile_fields.fields()}
    profile["certifications"] = list(profile.get("certifications") or [])
    profile["park_codes"] = list(profile.get("park_codes") or [])
    profile["chamber_codes"] = list(profile.get("chamber_codes") or [])
    profile["park_memberships"] = profile["park_codes"]
    profile["chamber_memberships"] = profile["chamber_codes"]
    return profile


def submitted_profile(application: Application) -> dict[str, Any]:
    """Return the profile the application was submitted with (the live one before submission)."""
    if application.profile_snapshot:
        return thaw(application.profile_snapshot)
    return enterprise_profile(application.enterprise)


def submitted_profiles(
    session: Session, applications: Iterable[Application]
) -> dict[int, dict[str, Any]]:
    """Return {application id: :func:`submitted_profile`} of many applications.

    The live profiles of the ones not yet submitted (no frozen profile) are read together
    (:func:`enterprise_profiles`: the verified values of all their firms in one statement).
    """
    apps = list(applications)
    live = enterprise_profiles(
        session, {a.enterprise_id: a.enterprise for a in apps if not a.profile_snapshot}.values()
    )
    return {
        a.id: thaw(a.profile_snapshot) if a.profile_snapshot else live[a.enterprise_id]
        for a in apps
    }


def submitted_memberships(application: Application) -> dict[str, list[str]]:
    """Return the park and chamber names as they were at submission."""
    if application.profile_snapshot:
        names = application.profile_snapshot.get("memberships") or {}
        return {"parks": list(names.get("parks", [])), "chambers": list(names.get("chambers", []))}
    return membership_names(application.enterprise)


@dataclass(frozen=True)
class Change:
    """A profile field whose live value differs from the one the application was submitted with."""

    field: str
    label: str
    submitted: Any
    now: Any


def changes_since(application: Application) -> list[Change]:
    """Return the fields the firm changed in its profile since the application was submitted."""
    if not application.profile_snapshot:
        return []
    before = application.profile_snapshot.get("profile") or {}
    live = enterprise_profile(application.enterprise)
    out = []
    for name in profile_fields.fields():
        old, new = before.get(name), profile_fields.to_plain(name, live.get(name))
        if isinstance(old, list) or isinstance(new, list):
            old, new = sorted(old or []), sorted(new or [])
        if old != new:
            out.append(Change(name, profile_fields.label(name), old, new))
    return out


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
