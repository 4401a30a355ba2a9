"""政策找企业 that is true: tell each firm only what is new or cheaper for it, and remind it of
application deadlines (申报提醒).

One rule (:func:`decide`) for every trigger: a firm is matched again when its profile changes
(``rematch_enterprise``), when a product version is published (``notify_eligible``) and when
the LPR changes (``policy_push`` over the catalogue). For each product it qualifies for, the
firm is told

- that it qualifies, when it was never told of the product (``new``), and
- that the product became cheaper, when the effective annual cost now (the one cost measure,
  ``products.cost_rank``, quoted at the product's example loan and the LPR in force) is below
  the cost it was last told (``cheaper``);

and nothing otherwise: a description edit, a dearer version or an unchanged LPR push
nothing. What was told is kept per firm and product (:class:`~finportal.models.PushRecord`),
so every job can run twice and send nothing the second time. The whole district is read in
chunks straight into the matcher's column table (``services.profile_table``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import products
from finportal import jobs, limits
from finportal.models import Enterprise, Notification, ProductVersion, PushRecord, utcnow
from finportal.services import catalog as catalog_service
from finportal.services.audit import record_event
from finportal.services.errors import NotFound
from finportal.services.profile_table import fields_for, iter_tables
from finportal.services.profiles import enterprise_profile
from finportal.services.workdays import today_local
from products.pricing import wan_text

#: Why a firm is matched again (recorded with the job's result and the audit event).
TRIGGERS = ("published", "profile", "lpr", "scheduled")


@dataclass(frozen=True)
class Offer:
    """A current product as a firm would be told of it: its version and its cost now."""

    product_id: int
    version_id: int
    version_number: int
    product: products.Product
    quote: products.Quote | None

    @property
    def rate(self) -> Decimal | None:
        """Return the effective annual cost at the example loan (None when it cannot be quoted)."""
        return None if self.quote is None else self.quote.effective_annual_cost_rate


def decide(told: tuple[Any, Decimal | None] | None, rate: Decimal | None) -> str | None:
    """Return what to tell a firm that qualifies: ``new``, ``cheaper`` or None (nothing).

    ``told`` is what the firm was last told of the product (version, effective annual cost)
    or None when it never was.
    """
    if told is None:
        return "new"
    told_rate = told[1]
    if rate is None or told_rate is None:
        return None
    return "cheaper" if rate < told_rate else None


def percent(rate: Decimal) -> str:
    """Write a yearly rate as a percentage with two places: 0.0345 -> '3.45%'."""
    return f"{(rate * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def offers(
    session: Session, codes: Iterable[str] | None = None, today: date | None = None
) -> list[Offer]:
    """Return the current products (all, or those of ``codes``) priced at today's LPR."""
    day = today or today_local()
    lpr = catalog_service.current_lpr(session, day)
    wanted = None if codes is None else set(codes)
    out = []
    for version in catalog_service.current_versions(session):
        if wanted is not None and version.product.code not in wanted:
            continue
        out.append(offer_of(version, lpr))
    return out


def offer_of(version: ProductVersion, lpr: Decimal) -> Offer:
    """Return the offer of one stored version at an LPR."""
    product = catalog_service.product_of(version)
    try:
        priced: products.Quote | None = products.quote(
            product, product.example_amount.value, product.example_term.value, lpr
        )
    except products.QuoteError:
        priced = None
    return Offer(version.product_id, version.id, version.number, product, priced)


def _texts(offer: Offer, what: str, trigger: str, told_rate: Decimal | None) -> dict[str, str]:
    """Return the notice's title and body in both languages."""
    p = offer.product
    if what == "cheaper":
        assert offer.rate is not None
        assert told_rate is not None
        title_zh = f"「{p.name_zh}」对贵企业更优惠了：年化综合成本由 {percent(told_rate)} 降至 {percent(offer.rate)}"
        title_en = f"{p.name_en} now costs your enterprise less: {percent(told_rate)} → {percent(offer.rate)} a year"
    elif trigger == "published" and offer.version_number == 1:
        title_zh = f"新产品发布：{p.name_zh}，贵企业符合申请条件"
        title_en = f"New product: {p.name_en} — your enterprise qualifies"
    else:
        title_zh = f"贵企业符合「{p.name_zh}」的申请条件"
        title_en = f"Your enterprise qualifies for {p.name_en}"
    body_zh, body_en = p.description_zh, p.description_en
    quote = offer.quote
    if quote is not None:
        marks = quote.demo_marks
        demo = marks["rate"] or marks["fee"] or marks["subsidy"]
        body_zh += (
            f"\n按示例贷款 {wan_text(quote.amount)} 万元、{quote.term_months} 个月测算，"
            f"年化综合成本 {percent(quote.effective_annual_cost_rate)}"
            + ("（含演示数据，待确认）" if demo else "")
            + "。"
        )
        body_en += (
            f"\nFor an example loan of {wan_text(quote.amount)} (10k yuan) over"
            f" {quote.term_months} months the effective annual cost is"
            f" {percent(quote.effective_annual_cost_rate)}"
            + (" (includes demo values, to be confirmed)" if demo else "")
            + "."
        )
    return {
        "title_zh": limits.clip(title_zh, "title"),
        "title_en": limits.clip(title_en, "title"),
        "body_zh": body_zh,
        "body_en": body_en,
    }


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL (a first push writes
    hundreds of thousands of notices), executemany elsewhere."""
    from finportal.scale import BulkWriter

    BulkWriter(session.connection()).insert(table, rows)


def _told(
    session: Session, product_ids: list[int], low: int, high: int
) -> dict[tuple[int, int], tuple[int, Any, Decimal | None]]:
    """Return {(enterprise, product): (record id, version, cost told)} for firms low..high."""
    rows = session.execute(
        select(
            PushRecord.enterprise_id,
            PushRecord.product_id,
            PushRecord.id,
            PushRecord.version_id,
            PushRecord.effective_rate,
        ).where(
            PushRecord.product_id.in_(product_ids),
            PushRecord.enterprise_id >= low,
            PushRecord.enterprise_id <= high,
        )
    )
    return {(e, p): (i, v, r) for e, p, i, v, r in rows}


def _push_table(
    session: Session,
    table: products.ProfileTable,
    catalog_offers: list[Offer],
    trigger: str,
    today: date,
) -> dict[str, int]:
    """Match one table of firms and tell each what is new or cheaper for it (no commit)."""
    counts = {"eligible": 0, "new": 0, "cheaper": 0}
    if table.n == 0 or not catalog_offers:
        return counts
    ids = list(table.ids or [])
    result = products.match_many(
        products.Catalog(o.product for o in catalog_offers), table, today=today
    )
    told = _told(session, [o.product_id for o in catalog_offers], min(ids), max(ids))
    now = utcnow()
    notices: list[dict[str, Any]] = []
    fresh: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for offer in catalog_offers:
        rows = np.flatnonzero(result.eligible_for(offer.product.code))
        counts["eligible"] += int(rows.size)
        texts: dict[tuple[str, Decimal | None], dict[str, str]] = {}
        for row in rows.tolist():
            enterprise_id = int(ids[row])
            record = told.get((enterprise_id, offer.product_id))
            last = None if record is None else (record[1], record[2])
            what = decide(last, offer.rate)
            if what is None:
                continue
            counts[what] += 1
            told_rate = None if record is None else record[2]
            key = (what, told_rate)
            if key not in texts:
                texts[key] = _texts(offer, what, trigger, told_rate)
            rate_key = "none" if offer.rate is None else str(offer.rate)
            notices.append(
                {
                    "enterprise_id": enterprise_id,
                    "kind": "policy_push",
                    "link": f"/products/{offer.product.code}",
                    "dedupe_key": (
                        f"push:{offer.product.code}:{enterprise_id}:"
                        f"v{offer.version_number}:{rate_key}"
                    ),
                    "created_at": now,
                    **texts[key],
                }
            )
            values = {
                "version_id": offer.version_id,
                "effective_rate": offer.rate,
                "told_at": now,
            }
            if record is None:
                fresh.append(
                    {"enterprise_id": enterprise_id, "product_id": offer.product_id, **values}
                )
            else:
                changed.append({"id": record[0], **values})
    if notices:
        _insert(session, Notification.__table__, notices)
    if fresh:
        _insert(session, PushRecord.__table__, fresh)
    if changed:
        session.execute(update(PushRecord), changed)
    return counts


def push_catalog(
    session: Session,
    *,
    codes: Iterable[str] | None = None,
    trigger: str = "scheduled",
    today: date | None = None,
    actor_id: int | None = None,
) -> dict[str, Any]:
    """Match every enterprise with the current products (or ``codes``) and push what is new or
    cheaper for each firm; audited, the caller (a job) commits."""
    day = today or today_local()
    catalog_offers = offers(session, codes, day)
    totals = {"enterprises": 0, "eligible": 0, "new": 0, "cheaper": 0}
    columns = fields_for(o.product for o in catalog_offers)
    for table in iter_tables(session, fields=columns):
        totals["enterprises"] += table.n
        for key, value in _push_table(session, table, catalog_offers, trigger, day).items():
            totals[key] += value
    record_event(
        session,
        actor_id=actor_id,
        action="product.policy_push",
        object_type="product",
        object_id=catalog_offers[0].product_id if len(catalog_offers) == 1 else None,
        reason=f"{totals['new'] + totals['cheaper']} notified ({trigger})",
        data={
            "trigger": trigger,
            "codes": [o.product.code for o in catalog_offers],
            "versions": [o.version_number for o in catalog_offers],
            **totals,
        },
    )
    return {"trigger": trigger, **totals}


def push_version(
    session: Session, *, product_version_id: int, today: date | None = None
) -> dict[str, Any]:
    """Push a just-published version to the firms it is new or cheaper for."""
    version = session.get(ProductVersion, product_version_id)
    if version is None:
        raise NotFound.of("product_version")
    if version.product.current_version_id != version.id or not version.product.active:
        # A later version (or a deactivation) came first: that one's push speaks for it.
        return {"trigger": "published", "skipped": "not current"}
    result = push_catalog(session, codes=[version.product.code], trigger="published", today=today)
    version.notified_at = utcnow()
    return result


def rematch_enterprise(
    session: Session, *, enterprise_id: int, today: date | None = None
) -> dict[str, Any]:
    """Match one firm again (its profile changed) and push what is new or cheaper for it."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        return {"trigger": "profile", "skipped": "no such enterprise"}
    day = today or today_local()
    table = products.profiles_to_table([enterprise_profile(enterprise)], ids=[enterprise.id])
    counts = _push_table(session, table, offers(session, None, day), "profile", day)
    return {"trigger": "profile", "enterprise_id": enterprise_id, **counts}


def rematch_later(session: Session, enterprise_id: int, *, actor_id: int | None) -> None:
    """Queue the re-match of a firm whose profile changed (after the caller's commit)."""
    jobs.enqueue(
        session,
        "rematch_enterprise",
        actor_id=actor_id,
        object_type="enterprise",
        object_id=enterprise_id,
        enterprise_id=enterprise_id,
    )


def lpr_changed(session: Session, *, actor_id: int | None) -> None:
    """Queue the push over the catalogue after the LPR table changed (after the caller's commit)."""
    jobs.enqueue(session, "policy_push", actor_id=actor_id, trigger="lpr")


# --- 申报提醒: application deadlines ------------------------------------------------------


def send_deadline_reminders(session: Session, *, today: date | None = None) -> dict[str, Any]:
    """Remind every qualifying firm of a product whose application window closes soon, once per
    reminder day of the window (the caller, a job, commits)."""
    day = today or today_local()
    due: list[tuple[Offer, int]] = []
    for offer in offers(session, None, day):
        window = offer.product.application_window
        if window is None:
            continue
        days = window.reminder_due(day)
        if days is not None:
            due.append((offer, days))
    sent = 0
    if not due:
        return {"reminded": 0, "products": []}
    catalog = products.Catalog(o.product for o, _ in due)
    done: dict[str, set[int]] = {}
    for offer, days in due:
        window = offer.product.application_window
        assert window is not None
        prefix = f"deadline:{offer.product.code}:{window.closes_on.isoformat()}:{days}:"
        done[offer.product.code] = {
            int(k.rsplit(":", 1)[1])
            for k in session.scalars(
                select(Notification.dedupe_key).where(Notification.dedupe_key.like(prefix + "%"))
            )
            if k
        }
    now = utcnow()
    for table in iter_tables(session, fields=fields_for(catalog)):
        result = products.match_many(catalog, table, today=day)
        ids = list(table.ids or [])
        rows: list[dict[str, Any]] = []
        for offer, days in due:
            window = offer.product.application_window
            assert window is not None
            p = offer.product
            left = (window.closes_on - day).days
            closes = window.closes_on.isoformat()
            demo_zh = "（申报期为演示数据，待确认）" if window.demo else ""
            demo_en = " (the dates are demo values, to be confirmed)" if window.demo else ""
            texts = {
                "title_zh": limits.clip(
                    f"申报提醒：「{p.name_zh}」申报期将于 {closes} 截止（还剩 {left} 天）", "title"
                ),
                "title_en": limits.clip(
                    f"Deadline: applications for {p.name_en} close on {closes} ({left} days left)",
                    "title",
                ),
                "body_zh": f"贵企业符合「{p.name_zh}」的申请条件，请在 {closes} 前申报。{demo_zh}",
                "body_en": (
                    f"Your enterprise qualifies for {p.name_en}; apply by {closes}.{demo_en}"
                ),
            }
            for row in np.flatnonzero(result.eligible_for(p.code)).tolist():
                enterprise_id = int(ids[row])
                if enterprise_id in done[p.code]:
                    continue
                done[p.code].add(enterprise_id)
                rows.append(
                    {
                        "enterprise_id": enterprise_id,
                        "kind": "deadline",
                        "link": f"/products/{p.code}",
                        "dedupe_key": f"deadline:{p.code}:{closes}:{days}:{enterprise_id}",
                        "created_at": now,
                        **texts,
                    }
                )
        if rows:
            _insert(session, Notification.__table__, rows)
            sent += len(rows)
    return {"reminded": sent, "products": [o.product.code for o, _ in due]}


# --- jobs ------------------------------------------------------------------------------


@jobs.job("notify_eligible")
def notify_eligible(session: Session, *, product_version_id: int) -> dict[str, Any]:
    """Push a newly published product version to the firms it is new or cheaper for."""
    return push_version(session, product_version_id=product_version_id)


@jobs.job("rematch_enterprise")
def rematch_enterprise_job(session: Session, *, enterprise_id: int) -> dict[str, Any]:
    """Match a firm whose profile changed and push what is new or cheaper for it."""
    return rematch_enterprise(session, enterprise_id=enterprise_id)


@jobs.job("policy_push", timeout=3600)
def policy_push_job(session: Session, *, trigger: str = "scheduled") -> dict[str, Any]:
    """Match every firm with the catalogue and push what is new or cheaper for each."""
    return push_catalog(session, trigger=trigger)


@jobs.job("deadline_reminders", timeout=3600)
def deadline_reminders_job(session: Session) -> dict[str, Any]:
    """Remind qualifying firms of application windows that close soon."""
    return send_deadline_reminders(session)


def periodic(session: Session) -> dict[str, str]:
    """Queue the catalogue push (an LPR that took effect today) and the deadline reminders."""
    pushed = jobs.enqueue(session, "policy_push", trigger="scheduled")
    reminded = jobs.enqueue(session, "deadline_reminders")
    return {"policy_push": pushed.id, "deadline_reminders": reminded.id}
