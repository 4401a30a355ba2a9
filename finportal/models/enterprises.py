"""The enterprise and its profile, the input of matching and scoring."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, TimestampMixin
from finportal.models.organisations import Membership


class Enterprise(TimestampMixin, Base):
    """An SME with its profile; money in yuan (Decimal), counts as integers.

    ``size_class`` is never stored: it is derived from industry, staff and revenue by
    ``products`` (工信部联企业〔2011〕300号).
    """

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 统一社会信用代码, 18 characters with its check character (GB 32100-2015).
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: 法定代表人 as on the business licence; indexed to find one person on several firms
    #: (services/consistency.py).
    legal_representative: Mapped[str | None] = mapped_column(String(50), index=True)
    registered_on: Mapped[date | None]
    #: Administrative division code of the registered address (Minhang is 310112).
    district_code: Mapped[str | None] = mapped_column(String(6))
    #: The Minhang subdistrict or town (街道/镇) of the registered address.
    street: Mapped[str | None] = mapped_column(String(40))
    #: GB/T 4754-2017 two-digit division, e.g. "39".
    industry_code: Mapped[str | None] = mapped_column(String(2))
    employees: Mapped[int | None]
    #: 当年新招用符合创业担保贷款申请条件的人员数 (财金〔2020〕21号), for 创业担保贷款.
    qualifying_new_hires: Mapped[int | None]
    social_insured_employees: Mapped[int | None]
    #: Operating revenue of the last full year, yuan.
    revenue_last_year: Mapped[Decimal | None]
    #: Operating revenue of the year before, yuan.
    revenue_prev_year: Mapped[Decimal | None]
    total_assets: Mapped[Decimal | None]
    total_liabilities: Mapped[Decimal | None]
    net_profit_last_year: Mapped[Decimal | None]
    tax_paid_last_year: Mapped[Decimal | None]
    #: 纳税信用等级 A/B/M/C/D.
    tax_credit_grade: Mapped[str | None] = mapped_column(String(1))
    invention_patents: Mapped[int | None]
    utility_patents: Mapped[int | None]
    trademarks: Mapped[int | None]
    #: Any of tech_sme, high_tech, specialized, little_giant.
    certifications: Mapped[list[str]] = mapped_column(default=list)
    #: Outstanding bank loans, yuan.
    existing_loan_balance: Mapped[Decimal | None]
    has_bank_loan_history: Mapped[bool | None]
    #: Days until the nearest loan matures (None when no loan matures).
    loan_maturing_within_days: Mapped[int | None]
    overdue_count_24m: Mapped[int | None]
    max_overdue_days_24m: Mapped[int | None]
    pending_lawsuits: Mapped[int | None]
    enforcement_records: Mapped[int | None]
    admin_penalties_24m: Mapped[int | None]
    serious_bad_credit_24m: Mapped[bool | None]
    credit_repair_completed: Mapped[bool | None]
    #: True for the fictional enterprises of the demo data.
    demo: Mapped[bool] = mapped_column(default=False)
    #: Whether the centre checked that the account holders act for this firm (营业执照 /
    #: 授权委托书): unverified -> pending -> verified | rejected (see services/verification.py).
    verification_state: Mapped[str] = mapped_column(String(20), default="unverified")
    verified_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
