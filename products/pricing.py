"""Quotes: rate, guarantee fee, subsidies, net annual cost and a repayment schedule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
from scipy.optimize import brentq

from products.errors import QuoteError
from products.model import Product, Sourced

FEN = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")
ZERO = Decimal(0)
MONTHS = Decimal(12)
BP = Decimal(10000)
# A sanity bound on the reference rate, not policy: the 1-year LPR has been
# 3-5% since its 2019 reform.
MAX_LPR = Decimal("0.2")


def fen(value: Decimal) -> Decimal:
    """Round to the fen (0.01 yuan), half up."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


WAN = Decimal(10000)
#: How the effective annual cost is worked out (shown beside it on pages and packets).
EFFECTIVE_COST_NOTE_ZH = (
    "年化综合成本：按内部收益率（IRR）法，以放款和各期实际支付的本金、利息、担保费（扣除贴息、贴费，"
    "事后拨付的补贴计入最后一期）计算月利率，乘以 12 折算为年化（单利，中国人民银行公告〔2021〕第3号）"
)
EFFECTIVE_COST_NOTE_EN = (
    "Effective annual cost: the internal rate of return of the loan's cash flows (principal, interest"
    " and guarantee fee, less subsidies; subsidies paid afterwards count at the last period) per month,"
    " times 12 (simple annualisation, PBoC announcement [2021] No. 3)"
)
#: Names of the repayment methods.
REPAYMENT_LABELS = {
    "equal_instalment": ("等额本息", "equal instalments"),
    "equal_principal": ("等额本金", "equal principal"),
    "interest_only_bullet": ("按月付息、到期还本", "interest monthly, principal at maturity"),
}


def wan_text(yuan: Decimal | int | str) -> str:
    """Write yuan as 万元 without trailing zeros (1500000 -> '150', 125000 -> '12.5')."""
    value = (Decimal(str(yuan)) / WAN).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    text = format(value.normalize(), "f")
    return "0" if text in {"0", "-0"} else text


def money_text(value: Decimal) -> str:
    """Write money as a decimal string with two places."""
    return str(fen(value))


def rate_text(value: Decimal) -> str:
    """Write a rate as a plain decimal string without trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in {"0", "-0"} else text


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One period (month) of the repayment schedule, in yuan."""

    period: int
    principal: Decimal
    interest: Decimal
    fee: Decimal
    interest_subsidy: Decimal
    fee_subsidy: Decimal
    payment: Decimal

    @property
    def subsidy(self) -> Decimal:
        """Return the interest and fee subsidy of the period."""
        return self.interest_subsidy + self.fee_subsidy

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape: period, principal, interest, fee, subsidy, payment."""
        return {
            "period": self.period,
            "principal": money_text(self.principal),
            "interest": money_text(self.interest),
            "fee": money_text(self.fee),
            "subsidy": money_text(self.subsidy),
            "payment": money_text(self.payment),
        }


@dataclass(frozen=True, slots=True)
class Quote:
    """What a loan costs: rates (per year, decimals), totals (yuan) and the schedule."""

    product_code: str
    amount: Decimal
    term_months: int
    lpr: Decimal
    repayment: str
    nominal_rate: Decimal
    guarantee_fee_rate: Decimal
    interest_subsidy_rate: Decimal
    fee_subsidy_rate: Decimal
    interest_subsidy_cap: Decimal | None
    interest_subsidy_cap_per_year: Decimal | None
    fee_subsidy_cap: Decimal | None
    fee_subsidy_cap_per_year: Decimal | None
    net_annual_cost_rate: Decimal
    total_interest: Decimal
    total_fee: Decimal
    total_interest_subsidy: Decimal
    total_fee_subsidy: Decimal
    schedule: tuple[ScheduleRow, ...]
    demo: bool
    # The part of the subsidies paid afterwards (not deducted from any payment), and
    # what the product says of how and when its subsidies are paid.
    subsidy_paid_later: Decimal = ZERO
    subsidy_note_zh: str = ""
    subsidy_note_en: str = ""
    #: The IRR of the net cash flows, annualised (the one measure loans are ranked by).
    effective_annual_cost_rate: Decimal = ZERO
    #: Which numbers are demo values: the rate, the guarantee fee, the subsidies.
    rate_demo: bool = False
    fee_demo: bool = False
    subsidy_demo: bool = False

    @property
    def total_subsidy(self) -> Decimal:
        """Return interest plus fee subsidy over the whole loan."""
        return self.total_interest_subsidy + self.total_fee_subsidy

    @property
    def net_cost(self) -> Decimal:
        """Return interest + fee - subsidies: what the loan costs the enterprise."""
        return self.total_interest + self.total_fee - self.total_subsidy

    @property
    def demo_marks(self) -> dict[str, bool]:
        """Return which numbers of the quote are demo values (any, rate, fee, subsidy)."""
        return {
            "any": self.demo,
            "rate": self.rate_demo,
            "fee": self.fee_demo,
            "subsidy": self.subsidy_demo,
        }

    def cash_flows(self) -> list[Decimal]:
        """Return the enterprise's cash flows per month: +amount, then -payment each period.

        A subsidy paid afterwards comes back with the last period (the earliest it can).
        """
        flows = [self.amount] + [-row.payment for row in self.schedule]
        flows[-1] += self.subsidy_paid_later
        return flows

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        """Return the CLI JSON shape (money and rates as strings); detail adds caps and inputs."""
        data: dict[str, Any] = {
            "nominal_rate": rate_text(self.nominal_rate),
            "guarantee_fee_rate": rate_text(self.guarantee_fee_rate),
            "interest_subsidy_rate": rate_text(self.interest_subsidy_rate),
            "fee_subsidy_rate": rate_text(self.fee_subsidy_rate),
            "net_annual_cost_rate": rate_text(self.net_annual_cost_rate),
            "effective_annual_cost_rate": rate_text(self.effective_annual_cost_rate),
            "repayment": self.repayment,
            "amount": money_text(self.amount),
            "term_months": self.term_months,
            "net_cost": money_text(self.net_cost),
            "demo": self.demo_marks,
            "total_interest": money_text(self.total_interest),
            "total_fee": money_text(self.total_fee),
            "total_subsidy": money_text(self.total_subsidy),
            "subsidy_paid_later": money_text(self.subsidy_paid_later),
            "subsidy_note_zh": self.subsidy_note_zh,
            "subsidy_note_en": self.subsidy_note_en,
            "schedule": [row.to_dict() for row in self.schedule],
        }
        if detail:

            def cap(value: Decimal | None) -> str | None:
                return None if value is None else money_text(value)

            data.update(
                product=self.product_code,
                lpr=rate_text(self.lpr),
                interest_subsidy_cap=cap(self.interest_subsidy_cap),
                interest_subsidy_cap_per_year=cap(self.interest_subsidy_cap_per_year),
                fee_subsidy_cap=cap(self.fee_subsidy_cap),
                fee_subsidy_cap_per_year=cap(self.fee_subsidy_cap_per_year),
                total_interest_subsidy=money_text(self.total_interest_subsidy),
                total_fee_subsidy=money_text(self.total_fee_subsidy),
            )
        return data


def _decimal(value: object, what_zh: str, what_en: str) -> Decimal:
    if isinstance(value, bool):
        raise QuoteError(f"{what_zh}应为数字", f"{what_en} must be a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise QuoteError(
            f"{what_zh}应为数字：{value!r}", f"{what_en} must be a number: {value!r}"
        ) from exc
    if not number.is_finite():
        raise QuoteError(f"{what_zh}应为有限数字", f"{what_en} must be a finite number")
    return number


class _Cap:
    """Remaining room under a per-loan cap and a per-loan-year cap (yuan)."""

    def __init__(self, total: Sourced | None, per_year: Sourced | None) -> None:
        self.total = None if total is None else total.value
        self.per_year = None if per_year is None else per_year.value
        self.used_total = ZERO
        self.used_year: dict[int, Decimal] = {}

    def take(self, wanted: Decimal, period: int) -> Decimal:
        if self.total is None and self.per_year is None:
            return wanted
        year = (period - 1) // 12
        allowed = wanted
        if self.total is not None:
            allowed = min(allowed, self.total - self.used_total)
        if self.per_year is not None:
            allowed = min(allowed, self.per_year - self.used_year.get(year, ZERO))
        allowed = max(allowed, ZERO)
        self.used_total += allowed
        self.used_year[year] = self.used_year.get(year, ZERO) + allowed
        return allowed


#: Per-period rates scanned for a sign change of the NPV before Brent's solver refines it.
_IRR_GRID = np.linspace(-0.9, 1.0, 191)


def irr(flows: Sequence[Decimal | float | int], tolerance: float = 1e-14) -> float:
    """Return the per-period internal rate of return of cash flows (NPV = 0).

    ``flows[t]`` is the money of period ``t`` (positive received, negative paid). The NPV
    is scanned from -90 % to +100 % per period; of the brackets where it changes sign, the
    one nearest 0 % is refined by SciPy's Brent solver. A loan's flows change sign once and
    have one root; a subsidy paid back after the last instalment can add a second, far
    root, which the nearest-to-zero rule ignores. Raises ``QuoteError`` without a root.
    """
    values = np.array([float(f) for f in flows], dtype=np.float64)
    periods = np.arange(values.size, dtype=np.float64)

    def npv(rate: float) -> float:
        return float(np.sum(values / (1.0 + rate) ** periods))

    # Flows that add up to nothing have a root at 0 %, summed exactly: in floats they leave a
    # residue of about 1e-17, and where 0 % is a double root (the NPV touches zero without
    # crossing it, as a zero net cost with subsidies paid back later can) no sign change shows.
    if sum((f if isinstance(f, Decimal) else Decimal(f) for f in flows), Decimal(0)) == 0:
        return 0.0
    # Long terms overflow near -90 %: such rates are never a loan's, and drop out as inf/nan.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        grid = np.sum(values / (1.0 + _IRR_GRID[:, None]) ** periods, axis=1)
        signs = np.sign(grid)
        changes = np.flatnonzero(np.isfinite(grid[:-1]) & (signs[:-1] * signs[1:] <= 0))
    if changes.size == 0:
        raise QuoteError(
            "现金流没有内部收益率（须有收有支）",
            "the cash flows have no internal rate of return (need money in and out)",
        )
    middles = (_IRR_GRID[changes] + _IRR_GRID[changes + 1]) / 2
    pick = int(changes[np.argmin(np.abs(middles))])
    low, high = float(_IRR_GRID[pick]), float(_IRR_GRID[pick + 1])
    if npv(low) == 0:
        return low
    if npv(high) == 0:
        return high
    return float(brentq(npv, low, high, xtol=tolerance))


def effective_annual_rate(flows: Sequence[Decimal], periods_per_year: int = 12) -> Decimal:
    """Return the IRR of monthly flows times 12, as a Decimal rate to six places.

    Simple (not compound) annualisation, as banks disclose 年化利率 under PBoC announcement
    [2021] No. 3; an equal-instalment loan at 3.2 % a year gives 0.032.
    """
    rate = Decimal(repr(irr(flows) * periods_per_year))
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def cost_rank(quote: Quote) -> tuple[Decimal, Decimal]:
    """Return the sort key of the one ranking of quotes: effective annual cost, then net cost.

    Fair across repayment methods: a loan repaid in instalments has less money out for
    less time, which its total cost hides and its IRR does not.
    """
    return (quote.effective_annual_cost_rate, quote.net_cost)


def check_request(product: Product, amount: object, term_months: object) -> tuple[Decimal, int]:
    """Check an amount (yuan, whole fen) and term (whole months) against the product's range."""
    value = _decimal(amount, "贷款金额", "amount")
    if value <= 0 or value != value.quantize(FEN):
        raise QuoteError(
            f"贷款金额须为正数且最多两位小数（分）：{amount}",
            f"amount must be positive with at most two decimals (fen): {amount}",
        )
    low, high = product.amount_min.value, product.amount_max.value
    if not low <= value <= high:
        raise QuoteError(
            f"{product.name_zh}的贷款金额须在 {wan_text(low)} 至 {wan_text(high)} 万元之间，申请金额为 {wan_text(value)} 万元",
            f"{product.name_en}: amount must be between {wan_text(low)} and {wan_text(high)} (10k yuan), got {wan_text(value)}",
        )
    term = _decimal(term_months, "贷款期限", "term")
    if term != term.to_integral_value() or term < 1:
        raise QuoteError(
            f"贷款期限须为整月数：{term_months}",
            f"term must be a whole number of months: {term_months}",
        )
    tlow, thigh = product.term_min.value, product.term_max.value
    if not tlow <= term <= thigh:
        raise QuoteError(
            f"{product.name_zh}的贷款期限须在 {rate_text(tlow)} 至 {rate_text(thigh)} 个月之间，申请期限为 {int(term)} 个月",
            f"{product.name_en}: term must be between {rate_text(tlow)} and {rate_text(thigh)} months, got {int(term)}",
        )
    return value, int(term)


def nominal_rate(product: Product, lpr: Decimal) -> Decimal:
    """Return the yearly rate: LPR + spread (bp / 10000) or the fixed rate."""
    if product.rate_base == "fixed":
        assert product.fixed_rate is not None
        return product.fixed_rate.value
    assert product.spread_bp is not None
    return max(ZERO, lpr + product.spread_bp.value / BP)


def _principals(method: str, amount: Decimal, term: int, monthly: Decimal) -> list[Decimal] | None:
    if method == "interest_only_bullet":
        return [ZERO] * (term - 1) + [amount]
    if method == "equal_principal":
        base = (amount / term).quantize(FEN, rounding=ROUND_DOWN)
        return [base] * (term - 1) + [amount - base * (term - 1)]
    return None  # equal_instalment: depends on the interest of each period


def quote(
    product: Product,
    amount: object,
    term_months: object,
    lpr: object = Decimal("0.03"),
) -> Quote:
    """Price a loan of ``amount`` yuan over ``term_months`` months at the given 1-year LPR."""
    value, term = check_request(product, amount, term_months)
    lpr_value = _decimal(lpr, "LPR", "LPR")
    if not ZERO <= lpr_value < MAX_LPR:
        raise QuoteError(
            f"LPR 应为 0 至 0.2 之间的年利率（如 0.03），收到 {lpr}",
            f"LPR must be a yearly rate between 0 and 0.2 (e.g. 0.03), got {lpr}",
        )
    rate = nominal_rate(product, lpr_value)
    monthly = rate / MONTHS
    fee_rate = ZERO if product.guarantee_fee_rate is None else product.guarantee_fee_rate.value

    subsidy = product.interest_subsidy
    interest_share = points = floor_rate = None
    interest_subsidy_rate = ZERO
    if subsidy is not None:
        if subsidy.kind == "share":
            assert subsidy.share is not None
            interest_share = subsidy.share.value
            interest_subsidy_rate = interest_share * rate
        elif subsidy.kind == "points":
            assert subsidy.points is not None
            points = min(subsidy.points.value, rate)
            interest_subsidy_rate = points
        else:
            assert subsidy.floor_spread_bp is not None
            floor_rate = max(ZERO, lpr_value + subsidy.floor_spread_bp.value / BP)
            interest_subsidy_rate = max(ZERO, rate - floor_rate)
    fee_share = ZERO if product.fee_subsidy is None else product.fee_subsidy.share.value
    interest_cap = _Cap(
        subsidy.cap_total if subsidy else None, subsidy.cap_per_year if subsidy else None
    )
    fee_sub = product.fee_subsidy
    fee_cap = _Cap(
        fee_sub.cap_total if fee_sub else None, fee_sub.cap_per_year if fee_sub else None
    )
    # A subsidy paid after repayment is still part of the net cost, but the enterprise
    # pays the full amount each period and receives the subsidy later.
    interest_later = subsidy is not None and subsidy.paid_after_repayment
    fee_later = fee_sub is not None and fee_sub.paid_after_repayment
    payments = [x.payment for x in (subsidy, fee_sub) if x is not None and x.payment is not None]

    principals = _principals(product.repayment, value, term, monthly)
    instalment = ZERO
    if principals is None:
        if monthly == 0:
            instalment = fen(value / term)
        else:
            instalment = fen(value * monthly / (1 - (1 + monthly) ** -term))

    rows: list[ScheduleRow] = []
    outstanding = value
    balance_months = ZERO
    totals = [ZERO, ZERO, ZERO, ZERO]  # interest, fee, interest subsidy, fee subsidy
    for period in range(1, term + 1):
        balance_months += outstanding
        interest = fen(outstanding * monthly)
        if principals is not None:
            principal = principals[period - 1]
        elif period == term:
            principal = outstanding
        else:
            principal = min(max(instalment - interest, ZERO), outstanding)
        fee_base = value if product.fee_basis == "amount" else outstanding
        fee = fen(fee_base * fee_rate / MONTHS)
        if interest_share is not None:
            wanted = fen(interest * interest_share)
        elif points is not None:
            wanted = fen(outstanding * points / MONTHS)
        elif floor_rate is not None:
            wanted = interest - fen(outstanding * floor_rate / MONTHS)
        else:
            wanted = ZERO
        # A subsidy never pays more than the cost it subsidises.
        interest_subsidy = (
            interest_cap.take(min(max(wanted, ZERO), interest), period) if wanted else ZERO
        )
        fee_subsidy = fee_cap.take(min(fen(fee * fee_share), fee), period) if fee_share else ZERO
        deducted = (ZERO if interest_later else interest_subsidy) + (
            ZERO if fee_later else fee_subsidy
        )
        payment = principal + interest + fee - deducted
        rows.append(
            ScheduleRow(period, principal, interest, fee, interest_subsidy, fee_subsidy, payment)
        )
        outstanding -= principal
        totals[0] += interest
        totals[1] += fee
        totals[2] += interest_subsidy
        totals[3] += fee_subsidy
    net = totals[0] + totals[1] - totals[2] - totals[3]
    # Net cost per yuan-year actually borrowed (outstanding balance x months / 12).
    net_rate = (net * MONTHS / balance_months).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)

    def capped(item: Sourced | None) -> Decimal | None:
        return None if item is None else item.value

    paid_later = (totals[2] if interest_later else ZERO) + (totals[3] if fee_later else ZERO)
    flows = [value] + [-row.payment for row in rows]
    flows[-1] += paid_later
    return Quote(
        product_code=product.code,
        amount=value,
        term_months=term,
        lpr=lpr_value,
        repayment=product.repayment,
        nominal_rate=rate,
        guarantee_fee_rate=fee_rate,
        interest_subsidy_rate=interest_subsidy_rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP),
        fee_subsidy_rate=(fee_share * fee_rate).quantize(RATE_PLACES, rounding=ROUND_HALF_UP),
        interest_subsidy_cap=capped(subsidy.cap_total) if subsidy else None,
        interest_subsidy_cap_per_year=capped(subsidy.cap_per_year) if subsidy else None,
        fee_subsidy_cap=capped(fee_sub.cap_total) if fee_sub else None,
        fee_subsidy_cap_per_year=capped(fee_sub.cap_per_year) if fee_sub else None,
        net_annual_cost_rate=net_rate,
        total_interest=totals[0],
        total_fee=totals[1],
        total_interest_subsidy=totals[2],
        total_fee_subsidy=totals[3],
        schedule=tuple(rows),
        demo=product.demo,
        subsidy_paid_later=paid_later,
        subsidy_note_zh="".join(p.note_zh for p in payments),
        subsidy_note_en=" ".join(p.note_en for p in payments),
        effective_annual_cost_rate=effective_annual_rate(flows),
        rate_demo=product.rate_demo,
        fee_demo=product.guarantee_fee_demo,
        subsidy_demo=bool(
            (subsidy is not None and subsidy.demo) or (fee_sub is not None and fee_sub.demo)
        ),
    )
