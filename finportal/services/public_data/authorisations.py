"""Authorisations (数据核查授权): an enterprise lets the centre fetch one source's data.

- One authorisation names one enterprise, one source, a scope (the source's items the
  centre may fetch) and a last day, inclusive in Shanghai time.
- It is in force by the consent rule (:func:`finportal.services.consents.standing`): not
  withdrawn, and today on or before its last day. The last day is chosen as a consent's is
  (:func:`finportal.services.consents.last_day`: a year by default, 3 years at most).
- A fetch stores only the items of the scope, and only for firms with one in force.
- A verified value counts only while the authorisation it was fetched under is in force:
  withdrawing (or letting it lapse) turns the firm's figures back to what it declared.
- Granting a source again replaces the one in force (a new scope or last day).
- Only a verified enterprise can give one (``services/verification.py``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import DataAuthorisation, VerifiedFact, utcnow
from finportal.services import consents
from finportal.services.audit import record_event
from finportal.services.errors import InvalidTransition, NotFound, ValidationFailed
from finportal.services.public_data import sources
from finportal.services.workdays import today_local


def in_force(authorisation: DataAuthorisation | None, day: date | None = None) -> bool:
    """Tell whether the authorisation lets the centre fetch and use its source's data."""
    return consents.standing(authorisation, day)


def in_force_clause(day: date | None = None) -> ColumnElement[bool]:
    """Return the SQL twin of :func:`in_force`."""
    return consents.standing_clause(DataAuthorisation, day)


def current(
    session: Session, enterprise_id: int, source: str, day: date | None = None
) -> DataAuthorisation | None:
    """Return the enterprise's authorisation in force for the source, if any."""
    return session.scalar(
        select(DataAuthorisation)
        .where(
            DataAuthorisation.enterprise_id == enterprise_id,
            DataAuthorisation.source == source,
            in_force_clause(day),
        )
        .order_by(DataAuthorisation.granted_at.desc(), DataAuthorisation.id.desc())
        .limit(1)
    )


def in_force_by_firm(
    session: Session, source: str, enterprise_ids: list[int] | None = None
) -> dict[int, DataAuthorisation]:
    """Return {enterprise id: authorisation in force} for a source (all firms, or those given)."""
    stmt = select(DataAuthorisation).where(DataAuthorisation.source == source, in_force_clause())
    if enterprise_ids is not None:
        stmt = stmt.where(DataAuthorisation.enterprise_id.in_(enterprise_ids))
    found: dict[int, DataAuthorisation] = {}
    for row in session.scalars(stmt.order_by(DataAuthorisation.granted_at, DataAuthorisation.id)):
        found[row.enterprise_id] = row  # the newest wins
    return found


def list_for_enterprise(session: Session, enterprise_id: int | None) -> list[DataAuthorisation]:
    """Return all of the enterprise's authorisations, newest first."""
    if enterprise_id is None:
        return []
    return list(
        session.scalars(
            select(DataAuthorisation)
            .where(DataAuthorisation.enterprise_id == enterprise_id)
            .order_by(DataAuthorisation.granted_at.desc(), DataAuthorisation.id.desc())
        )
    )


def _scope_text(source: sources.Source, scope: list[str]) -> str:
    return "、".join(i.zh for i in source.items if i.code in scope)


def grant(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    source: str,
    scope: list[str],
    valid_until: date | None,
) -> DataAuthorisation:
    """Authorise the centre to fetch the source's items in ``scope`` until the last day (commits)."""
    from finportal.services.verification import require_verified

    if enterprise_id is None:
        raise NotFound.of("enterprise")
    require_verified(session, enterprise_id)
    if source not in sources.by_code():
        raise ValidationFailed(
            "没有这个数据来源。",
            "Unknown data source.",
            fields={
                "source": limits.in_user_language("没有这个数据来源。", "Unknown data source.")
            },
        )
    spec = sources.source(source)
    codes = {i.code for i in spec.items}
    chosen = [c for c in dict.fromkeys(scope) if c]
    if not chosen or any(c not in codes for c in chosen):
        raise ValidationFailed(
            "请至少选择一项授权核查的内容。",
            "Choose at least one item the centre may check.",
            fields={
                "scope": limits.in_user_language(
                    "请至少选择一项授权核查的内容。", "Choose at least one item."
                )
            },
        )
    until = consents.last_day(valid_until, today_local(), field="valid_until")
    previous = current(session, enterprise_id, source)
    if previous is not None:
        previous.withdrawn_at = utcnow()
        previous.withdrawn_by_id = actor_id
    authorisation = DataAuthorisation(
        enterprise_id=enterprise_id,
        source=source,
        scope=[c for c in (i.code for i in spec.items) if c in chosen],
        valid_until=until,
        granted_by_id=actor_id,
    )
    session.add(authorisation)
    session.flush()
    if previous is not None:
        # An update (new scope or last day): the facts fetched under the one it replaces stay
        # verified for the items still in scope, now under the new authorisation.
        session.execute(
            update(VerifiedFact)
            .where(
                VerifiedFact.authorisation_id == previous.id,
                VerifiedFact.item.in_(authorisation.scope),
            )
            .values(authorisation_id=authorisation.id)
            .execution_options(synchronize_session=False)
        )
    record_event(
        session,
        actor_id=actor_id,
        action="data_authorisation.granted",
        object_type="enterprise",
        object_id=enterprise_id,
        to_state="granted",
        reason=(
            f"授权服务中心核查{spec.zh}（{_scope_text(spec, authorisation.scope)}），"
            f"有效期至 {until.isoformat()}"
        ),
        data={
            "authorisation_id": authorisation.id,
            "source": source,
            "scope": authorisation.scope,
            "valid_until": until.isoformat(),
            "replaces": previous.id if previous is not None else None,
        },
    )
    session.commit()
    return authorisation


def withdraw(
    session: Session, *, actor_id: int | None, enterprise_id: int | None, authorisation_id: int
) -> DataAuthorisation:
    """Withdraw an authorisation: no more fetches, and its verified values stop counting."""
    authorisation = session.get(DataAuthorisation, authorisation_id)
    if (
        authorisation is None
        or enterprise_id is None
        or authorisation.enterprise_id != enterprise_id
    ):
        raise NotFound.of("authorisation")
    if authorisation.withdrawn_at is not None:
        raise InvalidTransition("该授权已撤回。", "This authorisation is already withdrawn.")
    authorisation.withdrawn_at = utcnow()
    authorisation.withdrawn_by_id = actor_id
    record_event(
        session,
        actor_id=actor_id,
        action="data_authorisation.withdrawn",
        object_type="enterprise",
        object_id=enterprise_id,
        from_state="granted",
        to_state="withdrawn",
        reason=f"撤回对{sources.source(authorisation.source).zh}核查的授权",
        data={"authorisation_id": authorisation.id, "source": authorisation.source},
    )
    session.commit()
    return authorisation


def describe(authorisation: DataAuthorisation, day: date | None = None) -> dict[str, Any]:
    """Describe an authorisation for the enterprise's page: source, scope, dates, in force."""
    spec = sources.source(authorisation.source)
    return {
        "id": authorisation.id,
        "source": spec,
        "items": [i for i in spec.items if i.code in authorisation.scope],
        "granted_at": authorisation.granted_at,
        "valid_until": authorisation.valid_until,
        "withdrawn_at": authorisation.withdrawn_at,
        "in_force": in_force(authorisation, day),
    }
