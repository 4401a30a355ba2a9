"""What publishing a product version would change: who becomes eligible or loses eligibility
(by park, industry and size) and the projected subsidy outlay for a year.

Both admins of a maker-checker publication see it before approval. Every enterprise is read
in chunks straight into the matcher's column table (``services.profile_table``) and matched
with the vectorised matcher (``products.match_many``) against the current and the drafted
content; nothing here is sampled or estimated except the outlay's stated assumption.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

import products
from finportal.models import Park
from finportal.services import catalog as catalog_service
from finportal.services.profile_table import fields_for, iter_tables
from finportal.services.workdays import today_local
from products.pricing import fen
from products.sizes import SIZE_CLASSES, SIZE_ZH, row_for, size_table

#: Months of the year the outlay is projected for.
YEAR_MONTHS = 12
SIZE_EN = {
    "micro": "Micro enterprise",
    "small": "Small enterprise",
    "medium": "Medium enterprise",
    "large": "Large enterprise",
}
NONE_KEY = ""


@dataclass
class Group:
    """One park, industry or size class: firms that gain and lose eligibility, and eligible after."""

    key: str
    label_zh: str
    label_en: str
    gained: int = 0
    lost: int = 0
    eligible_after: int = 0


@dataclass
class Outlay:
    """The subsidy of one example loan in its first year, and for every eligible firm."""

    per_loan: Decimal
    firms: int
    total: Decimal
    demo: bool


@dataclass
class WhatIf:
    """The result of matching every enterprise against the current and the drafted content."""

    code: str
    enterprises: int
    eligible_before: int
    eligible_after: int
    gained: int
    lost: int
    by_park: list[Group]
    by_industry: list[Group]
    by_size: list[Group]
    outlay_before: Outlay | None
    outlay_after: Outlay | None
    example_amount: Decimal
    example_term: int
    lpr: Decimal
    today: date
    seconds: float
    gained_ids: list[int] = field(default_factory=list, repr=False)
    lost_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def outlay_change(self) -> Decimal | None:
        """Return the change of the projected yearly outlay (after minus before)."""
        if self.outlay_after is None:
            return None
        before = self.outlay_before.total if self.outlay_before is not None else Decimal(0)
        return self.outlay_after.total - before

    def summary(self) -> dict[str, Any]:
        """Return the headline numbers as plain data (for the audit event of an approval)."""
        change = self.outlay_change
        return {
            "enterprises": self.enterprises,
            "eligible_before": self.eligible_before,
            "eligible_after": self.eligible_after,
            "gained": self.gained,
            "lost": self.lost,
            "outlay_after": None if self.outlay_after is None else str(self.outlay_after.total),
            "outlay_change": None if change is None else str(change),
            "lpr": str(self.lpr),
            "today": self.today.isoformat(),
        }


def first_year_subsidy(product: products.Product, lpr: Decimal) -> tuple[Decimal, bool] | None:
    """Return the subsidy of the example loan's first 12 months (yuan) and whether it is demo."""
    try:
        quote = products.quote(
            product, product.example_amount.value, product.example_term.value, lpr
        )
    except products.QuoteError:
        return None
    subsidy = sum((row.subsidy for row in quote.schedule[:YEAR_MONTHS]), Decimal(0))
    return fen(subsidy), quote.subsidy_demo


def _outlay(product: products.Product | None, lpr: Decimal, firms: int) -> Outlay | None:
    if product is None:
        return None
    per_loan = first_year_subsidy(product, lpr)
    if per_loan is None:
        return None
    return Outlay(per_loan[0], firms, fen(per_loan[0] * firms), per_loan[1])


def _count_tokens(
    groups: Counter[str], table: products.ProfileTable, field_name: str, rows: Any
) -> None:
    """Count rows per token of a list field (a firm in two parks counts in both)."""
    tokens = table.tokens[field_name]
    if rows.size == 0:
        return
    masks = tokens.masks[rows]
    none = np.ones(rows.size, dtype=np.bool_)
    for j, value in enumerate(tokens.vocab):
        hit = (masks[:, j // 64] >> np.uint64(j % 64)) & np.uint64(1) != 0
        groups[value] += int(hit.sum())
        none &= ~hit
    groups[NONE_KEY] += int(none.sum())


def _count_labels(groups: Counter[str], labels: Any, rows: Any) -> None:
    for value, count in Counter(labels[rows].tolist()).items():
        groups[NONE_KEY if value is None else str(value)] += count


def _industry_labels(table: products.ProfileTable) -> Any:
    """Return each row's industry as its size-class industry row key (None when unknown)."""
    cat = table.categories["industry_code"]
    keys = []
    for code in cat.vocab:
        row = row_for(code)
        keys.append(None if row is None else row.key)
    lut = np.array([*keys, None], dtype=object)
    return np.take(lut, cat.codes.astype(np.intp))


def compute(
    session: Session,
    new: products.Product,
    old: products.Product | None,
    *,
    today: date | None = None,
    keep_ids: bool = False,
) -> WhatIf:
    """Match every enterprise against ``old`` (the current content) and ``new`` (the draft)."""
    started = time.perf_counter()
    day = today or today_local()
    lpr = catalog_service.current_lpr(session, day)
    counts = {"n": 0, "before": 0, "after": 0, "gained": 0, "lost": 0}
    parks: dict[str, Counter[str]] = {k: Counter() for k in ("gained", "lost", "after")}
    industries: dict[str, Counter[str]] = {k: Counter() for k in ("gained", "lost", "after")}
    sizes: dict[str, Counter[str]] = {k: Counter() for k in ("gained", "lost", "after")}
    gained_ids: list[int] = []
    lost_ids: list[int] = []
    matched = [new] if old is None else [new, old]
    # Only the columns the two versions and the groupings read (docs/SCALING.md).
    columns = fields_for(matched, extra=("park_codes", "industry_code", "size_class"))
    for table in iter_tables(session, fields=columns):
        counts["n"] += table.n
        after = products.match_many(products.Catalog([new]), table, today=day).eligible[:, 0]
        if old is not None:
            before = products.match_many(products.Catalog([old]), table, today=day).eligible[:, 0]
        else:
            before = np.zeros(table.n, dtype=np.bool_)
        gained = np.flatnonzero(after & ~before)
        lost = np.flatnonzero(before & ~after)
        eligible = np.flatnonzero(after)
        counts["before"] += int(before.sum())
        counts["after"] += int(eligible.size)
        counts["gained"] += int(gained.size)
        counts["lost"] += int(lost.size)
        if keep_ids:
            ids = list(table.ids or [])
            gained_ids += [int(ids[i]) for i in gained.tolist()]
            lost_ids += [int(ids[i]) for i in lost.tolist()]
        size = products.derive_many(table, today=day)["size_class"]
        industry = _industry_labels(table)
        for name, rows in (("gained", gained), ("lost", lost), ("after", eligible)):
            _count_tokens(parks[name], table, "park_codes", rows)
            _count_labels(industries[name], industry, rows)
            _count_labels(sizes[name], size, rows)
    park_names = {
        code: (zh, en or zh)
        for code, zh, en in session.execute(
            select(Park.code, Park.name_zh, Park.name_en).order_by(Park.code)
        )
    }
    rows_by_key = {row.key: (row.name_zh, row.name_en) for row in size_table().rows}
    return WhatIf(
        code=new.code,
        enterprises=counts["n"],
        eligible_before=counts["before"],
        eligible_after=counts["after"],
        gained=counts["gained"],
        lost=counts["lost"],
        by_park=_groups(parks, park_names, ("未加入园区", "No park")),
        by_industry=_groups(
            industries, rows_by_key, ("行业未知或不在划型范围", "Industry unknown")
        ),
        by_size=_groups(
            sizes,
            {s: (SIZE_ZH[s], SIZE_EN[s]) for s in SIZE_CLASSES},
            ("规模未知", "Size unknown"),
            order=list(SIZE_CLASSES),
        ),
        outlay_before=_outlay(old, lpr, counts["before"]),
        outlay_after=_outlay(new, lpr, counts["after"]),
        example_amount=new.example_amount.value,
        example_term=int(new.example_term.value),
        lpr=lpr,
        today=day,
        seconds=time.perf_counter() - started,
        gained_ids=gained_ids,
        lost_ids=lost_ids,
    )


def _groups(
    counters: dict[str, Counter[str]],
    names: dict[str, tuple[str, str]],
    none: tuple[str, str],
    order: list[str] | None = None,
) -> list[Group]:
    """Return the groups that have any firm, biggest change first (or in ``order``)."""
    keys = set(counters["gained"]) | set(counters["lost"]) | set(counters["after"])
    out = []
    for key in keys:
        zh, en = none if key == NONE_KEY else names.get(key, (key, key))
        group = Group(
            key, zh, en, counters["gained"][key], counters["lost"][key], counters["after"][key]
        )
        if group.gained or group.lost or group.eligible_after:
            out.append(group)
    if order is not None:
        rank = {k: i for i, k in enumerate(order)}
        out.sort(key=lambda g: (rank.get(g.key, len(rank)), g.key))
    else:
        out.sort(key=lambda g: (g.key == NONE_KEY, -(g.gained + g.lost), -g.eligible_after, g.key))
    return out
