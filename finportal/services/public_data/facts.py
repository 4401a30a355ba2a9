"""Verified facts: what the sources reported, where from, as of when — and what wins.

Every profile value has a provenance (:data:`PROVENANCE`): declared by the firm, verified
by a source the firm authorised (source, as-of date, import), or backed by a document.
:func:`verified_values` is what ``services/profiles.enterprise_profile`` lays over the
declared values, so matching, scoring, completeness, the push and the packet all read the
verified figure without logic of their own. A declared value that differs from the
verified one is kept and shown beside it (:func:`rows`, ``differs``), never overwritten.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from finportal import limits
from finportal.domain import fields as profile_fields
from finportal.memo import read_once
from finportal.models import DataAuthorisation, Document, Enterprise, VerifiedFact
from finportal.services.public_data import authorisations, sources, values

#: The provenance of a profile value, with its words (zh, en).
PROVENANCE = {
    "declared": ("企业自报", "declared by the enterprise"),
    "verified": ("已核验", "verified"),
    "document": ("有材料佐证", "backed by a document"),
}


def in_force(
    session: Session, enterprise_ids: Iterable[int], day: date | None = None
) -> list[VerifiedFact]:
    """Return the facts of the enterprises whose authorisation is in force, by firm and item.

    Read once per session transaction for the same firms and day (a page builds a firm's
    profile, its submitted facts and its flags from them); the caller gets its own list.
    """
    ids = sorted(set(enterprise_ids))
    if not ids:
        return []
    stmt = (
        select(VerifiedFact)
        .join(DataAuthorisation, VerifiedFact.authorisation_id == DataAuthorisation.id)
        .options(contains_eager(VerifiedFact.authorisation))
        .where(VerifiedFact.enterprise_id.in_(ids), authorisations.in_force_clause(day))
        .order_by(VerifiedFact.enterprise_id, VerifiedFact.item)
    )
    return list(
        read_once(session, ("facts_in_force", tuple(ids), day), lambda: list(session.scalars(stmt)))
    )


def _field_values(facts: Iterable[VerifiedFact]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for fact in facts:
        item = sources.items().get(fact.item)
        # An item scoped out later, or one without a profile field, changes no field.
        if item is None or item.field is None or fact.item not in fact.authorisation.scope:
            continue
        out.setdefault(fact.enterprise_id, {})[item.field] = values.typed(item, fact.value)
    return out


def verified_values_between(session: Session, low: int, high: int) -> dict[int, dict[str, Any]]:
    """Return {enterprise id: {field: verified value}} for the firms with ids low..high.

    For the district's chunked profile table (``services/profile_table.py``): a range
    rather than a list of ids, as its memberships are read.
    """
    found = session.scalars(
        select(VerifiedFact)
        .join(DataAuthorisation, VerifiedFact.authorisation_id == DataAuthorisation.id)
        .options(contains_eager(VerifiedFact.authorisation))
        .where(
            VerifiedFact.enterprise_id >= low,
            VerifiedFact.enterprise_id <= high,
            authorisations.in_force_clause(),
        )
        .order_by(VerifiedFact.enterprise_id, VerifiedFact.item)
    )
    return _field_values(found)


def verified_values(session: Session, enterprise_id: int) -> dict[str, Any]:
    """Return {profile field: verified value} of one enterprise (the facts in force)."""
    return _field_values(in_force(session, [enterprise_id])).get(enterprise_id, {})


def verified_values_of_many(
    session: Session, enterprise_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """Return {enterprise id: {field: verified value}} for many firms in one statement."""
    return _field_values(in_force(session, enterprise_ids))


def snapshot(session: Session, enterprise: Enterprise) -> dict[str, dict[str, Any]]:
    """Return the enterprise's verified facts as plain data, to keep with a submission.

    {item: {source, value (plain), as_of, import_id, field, declared (plain)}}; ``declared``
    is the firm's own value of the field, so a disagreement shows later as it stood.
    """
    return snapshots(session, [enterprise])[enterprise.id]


def snapshots(
    session: Session, enterprises: Iterable[Enterprise]
) -> dict[int, dict[str, dict[str, Any]]]:
    """Return {enterprise id: :func:`snapshot`} of many firms, their facts in one statement."""
    firms = {e.id: e for e in enterprises}
    out: dict[int, dict[str, dict[str, Any]]] = {firm_id: {} for firm_id in firms}
    for fact in in_force(session, firms):
        item = sources.items().get(fact.item)
        if item is None or fact.item not in fact.authorisation.scope:
            continue
        enterprise = firms[fact.enterprise_id]
        declared = getattr(enterprise, item.field) if item.field else None
        out[fact.enterprise_id][fact.item] = {
            "source": fact.source,
            "value": fact.value,
            "as_of": fact.as_of.isoformat(),
            "import_id": fact.import_id,
            "field": item.field,
            "declared": profile_fields.to_plain(item.field, declared) if item.field else None,
        }
    return out


# --- what pages and packets show ------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One verified fact as a page or a packet shows it."""

    item: str
    field: str | None
    label_zh: str
    label_en: str
    value_zh: str
    value_en: str
    provider_zh: str
    provider_en: str
    as_of: date
    import_id: int | None
    #: The firm's own value, when it differs from the verified one ("" otherwise).
    declared_zh: str = ""
    declared_en: str = ""

    @property
    def differs(self) -> bool:
        """Tell whether the firm declared something else than the source reports."""
        return bool(self.declared_zh)

    def label(self) -> str:
        """Return the item's name in the user's language."""
        return limits.in_user_language(self.label_zh, self.label_en)

    def value(self) -> str:
        """Return the verified value in the user's language."""
        return limits.in_user_language(self.value_zh, self.value_en)

    def declared(self) -> str:
        """Return the declared value that differs, in the user's language."""
        return limits.in_user_language(self.declared_zh, self.declared_en)

    def provider(self) -> str:
        """Return the source's provider in the user's language."""
        return limits.in_user_language(self.provider_zh, self.provider_en)


def display(item: sources.Item, value: Any, locale: str) -> str:
    """Write a typed value of the item as pages and packets do (money in 万元)."""
    english = locale.startswith("en")
    if value is None or value == "":
        return "not declared" if english else "未填报"
    if item.field is not None:
        from finportal.services.packet_context import field_text

        return field_text(profile_fields.field(item.field), value, locale)
    if item.kind == "bool":
        return ("Yes" if value else "No") if english else ("是" if value else "否")
    return str(value)


def _same(item: sources.Item, declared: Any, verified: Any) -> bool:
    if declared is None or declared == "":
        return True  # nothing declared: the verified value fills it, no disagreement
    if item.kind == "bool":
        return bool(declared) == bool(verified)
    if item.kind == "category":
        return str(declared).upper() == str(verified)
    return values.typed(item, str(declared)) == verified


def rows(verified: Mapping[str, Mapping[str, Any]]) -> list[Row]:
    """Return display rows of a :func:`snapshot` (or :func:`live_snapshot`), in source order."""
    out = []
    for item in sources.items().values():
        plain = verified.get(item.code)
        if plain is None:
            continue
        spec = sources.source(item.source)
        value = values.typed(item, str(plain["value"]))
        declared_plain = plain.get("declared")
        declared = (
            profile_fields.from_plain(item.field, declared_plain)
            if item.field is not None
            else None
        )
        differs = not _same(item, declared, value)
        out.append(
            Row(
                item=item.code,
                field=item.field,
                label_zh=item.zh,
                label_en=item.en,
                value_zh=display(item, value, "zh_CN"),
                value_en=display(item, value, "en"),
                provider_zh=spec.provider_zh,
                provider_en=spec.provider_en,
                as_of=date.fromisoformat(str(plain["as_of"])),
                import_id=plain.get("import_id"),
                declared_zh=display(item, declared, "zh_CN") if differs else "",
                declared_en=display(item, declared, "en") if differs else "",
            )
        )
    return out


def live_rows(session: Session, enterprise: Enterprise) -> list[Row]:
    """Return the display rows of the enterprise's facts in force now."""
    return rows(snapshot(session, enterprise))


def by_field(found: Iterable[Row]) -> dict[str, Row]:
    """Return the rows that verify a profile field, by field name."""
    return {r.field: r for r in found if r.field is not None}


def provenance_of(field: str, verified: Mapping[str, Row]) -> str:
    """Return a field's provenance code: verified when a row verifies it, else declared."""
    return "verified" if field in verified else "declared"


#: What a verified value carries beside it in a profile table (packets, the review page).
MARK = ("✔ 已核验", "✔ verified")
#: What a document-backed value carries beside it there.
BACKED_MARK = PROVENANCE["document"]


def mark_rows(
    profile_rows: Mapping[str, str],
    verified: Iterable[Row],
    locale: str = "zh_CN",
    backed: Iterable[Backing] = (),
) -> dict[str, str]:
    """Return profile rows (label -> text) with the verified and document-backed values marked.

    Verified wins: a field both verified and backed is marked verified only.
    """
    english = locale.startswith("en")
    verified_labels = {
        profile_fields.field(r.field).label(locale) for r in verified if r.field is not None
    }
    backed_labels = {profile_fields.field(b.field).label(locale) for b in backed}
    mark = MARK[1] if english else MARK[0]
    document = BACKED_MARK[1] if english else BACKED_MARK[0]
    out = {}
    for label, text in profile_rows.items():
        if label in verified_labels:
            text = f"{text} {mark}"
        elif label in backed_labels:
            text = f"{text} {document}"
        out[label] = text
    return out


# --- document-backed values ------------------------------------------------------------------


@dataclass(frozen=True)
class Backing:
    """A declared profile value backed by a profile document (no verified value for it)."""

    field: str
    kind: str
    document_id: int
    filename: str
    sha256: str
    uploaded_on: date
    value_zh: str
    value_en: str

    @property
    def short_hash(self) -> str:
        """Return the first 12 hex digits of the document's SHA-256."""
        return self.sha256[:12]

    def label(self) -> str:
        """Return the field's name in the user's language."""
        return profile_fields.field(self.field).label()

    def value(self) -> str:
        """Return the declared value in the user's language."""
        return limits.in_user_language(self.value_zh, self.value_en)

    @property
    def provenance_zh(self) -> str:
        """Return where the value's backing comes from, in Chinese (packets)."""
        return f"{BACKED_MARK[0]}：{self.filename}，SHA-256 前 12 位 {self.short_hash}"

    def provenance(self) -> str:
        """Return where the value's backing comes from, in the user's language."""
        return limits.in_user_language(
            self.provenance_zh,
            f"{BACKED_MARK[1].capitalize()}: {self.filename}, "
            f"SHA-256 first 12 digits {self.short_hash}",
        )


def backed(
    session: Session,
    enterprise_id: int,
    profile: Mapping[str, Any],
    verified: Collection[str] = (),
) -> dict[str, Backing]:
    """Return {field: backing} of the firm's declared values its profile documents back.

    One statement for the firm's profile documents of the kinds that evidence fields
    (``documents.EVIDENCES``); the newest document of a kind is the current one. Fields
    in ``verified`` (verified wins) and fields the firm left empty are not backed.
    Documents attached to one application back nothing here.
    """
    return backed_of_many(session, {enterprise_id: (profile, verified)})[enterprise_id]


def backed_of_many(
    session: Session, firms: Mapping[int, tuple[Mapping[str, Any], Collection[str]]]
) -> dict[int, dict[str, Backing]]:
    """Return {enterprise id: :func:`backed`} of many firms: {id: (profile, verified fields)}.

    The firms' profile documents are read in one statement.
    """
    from finportal.services.documents import EVIDENCES
    from finportal.services.packet_context import field_text
    from finportal.services.workdays import SHANGHAI

    out: dict[int, dict[str, Backing]] = {firm_id: {} for firm_id in firms}
    if not firms:
        return out
    found = session.execute(
        select(
            Document.enterprise_id,
            Document.id,
            Document.kind,
            Document.filename,
            Document.sha256,
            Document.uploaded_at,
        )
        .where(
            Document.enterprise_id.in_(sorted(firms)),
            Document.application_id.is_(None),
            Document.kind.in_(sorted(EVIDENCES)),
        )
        .order_by(Document.enterprise_id, Document.uploaded_at.desc(), Document.id.desc())
    )
    seen: set[tuple[int, str]] = set()
    for firm_id, doc_id, kind, filename, sha256, uploaded_at in found:
        if (firm_id, kind) in seen:
            continue  # an older document of a kind the newest one already stands for
        seen.add((firm_id, kind))
        profile, verified = firms[firm_id]
        backings = out[firm_id]
        for name in EVIDENCES[kind]:
            value = profile.get(name)
            if name in backings or name in verified or value is None or value == "":
                continue
            spec = profile_fields.field(name)
            day = uploaded_at if uploaded_at.tzinfo else uploaded_at.replace(tzinfo=UTC)
            backings[name] = Backing(
                field=name,
                kind=kind,
                document_id=doc_id,
                filename=filename,
                sha256=sha256,
                uploaded_on=day.astimezone(SHANGHAI).date(),
                value_zh=field_text(spec, value, "zh_CN"),
                value_en=field_text(spec, value, "en"),
            )
    return {
        firm_id: dict(sorted(backings.items(), key=lambda kv: _FIELD_ORDER.get(kv[0], 0)))
        for firm_id, backings in out.items()
    }


#: The profile's field order, for listing backed values as the profile reads.
_FIELD_ORDER = {name: i for i, name in enumerate(profile_fields.fields())}
