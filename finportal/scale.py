"""Scale data: fill a database with a district's volume for benchmarks and load tests.

``flask --app wsgi scale-data --scale full`` adds, on top of the demo data, 20,000
enterprises, 100,000 applications in every state (with their matches against the published
catalogue, credit scores from the champion model, consents, notifications and screening
jobs), 150,000 referrals with the banks' decisions and loan outcomes, batches with members
and their consents, and about 1,000,000 audit events. ``--scale 0.01`` makes a hundredth.

The rows go in through bulk inserts, not the ORM: PostgreSQL ``COPY`` and, on SQLite,
SQLAlchemy Core ``INSERT`` with many rows per statement. Matching uses ``products.match_one``
and scoring ``scoring.CreditModel.score_many``, so every match, quote and score is what the
portal itself would have stored. Ids are assigned here (continuing after the largest id of
each table) so related rows can be written without asking the database back.

Every row is a ``dict`` keyed by column name; :class:`BulkWriter` fills the columns a row
leaves out from the model's defaults, so a column added to a model later (for instance the
audit trail's hash-chain ``seq``/``prev_hash``/``row_hash``) needs only its value computed in
the one function that builds that table's rows (:func:`_audit_rows` for audit events, which
are written in time order, as a chain needs).

The same seed and ``--today`` give the same data. The command refuses to run on a database
that already holds scale data (look for enterprises named ``（规模…）``): start from an empty
database to generate again.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.orm import Session
from stdnum.cn import uscc as stdnum_uscc

from finportal import page_cache
from finportal.models import (
    Application,
    AuditEvent,
    Bank,
    BankDecision,
    Batch,
    BatchMember,
    Chamber,
    Consent,
    CreditScore,
    Enterprise,
    Job,
    LoanOutcome,
    Match,
    Membership,
    Notification,
    Park,
    Rating,
    Referral,
    User,
    UserSignIn,
    utcnow,
)

#: The full size (the issue's "district's real volume").
FULL = {
    "enterprises": 20_000,
    "applications": 100_000,
    "referrals": 150_000,
    "audit_events": 1_000_000,
    "batches": 200,
}
#: USCC body marker of scale enterprises ("GM", 规模; the USCC alphabet has no S, I, O, Z, V).
USCC_MARK = "GM"
NAME_MARK = "规模"
SCALE_BANKS = 12
ADVISORS = 20
PASSWORD = "finportal-demo"  # noqa: S105 - the documented demo password
CHUNK = 2_000  # applications generated and written per round

APP_STATES_RECENT = {  # applications of the last 30 days
    "draft": 8,
    "submitted": 1,
    "screened": 18,
    "in_review": 20,
    "returned": 7,
    "referred": 36,
    "rejected": 5,
    "withdrawn": 5,
}
APP_STATES_OLD = {
    "draft": 2,
    "referred": 58,
    "rejected": 12,
    "withdrawn": 8,
    "closed": 20,
}
REFERRAL_STATES_RECENT = {
    "sent": 35,
    "viewed": 28,
    "info_requested": 10,
    "approved": 10,
    "declined": 15,
    "withdrawn": 2,
}
REFERRAL_STATES_OLD = {
    "viewed": 2,
    "info_requested": 1,
    "approved": 8,
    "declined": 32,
    "disbursed": 14,
    "repaid": 33,
    "overdue_90": 4,
    "defaulted": 3,
    "withdrawn": 3,
}
DECIDED = {"approved", "disbursed", "repaid", "overdue_90", "defaulted"}
DECLINE_CODES = (
    "credit_risk",
    "insufficient_cashflow",
    "high_leverage",
    "incomplete_information",
    "outside_policy",
    "quota_exhausted",
    "customer_declined",
)
REJECT_CODES = ("not_eligible", "serious_bad_credit", "high_risk", "incomplete", "duplicate")
PURPOSES = ("working_capital", "working_capital", "equipment", "research", "renewal", "other")
STATE_TITLES = {
    "submitted": "已提交",
    "screened": "已初筛",
    "in_review": "审核中",
    "returned": "已退回补充",
    "rejected": "未通过",
    "referred": "已推荐银行",
    "withdrawn": "已撤回",
    "closed": "已办结",
}


@dataclass(frozen=True)
class Plan:
    """How much to generate."""

    enterprises: int
    applications: int
    referrals: int
    audit_events: int
    batches: int
    seed: int = 20250205
    packets: int = 40

    @classmethod
    def of(cls, scale: float, seed: int = 20250205, packets: int = 40) -> Plan:
        """Return the plan for a fraction of the full size (1.0 = full)."""
        sizes = {k: max(1, int(round(v * scale))) for k, v in FULL.items()}
        return cls(**sizes, seed=seed, packets=packets)


class AlreadyGenerated(click.ClickException):
    """The database already holds scale data."""


# --- bulk writing ------------------------------------------------------------------------


class BulkWriter:
    """Write rows (dicts) into tables fast: COPY on PostgreSQL, multi-row INSERT elsewhere."""

    def __init__(self, conn: Connection, progress: Callable[[str], None] | None = None) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}
        self._next: dict[str, int] = {}
        self.progress = progress or (lambda _msg: None)

    def next_id(self, table: Table, count: int = 1) -> int:
        """Reserve ``count`` ids of a table and return the first."""
        name = table.name
        if name not in self._next:
            current = self.conn.execute(select(func.max(table.c.id))).scalar() or 0
            self._next[name] = int(current) + 1
        first = self._next[name]
        self._next[name] += count
        return first

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows; columns a row leaves out get the model's default."""
        if not rows:
            return
        keys: set[str] = set().union(*rows)
        columns = [c for c in table.columns if c.name in keys or _default_of(c) is not _NONE]
        defaults = [_default_of(c) for c in columns]
        filled = []
        for row in rows:
            out = []
            for column, default in zip(columns, defaults, strict=True):
                if column.name in row:
                    value = row[column.name]
                elif default is _NONE:
                    value = None
                else:
                    value = default() if callable(default) else default
                out.append(value)
            filled.append(out)
        if self.postgres:
            self._copy(table, columns, filled)
        else:
            names = [c.name for c in columns]
            for start in range(0, len(filled), 5_000):
                self.conn.execute(
                    table.insert(),
                    [dict(zip(names, r, strict=True)) for r in filled[start : start + 5_000]],
                )
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)

    def _copy(self, table: Table, columns: list[Any], rows: list[list[Any]]) -> None:
        json_cols = [i for i, c in enumerate(columns) if c.type.__class__.__name__ == "JSON"]
        raw = self.conn.connection.driver_connection
        names = ", ".join(f'"{c.name}"' for c in columns)
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):  # type: ignore[union-attr]
            for row in rows:
                for i in json_cols:
                    if row[i] is not None:
                        row[i] = json.dumps(row[i], ensure_ascii=False)
                copy.write_row(row)
        # COPY goes around SQLAlchemy's statement events: tell the page cache what it wrote
        # (rows added: nothing cascades).
        page_cache.wrote(self.conn, tables=(table.name,))

    def finish(self) -> None:
        """Move PostgreSQL's id sequences past the ids written here, and refresh statistics."""
        if self.postgres:
            for name in self._next:
                self.conn.execute(
                    text(  # the table names are the models' own
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                        f'(SELECT COALESCE(MAX(id), 1) FROM "{name}"))'
                    )
                )


_NONE = object()


def _default_of(column: Any) -> Any:
    """Return the column's Python-side default (a value or a no-argument callable), or _NONE."""
    default = column.default
    if default is None or column.primary_key:
        return _NONE
    arg = default.arg
    if callable(arg):
        return lambda: arg(None)
    return arg


# --- enterprises and users ---------------------------------------------------------------


def _uscc(index: int, district: str) -> str:
    """Return a valid synthetic USCC for the scale enterprise of that number."""
    body = f"91{district}{USCC_MARK}{index:07d}"
    return body + stdnum_uscc.calc_check_digit(body)


def _enterprise_rows(
    plan: Plan, rng: random.Random, first_id: int, today: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return enterprises with consistent profiles, and their rows as scoring/matching read them."""
    from finportal.demo import _profile

    verified_at = datetime.combine(today - timedelta(days=400), datetime.min.time(), UTC)
    rows = []
    for n in range(plan.enterprises):
        index = n + 1
        profile = _profile(rng, index, today)
        district = str(profile["district_code"])
        name = str(profile["name"]).split("（")[0]
        profile.update(
            id=first_id + n,
            uscc=_uscc(index, district),
            name=f"{name}（{NAME_MARK}{index:05d}）",
            demo=True,
            verification_state=rng.choices(
                ("verified", "pending", "unverified"), weights=(92, 3, 5)
            )[0],
        )
        profile["verified_at"] = (
            verified_at if profile["verification_state"] == "verified" else None
        )
        profile["created_at"] = profile["updated_at"] = verified_at - timedelta(
            days=rng.randint(0, 700)
        )
        rows.append(profile)
    return rows, rows


def _membership_rows(
    writer: BulkWriter,
    enterprises: list[dict[str, Any]],
    parks: list[Any],
    chambers: list[Any],
    rng: random.Random,
) -> dict[int, tuple[list[str], list[str]]]:
    """Write park and chamber memberships; return {enterprise id: (park codes, chamber codes)}."""
    table = Membership.__table__
    rows: list[dict[str, Any]] = []
    codes: dict[int, tuple[list[str], list[str]]] = {}
    start = writer.next_id(table, 2 * len(enterprises))
    for i, e in enumerate(enterprises):
        park_codes: list[str] = []
        chamber_codes: list[str] = []
        if rng.random() < 0.55:
            park = parks[i % len(parks)]
            rows.append({"id": start + len(rows), "enterprise_id": e["id"], "park_id": park.id})
            park_codes.append(park.code)
        if rng.random() < 0.35:
            chamber = chambers[i % len(chambers)]
            rows.append(
                {"id": start + len(rows), "enterprise_id": e["id"], "chamber_id": chamber.id}
            )
            chamber_codes.append(chamber.code)
        codes[e["id"]] = (park_codes, chamber_codes)
    writer.insert(table, rows)
    return codes


# --- applications and what hangs on them ------------------------------------------------


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _later(day: datetime, rng: random.Random, hours: float, now: datetime) -> datetime:
    """Return a time about ``hours`` after ``day``, never after ``now``."""
    return max(day, min(day + timedelta(hours=hours * (0.5 + rng.random())), now))


@dataclass
class Context:
    """What every round of applications needs."""

    session: Session
    writer: BulkWriter
    rng: random.Random
    now: datetime
    catalog: Any
    versions: dict[str, Any]
    lpr: Decimal
    model_row: Any
    model: Any
    enterprises: list[dict[str, Any]]
    members: dict[int, tuple[list[str], list[str]]]
    sme_users: dict[int, int]
    advisors: list[int]
    bank_users: dict[int, list[int]]
    banks: list[int]
    audit: list[tuple[Any, ...]]
    referrals_per_referred: float
    notices: list[tuple[int, int, str, datetime, str]]
    #: Park and chamber names by code (the memberships kept with a submission).
    organisation_names: dict[tuple[str, str], str] = field(default_factory=dict)

    def at(self, day: datetime, hours: float) -> datetime:
        """Return a time about ``hours`` after ``day``, never after the reference time."""
        return _later(day, self.rng, hours, self.now - timedelta(minutes=1))


def _profile_of(ctx: Context, enterprise: dict[str, Any]) -> dict[str, Any]:
    from finportal.services.profiles import PROFILE_FIELDS

    profile = {name: enterprise.get(name) for name in PROFILE_FIELDS}
    profile["certifications"] = list(enterprise.get("certifications") or [])
    parks, chambers = ctx.members.get(enterprise["id"], ([], []))
    profile.update(
        park_codes=parks,
        chamber_codes=chambers,
        park_memberships=parks,
        chamber_memberships=chambers,
    )
    return profile


def _frozen(ctx: Context, enterprise: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Return the profile kept with a submission, as ``services.profiles.freeze`` keeps it."""
    from finportal.domain import fields as profile_fields

    profile = _profile_of(ctx, enterprise)
    parks, chambers = ctx.members.get(enterprise["id"], ([], []))
    names = ctx.organisation_names
    return {
        "taken_at": at.isoformat(),
        "profile": {n: profile_fields.to_plain(n, profile.get(n)) for n in profile_fields.fields()},
        "memberships": {
            "parks": sorted(names[("park", c)] for c in parks),
            "chambers": sorted(names[("chamber", c)] for c in chambers),
        },
        "verified": {},
    }


def _audit(
    ctx: Context,
    at: datetime,
    actor: int | None,
    action: str,
    object_type: str,
    object_id: int,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    ctx.audit.append(
        (at, actor, action, object_type, object_id, from_state, to_state, reason, data)
    )


def _applications_round(ctx: Context, first: int, count: int) -> None:
    """Generate and write ``count`` applications (numbers ``first``...) with all they carry."""
    import pandas as pd

    import products
    from finportal.models import ApplicationNote
    from finportal.services import credit
    from finportal.services.labels import DEFAULT_SCOPE
    from finportal.services.packets import new_verification_code

    rng, writer, now = ctx.rng, ctx.writer, ctx.now
    rows: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "applications",
            "matches",
            "consents",
            "referrals",
            "decisions",
            "outcomes",
            "notes",
            "ratings",
            "jobs",
        )
    }
    features: list[dict[str, float]] = []
    scored_apps: list[dict[str, Any]] = []

    for k in range(count):
        number = first + k
        # Busy firms apply more often: a skewed draw over the enterprises.
        enterprise = ctx.enterprises[int(len(ctx.enterprises) * rng.random() ** 1.6)]
        recent = rng.random() < 0.1
        age_days = rng.uniform(0, 30) if recent else rng.uniform(30, 3 * 365)
        created = now - timedelta(days=age_days)
        state = _pick(rng, APP_STATES_RECENT if recent else APP_STATES_OLD)
        if state == "submitted":
            created = now - timedelta(minutes=rng.uniform(1, 30))
        if enterprise["verification_state"] != "verified":
            state = "draft"  # only a verified firm can consent, so only it can submit
        revenue = float(enterprise["revenue_last_year"] or 1_000_000)
        amount = Decimal(max(100_000, round(revenue * rng.uniform(0.03, 0.3), -4)))
        amount = min(amount, Decimal(30_000_000)).quantize(Decimal("0.01"))
        term = rng.choice((6, 12, 12, 12, 24, 36))
        sme = ctx.sme_users[enterprise["id"]]
        row: dict[str, Any] = {
            "id": writer.next_id(Application.__table__),
            "enterprise_id": enterprise["id"],
            "created_by_id": sme,
            "state": state,
            "amount": amount,
            "term_months": term,
            "purpose": rng.choice(PURPOSES),
            "idempotency_key": f"scale-{number:07d}",
            "created_at": created,
            "updated_at": created,
            "lock_version": 1,
        }
        rows["applications"].append(row)
        _audit(
            ctx,
            created,
            sme,
            "application.created",
            "application",
            row["id"],
            to_state="draft",
            data={"amount": str(amount), "term_months": term, "product": None},
        )
        if state == "draft":
            continue
        submitted = ctx.at(created, 0.2)
        row["submitted_at"] = submitted
        # The profile as it was at submission, as the portal keeps it (services/profiles.freeze).
        row["profile_snapshot"] = _frozen(ctx, enterprise, submitted)
        # Consents to one to four banks, given with the application.
        extra = max(0.1, ctx.referrals_per_referred - 1)
        banks = rng.sample(
            ctx.banks, min(1 + min(3, int(rng.expovariate(1 / extra) + 0.5)), len(ctx.banks))
        )
        app_consents = {}
        for bank_id in banks:
            consent = {
                "id": writer.next_id(Consent.__table__),
                "enterprise_id": enterprise["id"],
                "application_id": row["id"],
                "bank_id": bank_id,
                "scope": DEFAULT_SCOPE,
                "granted_at": submitted,
                "valid_until": (submitted + timedelta(days=365)).date(),
                "granted_by_id": sme,
            }
            rows["consents"].append(consent)
            app_consents[bank_id] = consent
            _audit(
                ctx,
                submitted,
                sme,
                "consent.granted",
                "consent",
                consent["id"],
                data={"bank_id": bank_id},
            )
        _transition(ctx, row, "draft", "submitted", submitted, sme, "企业提交申请")
        if state == "submitted":
            rows["jobs"].append(_job(row["id"], submitted, None))
            continue
        screened = ctx.at(submitted, 0.01)
        row["screened_at"] = screened
        row["first_response_due_at"] = screened + timedelta(days=1)
        profile = _profile_of(ctx, enterprise)
        request = {"amount": amount, "term_months": term, "purpose": row["purpose"]}
        features.append(credit.features_for(profile, request, screened.date()))
        scored_apps.append(row)
        results = products.match_one(
            ctx.catalog, profile, request, lpr=ctx.lpr, today=screened.date()
        )
        rank = 0
        eligible_versions = []
        for result in results:
            data = result.to_dict()
            version = ctx.versions[result.product.code]
            if result.eligible:
                rank += 1
                eligible_versions.append(version.id)
            rows["matches"].append(
                {
                    "application_id": row["id"],
                    "product_version_id": version.id,
                    "eligible": result.eligible,
                    "rank": rank if result.eligible else None,
                    "conditions": data["conditions"],
                    "quote": data.get("quote")
                    or ({"error": result.quote_error} if result.quote_error else None),
                    "overridden": False,
                    "created_at": screened,
                }
            )
        rows["jobs"].append(
            _job(row["id"], submitted, screened, {"eligible": rank, "products": len(results)})
        )
        row["product_version_id"] = eligible_versions[0] if eligible_versions else None
        row["model_version_id"] = ctx.model_row.id
        _transition(ctx, row, "submitted", "screened", screened, None, "自动初筛：匹配与评分完成")
        if state == "screened":
            continue
        advisor = rng.choice(ctx.advisors)
        claimed = ctx.at(screened, 6)
        row["assigned_advisor_id"] = advisor
        row["first_response_at"] = claimed
        _transition(ctx, row, "screened", "in_review", claimed, advisor, "顾问受理")
        if rng.random() < 0.3:
            rows["notes"].append(
                {
                    "application_id": row["id"],
                    "author_id": advisor,
                    "body": "已电话联系企业财务负责人，核实经营情况。",
                    "created_at": ctx.at(claimed, 2),
                }
            )
        if state == "in_review":
            continue
        decided = ctx.at(claimed, 20)
        if state == "returned":
            row["return_request"] = {
                "message": "请补充近一年财务报表。",
                "fields": ["revenue_last_year"],
            }
            _transition(ctx, row, "in_review", "returned", decided, advisor, "请补充近一年财务报表")
            continue
        if state == "withdrawn" and rng.random() < 0.5:
            _transition(ctx, row, "in_review", "withdrawn", decided, sme, "企业撤回申请")
            continue
        if state == "rejected" or (state == "closed" and rng.random() < 0.25):
            row["reject_reason_code"] = rng.choice(REJECT_CODES)
            row["reject_reason_text"] = "经审核不符合条件。"
            _transition(ctx, row, "in_review", "rejected", decided, advisor, "经审核不符合条件")
            if state == "closed":
                _close(ctx, row, "rejected", ctx.at(decided, 24 * 7), rows["ratings"], sme)
            continue
        # Referred: one referral per consented bank, for the best eligible product.
        version_id = row["product_version_id"] or ctx.versions[next(iter(ctx.versions))].id
        _transition(ctx, row, "in_review", "referred", decided, advisor, "推荐给银行")
        settled = False
        for bank_id in banks:
            ref_state = _pick(rng, REFERRAL_STATES_RECENT if recent else REFERRAL_STATES_OLD)
            if state == "withdrawn":
                ref_state = "withdrawn"
            referral = _referral(
                ctx,
                row,
                bank_id,
                version_id,
                app_consents[bank_id],
                ref_state,
                decided,
                advisor,
                rows,
                new_verification_code,
            )
            rows["referrals"].append(referral)
            settled = settled or ref_state in ("repaid", "declined", "defaulted")
        if state == "withdrawn":
            withdrawn = ctx.at(decided, 72)
            for consent in app_consents.values():
                if rng.random() < 0.5:
                    consent["withdrawn_at"] = withdrawn
            _transition(ctx, row, "referred", "withdrawn", withdrawn, sme, "企业撤回申请")
        elif state == "closed" or (settled and not recent and rng.random() < 0.3):
            _close(ctx, row, "referred", ctx.at(decided, 24 * 30), rows["ratings"], sme)

    # Scores for every screened application, with the champion model's reasons.
    scores: list[dict[str, Any]] = []
    if scored_apps:
        scored = ctx.model.score_many(
            pd.DataFrame(features), reasons=True, missing_ok=True, nthread=1
        )
        for app_row, feats, (_, result) in zip(
            scored_apps, features, scored.iterrows(), strict=True
        ):
            snapshot = {k: (None if _nan(v) else float(v)) for k, v in feats.items()}
            app_row["feature_snapshot"] = snapshot
            if _nan(result["pd"]):
                continue  # too little to score: the portal stores no score either
            scores.append(
                {
                    "application_id": app_row["id"],
                    "model_version_id": ctx.model_row.id,
                    "pd": float(result["pd"]),
                    "score": int(result["score"]),
                    "grade": str(result["grade"]),
                    "reasons": _plain(result["reasons"]),
                    "feature_snapshot": snapshot,
                    "details": None,
                    "scored_at": app_row["screened_at"],
                }
            )

    writer.insert(Application.__table__, rows["applications"])
    writer.insert(Match.__table__, _with_ids(writer, Match.__table__, rows["matches"]))
    writer.insert(CreditScore.__table__, _with_ids(writer, CreditScore.__table__, scores))
    writer.insert(Consent.__table__, rows["consents"])
    writer.insert(Referral.__table__, rows["referrals"])
    writer.insert(
        BankDecision.__table__, _with_ids(writer, BankDecision.__table__, rows["decisions"])
    )
    writer.insert(LoanOutcome.__table__, _with_ids(writer, LoanOutcome.__table__, rows["outcomes"]))
    writer.insert(
        ApplicationNote.__table__, _with_ids(writer, ApplicationNote.__table__, rows["notes"])
    )
    writer.insert(Rating.__table__, _with_ids(writer, Rating.__table__, rows["ratings"]))
    writer.insert(Job.__table__, rows["jobs"])
    writer.insert(Notification.__table__, _with_ids(writer, Notification.__table__, _notices(ctx)))


def _nan(value: Any) -> bool:
    try:
        return value is None or bool(value != value)  # NaN and pandas' NA
    except TypeError:
        return True  # pandas' NA refuses to be a bool


def _plain(value: Any) -> Any:
    """Return JSON-able plain data (numpy scalars to Python numbers)."""
    return json.loads(json.dumps(value, default=float))


def _with_ids(writer: BulkWriter, table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start = writer.next_id(table, len(rows))
    for i, row in enumerate(rows):
        row["id"] = start + i
    return rows


def _job(
    application_id: int,
    created: datetime,
    finished: datetime | None,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the screening job of an application (done, or still queued)."""
    return {
        "id": str(uuid.UUID(int=random.getrandbits(128), version=4)),
        "kind": "screen_application",
        "state": "done" if finished else "queued",
        "args": {"application_id": application_id},
        "object_type": "application",
        "object_id": application_id,
        "created_at": created,
        "started_at": created if finished else None,
        "finished_at": finished,
        "message": "",
        "result": result,
    }


def _transition(
    ctx: Context,
    row: dict[str, Any],
    from_state: str,
    to_state: str,
    at: datetime,
    actor: int | None,
    reason: str,
) -> None:
    """Record an application's state change as the lifecycle does: an audit event and a notice."""
    _audit(
        ctx,
        at,
        actor,
        f"application.{to_state}",
        "application",
        row["id"],
        from_state,
        to_state,
        reason,
    )
    ctx.notices.append((row["enterprise_id"], row["id"], to_state, at, reason))
    row["updated_at"] = at


def _notices(ctx: Context) -> list[dict[str, Any]]:
    """Return the notices of this round's state changes (older ones read)."""
    rows = [
        {
            "enterprise_id": enterprise_id,
            "kind": "status",
            "title_zh": f"融资申请 #{application_id} 状态更新：{STATE_TITLES.get(state, state)}",
            "title_en": f"Application #{application_id} is now {state}",
            "body_zh": reason,
            "body_en": "",
            "link": f"/sme/applications/{application_id}",
            "created_at": at,
            "read_at": at + timedelta(days=1) if at < ctx.now - timedelta(days=14) else None,
        }
        for enterprise_id, application_id, state, at, reason in ctx.notices
    ]
    ctx.notices.clear()
    return rows


def _close(
    ctx: Context,
    row: dict[str, Any],
    from_state: str,
    at: datetime,
    ratings: list[dict[str, Any]],
    sme: int,
) -> None:
    """Close the application; most firms rate the service."""
    at = min(at, ctx.now - timedelta(hours=1))
    _transition(ctx, row, from_state, "closed", at, None, "办结")
    row["state"] = "closed"
    row["closed_at"] = at
    if ctx.rng.random() < 0.6:
        stars = ctx.rng.choices((5, 4, 3, 2, 1), weights=(50, 30, 12, 5, 3))[0]
        ratings.append(
            {
                "application_id": row["id"],
                "enterprise_id": row["enterprise_id"],
                "stars": stars,
                "comment": "服务及时，沟通顺畅。" if stars >= 4 else "",
                "created_at": at,
                "created_by_id": sme,
            }
        )
        _audit(ctx, at, sme, "application.rated", "application", row["id"])


def _referral(
    ctx: Context,
    app: dict[str, Any],
    bank_id: int,
    version_id: int,
    consent: dict[str, Any],
    state: str,
    sent: datetime,
    advisor: int,
    rows: dict[str, list[dict[str, Any]]],
    new_code: Callable[[], str],
) -> dict[str, Any]:
    """Return a referral in ``state``; add its decision, outcomes and audit events."""
    rng = ctx.rng
    bank_user = rng.choice(ctx.bank_users[bank_id])
    referral_id = ctx.writer.next_id(Referral.__table__)

    def event(at: datetime, actor: int | None, to: str, frm: str | None, reason: str = "") -> None:
        _audit(ctx, at, actor, f"referral.{to}", "referral", referral_id, frm, to, reason)

    referral: dict[str, Any] = {
        "id": referral_id,
        "application_id": app["id"],
        "bank_id": bank_id,
        "product_version_id": version_id,
        "consent_id": consent["id"],
        "state": state,
        "advisor_opinion": "企业经营稳定，建议予以支持。",
        "created_by_id": advisor,
        "sent_at": sent,
        "due_at": sent + timedelta(days=2),
        # The portal's packet number: RP-<Shanghai date>-<id>.
        "packet_number": f"RP-{sent + timedelta(hours=8):%Y%m%d}-{referral_id:06d}",
        "created_at": sent,
        "updated_at": sent,
        "lock_version": 1,
        "matures_on": None,
    }
    event(sent, advisor, "sent", None, referral["advisor_opinion"])
    if state == "sent":
        return referral
    viewed = ctx.at(sent, 10)
    referral["viewed_at"] = viewed
    event(viewed, bank_user, "viewed", "sent")
    if state in ("viewed", "withdrawn"):
        if state == "withdrawn":
            event(ctx.at(viewed, 30), None, "withdrawn", "viewed")
        return referral
    decided = ctx.at(viewed, 30)
    referral["decided_at"] = referral["updated_at"] = decided
    decision = "approved" if state in DECIDED else state
    amount = app["amount"] if decision == "approved" else None
    rows["decisions"].append(
        {
            "referral_id": referral_id,
            "decision": decision,
            "approved_amount": amount,
            "annual_rate": Decimal(str(round(rng.uniform(0.028, 0.045), 4))) if amount else None,
            "term_months": app["term_months"] if amount else None,
            "reason_code": rng.choice(DECLINE_CODES) if decision == "declined" else None,
            "reason_text": "请补充近三个月银行流水。" if decision == "info_requested" else "",
            "decided_by_id": bank_user,
            "decided_at": decided,
        }
    )
    event(decided, bank_user, decision, "viewed")
    if decision != "approved" or state == "approved":
        return referral
    disbursed = ctx.at(decided, 24 * 5)
    rows["outcomes"].append(
        {
            "referral_id": referral_id,
            "event": "disbursed",
            "occurred_on": disbursed.date(),
            "amount": amount,
            "recorded_by_id": bank_user,
            "recorded_at": disbursed,
        }
    )
    event(disbursed, bank_user, "disbursed", "approved")
    # As services.bank_actions keeps it (maturities.refresh_maturity): the list pages on it.
    from finportal.services.maturities import maturity_date

    referral["matures_on"] = maturity_date(disbursed.date(), app["term_months"])
    if state == "disbursed":
        return referral
    ended = disbursed + timedelta(days=30 * app["term_months"] * rng.uniform(0.5, 1.0))
    ended = min(ended, ctx.now - timedelta(days=1))
    rows["outcomes"].append(
        {
            "referral_id": referral_id,
            "event": state,
            "occurred_on": ended.date(),
            "amount": None,
            "recorded_by_id": bank_user,
            "recorded_at": ended,
        }
    )
    event(ended, bank_user, state, "disbursed")
    return referral


# --- batches -----------------------------------------------------------------------------


def _batches(
    ctx: Context, plan: Plan, parks: list[Any], chambers: list[Any], product_ids: dict[str, Any]
) -> None:
    """Write batches of park and chamber members, each member with its consent to the batch's bank."""
    from finportal.services.labels import DEFAULT_SCOPE

    rng, writer = ctx.rng, ctx.writer
    batches: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    by_park: dict[str, list[dict[str, Any]]] = {}
    by_chamber: dict[str, list[dict[str, Any]]] = {}
    for e in ctx.enterprises:
        if e["verification_state"] != "verified":
            continue
        park_codes, chamber_codes = ctx.members.get(e["id"], ([], []))
        for code in park_codes:
            by_park.setdefault(code, []).append(e)
        for code in chamber_codes:
            by_chamber.setdefault(code, []).append(e)
    first = writer.next_id(Batch.__table__, plan.batches)
    organisations = [("park", p) for p in parks] + [("chamber", c) for c in chambers]
    for n in range(plan.batches):
        kind, org = organisations[n % len(organisations)]
        pool = (by_park if kind == "park" else by_chamber).get(org.code, [])
        if not pool:
            continue
        created = ctx.now - timedelta(days=rng.uniform(1, 3 * 365))
        state = (
            "open"
            if created > ctx.now - timedelta(days=30)
            else rng.choice(("submitted", "closed", "closed"))
        )
        bank_id = rng.choice(ctx.banks)
        code = f"{kind}_batch"
        cap = Decimal(rng.choice((1_000_000, 2_000_000, 3_000_000))).quantize(Decimal("0.01"))
        batch = {
            "id": first + n,
            "code": f"GM-{n + 1:05d}",
            "name": f"{org.name_zh} 批次贷（{NAME_MARK}{n + 1:05d}）",
            "park_id": org.id if kind == "park" else None,
            "chamber_id": org.id if kind == "chamber" else None,
            "bank_id": bank_id,
            "product_id": product_ids[code].product_id,
            "product_version_id": product_ids[code].id,
            "quota_total": cap * 40,
            "per_firm_cap": cap,
            "quota_used": Decimal("0.00"),
            "state": state,
            "filing_status": "filed" if state == "closed" else "not_filed",
            "filed_at": created + timedelta(days=20) if state == "closed" else None,
            "submitted_at": created + timedelta(days=10) if state != "open" else None,
            "created_at": created,
            "updated_at": created,
        }
        batches.append(batch)
        _audit(
            ctx,
            created,
            rng.choice(ctx.advisors),
            "batch.created",
            "batch",
            batch["id"],
            None,
            "open",
        )
        chosen = rng.sample(pool, min(len(pool), rng.randint(8, 40)))
        for e in chosen:
            if state == "open":
                member_state = rng.choice(("recommended", "checked"))
            elif state == "submitted":
                member_state = rng.choice(("submitted", "approved", "declined"))
            else:
                member_state = rng.choice(("approved", "approved", "declined", "withdrawn"))
            requested = cap * Decimal(rng.choice(("0.5", "0.8", "1")))
            approved = requested if member_state == "approved" else None
            if approved is not None and batch["quota_used"] + approved > batch["quota_total"]:
                member_state, approved = "declined", None
            if approved is not None:
                batch["quota_used"] += approved
            members.append(
                {
                    "batch_id": batch["id"],
                    "enterprise_id": e["id"],
                    "state": member_state,
                    "requested_amount": requested.quantize(Decimal("0.01")),
                    "approved_amount": approved.quantize(Decimal("0.01")) if approved else None,
                    "decided_at": created + timedelta(days=15)
                    if member_state in ("approved", "declined")
                    else None,
                    "note": "",
                    "reason_text": "",
                    "created_at": created,
                }
            )
            _audit(ctx, created, None, "batch_member.recommended", "batch_member", 0)
            consents.append(
                {
                    "enterprise_id": e["id"],
                    "batch_id": batch["id"],
                    "bank_id": bank_id,
                    "scope": DEFAULT_SCOPE,
                    "granted_at": created + timedelta(days=1),
                    "valid_until": (created + timedelta(days=366)).date(),
                    "granted_by_id": ctx.sme_users[e["id"]],
                }
            )
    writer.insert(Batch.__table__, batches)
    writer.insert(BatchMember.__table__, _with_ids(writer, BatchMember.__table__, members))
    writer.insert(Consent.__table__, _with_ids(writer, Consent.__table__, consents))


# --- audit events ------------------------------------------------------------------------


def _audit_rows(
    writer: BulkWriter,
    events: list[tuple[Any, ...]],
    target: int,
    rng: random.Random,
    now: datetime,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the audit events in time order, in chunks, topped up with packet downloads.

    Banks download a referral's packet several times (each download is audited), so the
    trail is topped up to ``target`` events with downloads of referrals that were viewed.
    A hash chain (``seq``, ``prev_hash``, ``row_hash``) would be computed here, in this order.
    """
    viewed = [e for e in events if e[2] == "referral.viewed"]
    missing = target - len(events)
    for n in range(max(0, missing)):
        at, actor, _action, _type, referral_id, *_ = (
            viewed[n % len(viewed)] if viewed else events[n % len(events)]
        )
        events.append(
            (
                min(at + timedelta(hours=1 + rng.random() * 72), now),
                actor,
                "referral.packet_downloaded",
                "referral",
                referral_id,
                None,
                None,
                "",
                {"download": 1 + n // max(1, len(viewed))},
            )
        )
    events.sort(key=lambda e: e[0])
    first = writer.next_id(AuditEvent.__table__, len(events))
    chunk: list[dict[str, Any]] = []
    for i, (at, actor, action, object_type, object_id, frm, to, reason, data) in enumerate(events):
        chunk.append(
            {
                "id": first + i,
                "at": at,
                "actor_id": actor,
                "action": action,
                "object_type": object_type,
                "object_id": object_id or None,
                "from_state": frm,
                "to_state": to,
                "reason": reason,
                "data": data,
            }
        )
        if len(chunk) == 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the whole run -----------------------------------------------------------------------


def existing_scale_data(session: Session) -> int:
    """Return how many scale enterprises the database already holds."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Enterprise)
            .where(Enterprise.name.like(f"%（{NAME_MARK}%"))
        )
        or 0
    )


def generate(
    session: Session,
    plan: Plan,
    *,
    today: date,
    echo: Callable[[str], None] = lambda _m: None,
    demo: bool = True,
) -> dict[str, int]:
    """Generate the plan's data on top of the demo data; return the rows written per table.

    With ``demo=False`` only what the data rests on is made first (parks, chambers, banks,
    LPR, holidays, the published catalogue and the reference credit model), not the demo's
    own journeys: quicker, for the faults script.
    """
    from finportal.demo import load_demo, seed_reference
    from finportal.services import accounts, catalog, credit

    started = time.perf_counter()

    def step(message: str) -> None:
        echo(f"[{time.perf_counter() - started:7.1f}s] {message}")

    already = existing_scale_data(session)
    if already:
        raise AlreadyGenerated(
            f"数据库中已有 {already} 家规模测试企业，不再重复生成；请使用空数据库。"
            f" / The database already holds {already} scale enterprises; use an empty database."
        )
    if demo:
        step("demo data (reference data, catalogue, credit model, demo users)")
        load_demo(session)
    else:
        step("reference data, catalogue and credit model")
        seed_reference(session)
        session.commit()
        catalog.sync_catalog(session)
        credit.ensure_reference_model(session)
    rng = random.Random(plan.seed)
    random.seed(plan.seed)  # job ids
    now = min(utcnow(), datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=10))
    cat, versions = catalog.current_catalog(session)
    lpr = catalog.current_lpr(session, today)
    model_row = credit.champion(session)
    assert model_row is not None
    model = credit.load(model_row)
    parks = list(session.scalars(select(Park).order_by(Park.id)))
    chambers = list(session.scalars(select(Chamber).order_by(Chamber.id)))
    password_hash = accounts.hash_password(PASSWORD)
    session.commit()

    conn = session.connection()
    writer = BulkWriter(conn)

    step("banks and staff users")
    bank_rows = []
    first_bank = writer.next_id(Bank.__table__, SCALE_BANKS)
    for n in range(SCALE_BANKS):
        bank_rows.append(
            {
                "id": first_bank + n,
                "code": f"scale_bank_{n + 1:02d}",
                "name_zh": f"规模测试银行{n + 1:02d}（演示）",
                "name_en": f"Scale Test Bank {n + 1:02d} (fictional)",
                "demo": True,
                "active": True,
            }
        )
    writer.insert(Bank.__table__, bank_rows)
    banks = [b["id"] for b in bank_rows]

    step(f"{plan.enterprises} enterprises with memberships")
    enterprises, _ = _enterprise_rows(
        plan, rng, writer.next_id(Enterprise.__table__, plan.enterprises), today
    )
    writer.insert(Enterprise.__table__, enterprises)
    members = _membership_rows(writer, enterprises, parks, chambers, rng)

    users: list[dict[str, Any]] = []
    first_user = writer.next_id(User.__table__, plan.enterprises + ADVISORS + 2 * SCALE_BANKS)

    def user(username: str, role: str, display: str, **links: Any) -> int:
        uid = first_user + len(users)
        users.append(
            {
                "id": uid,
                "username": username,
                "password_hash": password_hash,
                "role": role,
                "display_name": display,
                "active": True,
                **links,
            }
        )
        return uid

    sme_users = {
        e["id"]: user(f"scale-sme-{n + 1:05d}", "sme", e["name"], enterprise_id=e["id"])
        for n, e in enumerate(enterprises)
    }
    advisors = [
        user(f"scale-advisor-{n + 1:02d}", "advisor", f"规模顾问{n + 1:02d}")
        for n in range(ADVISORS)
    ]
    bank_users = {
        b: [
            user(
                f"scale-bank-{i + 1:02d}-{k}", "bank", f"规模银行{i + 1:02d}客户经理{k}", bank_id=b
            )
            for k in (1, 2)
        ]
        for i, b in enumerate(banks)
    }
    writer.insert(User.__table__, users)
    writer.insert(UserSignIn.__table__, [{"user_id": u["id"], "session_version": 1} for u in users])
    step(f"{len(users)} users (password {PASSWORD})")

    ctx = Context(
        session=session,
        writer=writer,
        rng=rng,
        now=now,
        catalog=cat,
        versions=versions,
        lpr=lpr,
        model_row=model_row,
        model=model,
        enterprises=[e for e in enterprises],
        members=members,
        sme_users=sme_users,
        advisors=advisors,
        bank_users=bank_users,
        banks=banks,
        audit=[],
        notices=[],
        # Referred applications (about 58 % of all) carry the referrals.
        referrals_per_referred=max(1.0, plan.referrals / max(1, plan.applications * 0.55)),
        organisation_names={
            **{("park", p.code): p.name_zh for p in parks},
            **{("chamber", c.code): c.name_zh for c in chambers},
        },
    )
    for start in range(0, plan.applications, CHUNK):
        count = min(CHUNK, plan.applications - start)
        _applications_round(ctx, start + 1, count)
        step(
            f"applications {start + count:>7}/{plan.applications}: "
            f"{writer.counts.get('referrals', 0)} referrals, {writer.counts.get('matches', 0)} matches"
        )
    step(f"{plan.batches} batches with members and consents")
    batch_versions = {
        code: versions[code] for code in ("park_batch", "chamber_batch") if code in versions
    }
    if len(batch_versions) == 2:
        _batches(ctx, plan, parks, chambers, batch_versions)
    step(f"audit events (target {plan.audit_events})")
    for chunk in _audit_rows(writer, ctx.audit, plan.audit_events, rng, now):
        writer.insert(AuditEvent.__table__, chunk)
    ctx.audit.clear()
    writer.finish()
    session.commit()
    step("linking the audit events into the hash chain")
    from finportal.services.audit import chain_unchained

    chain_unchained(session, chunk=5000)
    if conn.dialect.name == "postgresql":
        step("ANALYZE")
        with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))
    if plan.packets:
        step(f"rendering {plan.packets} real packets for the first scale bank")
        _render_packets(session, banks[0], plan.packets)
    step("done")
    return dict(writer.counts)


def _render_packets(session: Session, bank_id: int, count: int) -> int:
    """Render real packets for the bank's newest open referrals (so downloads can be tested)."""
    from finportal.services.errors import Forbidden
    from finportal.services.packets import render_referral_packet

    ids = session.scalars(
        select(Referral.id)
        .where(
            Referral.bank_id == bank_id, Referral.state.in_(("sent", "viewed", "info_requested"))
        )
        .order_by(Referral.sent_at.desc(), Referral.id.desc())
        .limit(4 * count)
    ).all()
    rendered = 0
    for referral_id in ids:
        if rendered == count:
            break
        try:
            render_referral_packet(session, referral_id=referral_id)
        except Forbidden:
            session.rollback()  # the firm withdrew its consent: no packet, as in the portal
            continue
        session.commit()
        rendered += 1
    return rendered


def _parse_scale(value: str) -> float:
    if value == "full":
        return 1.0
    try:
        scale = float(value)
    except ValueError:
        raise click.BadParameter("use 'full' or a fraction such as 0.01") from None
    if not 0 < scale <= 10:
        raise click.BadParameter("the scale is a fraction of the full size, 0 < scale <= 10")
    return scale


@click.command("scale-data")
@click.option(
    "--scale",
    default="full",
    show_default=True,
    help="'full' (20,000 enterprises, 100,000 applications, 150,000 referrals, 1,000,000 audit events) or a fraction of it.",
)
@click.option("--seed", default=20250205, show_default=True, help="Random seed.")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Reference day (default: today in Shanghai).",
)
@click.option(
    "--packets",
    default=40,
    show_default=True,
    help="Real packets to render for the load test's bank.",
)
@click.option("--demo/--no-demo", default=True, show_default=True, help="Load the demo data first.")
@with_appcontext
def scale_command(scale: str, seed: int, today: datetime | None, packets: int, demo: bool) -> None:
    """Fill the database with a district's volume of plausible data (bulk inserts)."""
    from finportal.extensions import db
    from finportal.services.workdays import today_local

    plan = Plan.of(_parse_scale(scale), seed=seed, packets=packets)
    day = today.date() if today else today_local()
    click.echo(
        f"scale data: {plan.enterprises} enterprises, {plan.applications} applications, "
        f"~{plan.referrals} referrals, {plan.audit_events} audit events, {plan.batches} batches; "
        f"seed {plan.seed}, today {day}"
    )
    started = time.perf_counter()
    counts = generate(
        db.session, plan, today=day, echo=lambda m: click.echo(m, err=True), demo=demo
    )
    seconds = time.perf_counter() - started
    total = sum(counts.values())
    click.echo(f"wrote {total} rows in {seconds:.1f} s on {db.engine.dialect.name}")
    for name, n in sorted(counts.items()):
        click.echo(f"  {name:18} {n:>10}")
    sys.stdout.flush()
