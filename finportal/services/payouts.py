"""Payout batches (一口兑付): the finance office's export, each entitlement paid once, clawbacks.

A payout takes every confirmed entitlement up to a period, marks each paid and writes one
line per entitlement; the table's unique key on the line's entitlement means nothing is ever
paid twice, whatever two people click at once. The export (Excel and CSV) lists the lines,
their total and the SHA-256 of its rows (:func:`canonical_rows`, written as CSV), so the
finance office can tell that the file it pays from is the one the portal made. Every text
cell goes through :func:`finportal.services.exports.safe_text` (no formula runs).

A clawback (追回) reverses one paid line: the entitlement becomes ``reversed`` (audited with
the reason), the line keeps when and why; the money is owed back, never paid again.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from finportal import limits
from finportal.domain.states import ENTITLEMENT
from finportal.domain.states import EntitlementState as E
from finportal.models import (
    Referral,
    SubsidyEntitlement,
    SubsidyPayout,
    SubsidyPayoutLine,
    utcnow,
)
from finportal.services import entitlements, notifications, workflow
from finportal.services.catalog import eager_version
from finportal.services.errors import Conflict, NotFound, ValidationFailed
from finportal.services.exports import cell_value, safe_text
from products.pricing import ZERO, money_text

#: The export's columns (Chinese, then English).
COLUMNS = [
    ("序号", "No."),
    ("补贴编号", "Subsidy id"),
    ("企业名称", "Enterprise"),
    ("统一社会信用代码", "USCC"),
    ("金融产品", "Product"),
    ("产品版本", "Version"),
    ("补贴类型", "Kind"),
    ("所属期间", "Period"),
    ("贷款银行", "Bank"),
    ("补贴依据（元）", "Paid by the firm (yuan)"),
    ("补贴金额（元）", "Subsidy (yuan)"),
]
TOTAL_LABEL = ("合计", "Total")
CHECKSUM_LABEL = "SHA-256"


def _load_lines(session: Session, payout_id: int) -> list[SubsidyPayoutLine]:
    return list(
        session.scalars(
            select(SubsidyPayoutLine)
            .options(
                joinedload(SubsidyPayoutLine.entitlement).joinedload(SubsidyEntitlement.enterprise),
                joinedload(SubsidyPayoutLine.entitlement)
                .joinedload(SubsidyEntitlement.referral)
                .joinedload(Referral.bank),
                joinedload(SubsidyPayoutLine.entitlement).options(
                    eager_version(SubsidyEntitlement.product_version)
                ),
            )
            .where(SubsidyPayoutLine.payout_id == payout_id)
            .order_by(SubsidyPayoutLine.id)
        )
    )


def canonical_rows(lines: list[SubsidyPayoutLine]) -> list[list[str]]:
    """Return the export's rows as text: the header, one row per line, the total row.

    The checksum is the SHA-256 of these rows written as CSV (:func:`checksum_of`); the
    Excel file holds the same values (money as numbers with two decimals).
    """
    rows = [[zh for zh, _en in COLUMNS]]
    total = ZERO
    for number, line in enumerate(lines, 1):
        row = line.entitlement
        version = row.product_version
        rows.append(
            [
                str(number),
                str(row.id),
                safe_text(row.enterprise.name),
                safe_text(row.enterprise.uscc),
                safe_text(version.product.name_zh),
                str(version.number),
                entitlements.KIND_TITLES[row.kind][0],
                row.period,
                safe_text(row.referral.bank.name_zh),
                money_text(row.base),
                money_text(line.amount),
            ]
        )
        total += line.amount
    rows.append([TOTAL_LABEL[0], str(len(lines))] + [""] * 8 + [money_text(total)])
    return rows


def _csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def checksum_of(rows: list[list[str]]) -> str:
    """Return the SHA-256 (hex) of rows written as CSV, UTF-8, one ``\\n`` per row."""
    return hashlib.sha256(_csv_text(rows).encode("utf-8")).hexdigest()


def create_payout(
    session: Session, period: Any, *, actor_id: int | None, now: datetime | None = None
) -> SubsidyPayout:
    """Pay every confirmed entitlement up to ``period`` in one batch; commit.

    Ends the answer time of lists past their deadline first. Refused (409) when nothing is
    to be paid: a second run the same day pays nothing twice.
    """
    period = entitlements.check_period(period)
    now = now or utcnow()
    entitlements.close_expired(session, now=now)
    rows = list(
        session.scalars(
            select(SubsidyEntitlement)
            .where(
                SubsidyEntitlement.state == E.CONFIRMED.value,
                SubsidyEntitlement.period <= period,
                SubsidyEntitlement.amount > 0,
            )
            .order_by(SubsidyEntitlement.enterprise_id, SubsidyEntitlement.id)
        )
    )
    if not rows:
        raise Conflict(
            f"{period} 及以前没有待兑付的补贴。",
            f"Nothing confirmed up to {period} is waiting to be paid.",
            code="nothing_to_pay",
        )
    payout = SubsidyPayout(
        period=period,
        created_at=now,
        created_by_id=actor_id,
        total=sum((r.amount for r in rows), ZERO),
        count=len(rows),
        checksum="",
    )
    session.add(payout)
    session.flush()
    for row in rows:
        session.add(
            SubsidyPayoutLine(payout_id=payout.id, entitlement_id=row.id, amount=row.amount)
        )
        workflow.move(
            session,
            ENTITLEMENT,
            row,
            E.PAID,
            by="advisor",
            actor_id=actor_id,
            data={"payout_id": payout.id, "amount": money_text(row.amount)},
        )
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "有补贴已在另一批次中兑付，本批次未保存。",
            "A subsidy was paid in another batch meanwhile; this batch was not saved.",
            code="paid_twice",
        ) from exc
    payout.checksum = checksum_of(canonical_rows(_load_lines(session, payout.id)))
    firms: dict[int, Decimal] = {}
    for row in rows:
        firms[row.enterprise_id] = firms.get(row.enterprise_id, ZERO) + row.amount
    for enterprise_id, total in firms.items():
        notifications.notify(
            session,
            enterprise_id=enterprise_id,
            title=(f"补贴已兑付（{period}）", f"Subsidy paid ({period})"),
            body=(
                f"本批兑付 {money_text(total)} 元。",
                f"{money_text(total)} yuan paid in this batch.",
            ),
            link="/sme/subsidies",
        )
    workflow.commit_or_conflict(
        session,
        "有补贴刚被他人处理，本批次未保存，请刷新后重试。",
        "Someone else acted on a subsidy at the same time; this batch was not saved.",
    )
    return payout


def list_payouts(session: Session) -> list[SubsidyPayout]:
    """Return every payout batch, the newest first."""
    return list(
        session.scalars(
            select(SubsidyPayout).order_by(SubsidyPayout.created_at.desc(), SubsidyPayout.id.desc())
        )
    )


@dataclass
class PayoutView:
    """A payout with its lines, as the finance page shows it."""

    payout: SubsidyPayout
    lines: list[SubsidyPayoutLine]

    @property
    def reversed_total(self) -> Decimal:
        """Return what was clawed back from this batch."""
        return sum((ln.amount for ln in self.lines if ln.reversed_at is not None), ZERO)


def get_payout(session: Session, payout_id: int) -> PayoutView:
    """Return a payout with its lines (404 when none)."""
    payout = session.get(SubsidyPayout, payout_id)
    if payout is None:
        raise NotFound.of("payout_batch")
    return PayoutView(payout, _load_lines(session, payout_id))


def export_csv(session: Session, payout_id: int) -> bytes:
    """Return the payout as CSV (UTF-8 with a BOM for Excel): rows, total, then the checksum."""
    view = get_payout(session, payout_id)
    rows = canonical_rows(view.lines)
    text = _csv_text(rows) + _csv_text([[CHECKSUM_LABEL, checksum_of(rows)]])
    return ("\ufeff" + text).encode("utf-8")


def export_xlsx(session: Session, payout_id: int) -> bytes:
    """Return the payout as an Excel workbook: rows, total, then the checksum of the rows."""
    view = get_payout(session, payout_id)
    rows = canonical_rows(view.lines)
    money_columns = {len(COLUMNS) - 2, len(COLUMNS) - 1}
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = f"兑付批次{view.payout.id}"
    for index, row in enumerate(rows):
        values: list[Any] = []
        for column, text in enumerate(row):
            if index > 0 and column in money_columns and text != "":
                values.append(cell_value(Decimal(text)))
            elif index > 0 and column in (0, 1, 5) and text.isdigit():
                values.append(int(text))
            else:
                values.append(cell_value(text))
        sheet.append(values)
        if index > 0:
            for column in money_columns:
                sheet.cell(row=index + 1, column=column + 1).number_format = "0.00"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in sheet[len(rows)]:
        cell.font = Font(bold=True)
    sheet.append([])
    sheet.append([CHECKSUM_LABEL, checksum_of(rows)])
    sheet.append(
        [
            cell_value(
                "校验值为上方各行（含表头与合计行）按 CSV（UTF-8，逗号分隔，每行以换行结束，金额保留两位小数）"
                "计算的 SHA-256。"
            )
        ]
    )
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def reverse_payment(
    session: Session, entitlement_id: int, *, actor_id: int | None, by: str, reason: Any
) -> SubsidyPayoutLine:
    """Claw back a paid entitlement (追回) with a written reason; audited; commit."""
    reason = limits.valid_text(reason, "reason", "reason")
    if not reason:
        raise ValidationFailed(
            "请写明追回的理由。",
            "Write why the subsidy is clawed back.",
            fields={"reason": limits.in_user_language("请写明理由。", "Write why.")},
        )
    line = session.scalar(
        select(SubsidyPayoutLine)
        .options(joinedload(SubsidyPayoutLine.entitlement))
        .where(SubsidyPayoutLine.entitlement_id == entitlement_id)
    )
    if line is None:
        raise NotFound("该补贴没有兑付记录。", "This subsidy was never paid.")
    row = line.entitlement
    workflow.require(ENTITLEMENT, row.state, E.REVERSED, by)
    now = utcnow()
    line.reversed_at = now
    line.reversed_by_id = actor_id
    line.reversal_reason = reason
    workflow.move(
        session,
        ENTITLEMENT,
        row,
        E.REVERSED,
        by=by,
        actor_id=actor_id,
        reason=reason,
        data={"payout_id": line.payout_id, "amount": money_text(line.amount)},
    )
    notifications.notify(
        session,
        enterprise_id=row.enterprise_id,
        title=(f"补贴 #{row.id} 须退回", f"Subsidy #{row.id} is to be paid back"),
        body=(
            f"金额 {money_text(line.amount)} 元。理由：{reason}",
            f"Amount {money_text(line.amount)} yuan. Reason: {reason}",
        ),
        link="/sme/subsidies",
    )
    workflow.commit_or_conflict(
        session,
        "该补贴刚被他人处理，您的操作未保存。",
        "Someone else acted on this subsidy at the same time; nothing was saved.",
    )
    return line
