"""Plain data handed to the packet renderer: no ORM objects, no Flask.

The service that builds a :class:`PacketContext` formats what only it knows how to
format (the enterprise profile's values); the renderer formats numbers and dates the
same way in every packet. Field names carry their unit: ``*_wan`` is 万元 (10,000
yuan), ``*_yuan`` is yuan, ``*_rate`` is a fraction (0.0345 means 3.45 %).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Number = int | float | Decimal
ConditionResult = Literal["passed", "failed", "unknown"]

__all__ = [
    "BatchCoverContext",
    "BatchMember",
    "ConditionResult",
    "ConsentRecord",
    "ConsistencyFlag",
    "EligibilityCondition",
    "LoanRequest",
    "Number",
    "PacketContext",
    "Quote",
    "Reason",
    "ScheduleRow",
    "Subsidy",
]


@dataclass(frozen=True)
class LoanRequest:
    """What the enterprise asks for."""

    amount_wan: Number
    term_months: int
    purpose: str


@dataclass(frozen=True)
class EligibilityCondition:
    """One eligibility condition of the product and how the enterprise fared on it."""

    field: str
    result: ConditionResult
    message_zh: str
    # True when the condition is a demo value of the catalogue (to be confirmed).
    demo: bool = False


@dataclass(frozen=True)
class Reason:
    """One reason code: a feature's contribution to the score (positive raises the risk)."""

    feature: str
    contribution: float
    text_zh: str


@dataclass(frozen=True)
class Subsidy:
    """A subsidy applied in the quote (贴息/贴费), as an annual amount."""

    name_zh: str
    amount_yuan: Number
    note_zh: str = ""


@dataclass(frozen=True)
class ScheduleRow:
    """One line of the repayment schedule."""

    period: int
    due_date: dt.date
    principal_yuan: Number
    interest_yuan: Number
    fee_yuan: Number
    balance_yuan: Number


@dataclass(frozen=True)
class Quote:
    """The priced offer: rates, fee, subsidies, net cost and schedule."""

    interest_rate: float
    guarantee_fee_rate: float
    annual_interest_yuan: Number
    annual_guarantee_fee_yuan: Number
    subsidies: Sequence[Subsidy]
    net_annual_cost_yuan: Number
    #: The effective annual cost (IRR of the net cash flows, annualised): the ranking measure.
    net_annual_rate: float | None = None
    rate_note_zh: str = ""
    repayment_method_zh: str = ""
    schedule: Sequence[ScheduleRow] = ()
    # True when the catalogue's rate (spread) or guarantee fee is a demo value.
    interest_rate_demo: bool = False
    guarantee_fee_demo: bool = False
    #: Net cost over the whole term (interest + fee - subsidies), yuan.
    net_cost_total_yuan: Number | None = None
    #: Where the product stands in the one cost ranking of the application's matches.
    cost_rank_zh: str = ""


@dataclass(frozen=True)
class ConsentRecord:
    """The enterprise's consent to share its data with the packet's bank."""

    bank: str
    scope: str
    granted_at: dt.datetime
    valid_until: dt.date | None = None


@dataclass(frozen=True)
class ConsistencyFlag:
    """A consistency flag for the bank: what looks odd and why (never a rejection)."""

    rule: str
    title_zh: str
    why_zh: str
    # (item, before or state, after): an edited field's values, or a request elsewhere.
    rows: Sequence[tuple[str, str, str]] = ()


@dataclass(frozen=True)
class AttachedDocument:
    """A document the enterprise attached, listed in the packet with its SHA-256 (issue 14)."""

    kind_zh: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: dt.datetime
    #: "已扫描，未发现病毒" or "未扫描".
    scan_zh: str = ""


@dataclass(frozen=True)
class VerifiedFactRow:
    """A fact verified from public data the enterprise authorised (issue 14, 无感核查)."""

    label: str
    value: str
    source: str
    as_of: dt.date
    #: The enterprise's own, different figure ("" when it agrees or declared none).
    declared: str = ""
    #: Beside the value: "✔ 已核验" for a verified fact; "" for a document-backed value,
    #: whose ``source`` says which document (有材料佐证：文件名，SHA-256 前 12 位).
    mark: str = "✔ 已核验"


@dataclass(frozen=True)
class PacketContext:
    """Everything a referral packet shows, already decided and looked up."""

    packet_number: str
    verification_code: str
    bank_name: str
    product_name: str
    product_code: str
    date: dt.date
    enterprise_name: str
    enterprise_uscc: str
    # Labelled rows in display order: 中文 label -> value already formatted (money in 万元).
    enterprise_profile: Mapping[str, str]
    request: LoanRequest
    conditions: Sequence[EligibilityCondition]
    score: Number
    grade: str
    pd: float
    reasons: Sequence[Reason]
    quote: Quote
    advisor_opinion: str
    advisor_name: str
    consent: ConsentRecord
    model_version: str = ""
    # True while the model is the cold-start one trained on synthetic reference data.
    model_trained_on_synthetic: bool = False
    centre_name: str = "闵行区融资服务中心"
    verify_url: str = ""
    # Optional bank logo: a data: URI or a file name under finportal/packets/assets/.
    # Anything else (http, https, other files) is refused by the URL fetcher.
    bank_logo: str | None = None
    # Consistency flags (services/consistency.py), shown by templates/_consistency.html.
    consistency_flags: Sequence[ConsistencyFlag] = ()
    #: The documents the bank receives with the packet (the ZIP's manifest lists the same).
    documents: Sequence[AttachedDocument] = ()
    # Facts verified from public data (source, as-of date), and the firm's differing figures.
    verified_facts: Sequence[VerifiedFactRow] = ()
    # The centre's seal beside the advisor's signature: a data: URI (empty: none printed).
    seal_image: str = ""


@dataclass(frozen=True)
class BatchMember:
    """One enterprise in a batch packet's cover table."""

    enterprise_name: str
    enterprise_uscc: str
    amount_wan: Number  # the requested amount (申请金额)
    grade: str
    packet_number: str
    status_zh: str = ""
    approved_wan: Number | None = None  # the bank's approved amount, once approved


@dataclass(frozen=True)
class BatchCoverContext:
    """The cover of a batch packet (批次贷): the batch and a table of its members."""

    batch_number: str
    batch_name: str
    bank_name: str
    product_name: str
    product_code: str
    organiser_name: str  # the park (园区) or chamber (商会)
    date: dt.date
    quota_wan: Number
    per_firm_cap_wan: Number
    members: Sequence[BatchMember]
    verification_code: str = ""
    centre_name: str = "闵行区融资服务中心"
    notes: Sequence[str] = field(default_factory=tuple)
    verify_url: str = ""
    seal_image: str = ""
