"""Match enterprises with the catalogue: one with explanations and quotes, or many at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from products.catalog import Catalog
from products.derive import DISTRICT_CODE, collect_facts
from products.eligibility import (
    FAILED,
    RESULT_CODES,
    Evaluation,
    evaluate_facts,
)
from products.errors import QuoteError
from products.fields import NUMERIC_KINDS, field_specs
from products.model import Leaf, Product
from products.pricing import Quote, cost_rank, quote
from products.sizes import SIZE_CLASSES, row_for
from products.table import Category, ProfileTable, Tokens, as_table

Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]
Int8s = NDArray[np.int8]

DEFAULT_LPR = Decimal("0.03")


@dataclass(frozen=True, slots=True)
class MatchResult:
    """One product for one enterprise: eligibility with reasons, and a quote when eligible."""

    product: Product
    evaluation: Evaluation
    quote: Quote | None
    quote_error: str | None = None

    @property
    def eligible(self) -> bool:
        """Tell whether the enterprise qualifies for the product."""
        return self.evaluation.eligible

    def to_dict(self) -> dict[str, Any]:
        """Return the CLI JSON shape: code, eligible, conditions, and quote when eligible."""
        data: dict[str, Any] = {
            "code": self.product.code,
            "eligible": self.eligible,
            "conditions": [c.to_dict() for c in self.evaluation.conditions],
        }
        if self.eligible and self.quote is not None:
            data["quote"] = self.quote.to_dict()
        return data


def _request_terms(product: Product, request: Mapping[str, Any] | None) -> tuple[Any, Any]:
    amount = None if request is None else request.get("amount")
    term = None if request is None else request.get("term_months")
    return (
        product.example_amount.value if amount in (None, "") else amount,
        product.example_term.value if term in (None, "") else term,
    )


def match_one(
    catalog: Catalog,
    profile: Mapping[str, Any],
    request: Mapping[str, Any] | None = None,
    lpr: Decimal | str | float = DEFAULT_LPR,
    today: dt.date | None = None,
) -> list[MatchResult]:
    """Evaluate every product for one enterprise: eligible first, by the one cost ranking.

    Quoted eligible products come first by :func:`products.pricing.cost_rank` (effective
    annual cost, then net cost), then eligible ones that cannot be quoted, then the others
    by how many conditions fail.
    """
    facts = collect_facts(profile, request, today)
    results: list[MatchResult] = []
    for product in catalog:
        evaluation = evaluate_facts(product, facts)
        priced: Quote | None = None
        problem: str | None = None
        if evaluation.eligible:
            amount, term = _request_terms(product, request)
            try:
                priced = quote(product, amount, term, lpr)
            except QuoteError as exc:
                problem = str(exc)
        results.append(MatchResult(product, evaluation, priced, problem))

    def rank(item: tuple[int, MatchResult]) -> tuple[int, tuple[Decimal, Decimal], int, int]:
        order, result = item
        if result.eligible and result.quote is not None:
            return (0, cost_rank(result.quote), 0, order)
        failed = sum(1 for c in result.evaluation.conditions if c.result == FAILED)
        return (1 if result.eligible else 2, (Decimal(0), Decimal(0)), failed, order)

    return [r for _, r in sorted(enumerate(results), key=rank)]


@dataclass
class ManyResult:
    """Eligibility of n enterprises for P products, with per-condition result codes.

    ``eligible`` is an (n, P) boolean matrix in ``product_codes`` order.
    ``condition_codes(code)`` gives an (n, k) int8 matrix in the order of
    ``condition_ids[code]``: 0 failed, 1 passed, 2 unknown.
    """

    product_codes: list[str]
    eligible: Bools
    condition_ids: dict[str, list[str]]
    ids: Sequence[Any] | None
    _columns: dict[str, list[Int8s]] = field(repr=False)
    #: Every product's conditions as entries over the distinct conditions (see
    #: :meth:`entries`), for questions asked of all products at once (the coach).
    _unique: list[Int8s] = field(default_factory=list, repr=False)
    _plan: list[list[int]] = field(default_factory=list, repr=False)
    _required: list[list[bool]] = field(default_factory=list, repr=False)

    def column(self, code: str) -> int:
        """Return the column of a product in ``eligible``."""
        return self.product_codes.index(code)

    def eligible_for(self, code: str) -> Bools:
        """Return the boolean vector of enterprises eligible for a product."""
        return self.eligible[:, self.column(code)]

    def eligible_ids(self, code: str) -> list[Any]:
        """Return the ids (or row numbers) of the enterprises eligible for a product."""
        rows = np.flatnonzero(self.eligible_for(code))
        if self.ids is None:
            return rows.tolist()
        return [self.ids[int(i)] for i in rows]

    def condition_codes(self, code: str) -> Int8s:
        """Return the (n, k) result codes of a product's conditions."""
        return np.stack(self._columns[code], axis=1)

    def entries(self) -> Entries:
        """Return every (product, condition) pair as flat arrays over the distinct conditions.

        Shared conditions (the same test in several products) are one distinct condition,
        evaluated once: ``codes`` is (n, U), and entry ``e`` is condition
        ``condition[e]`` of product ``product[e]`` (its column in ``eligible``).
        """
        product = [p for p, indices in enumerate(self._plan) for _ in indices]
        return Entries(
            codes=(
                np.stack(self._unique, axis=1)
                if self._unique
                else np.empty((len(self.eligible), 0), dtype=np.int8)
            ),
            condition=np.array([i for ix in self._plan for i in ix], dtype=np.intp),
            product=np.array(product, dtype=np.intp),
            required=np.array([r for rs in self._required for r in rs], dtype=np.bool_),
            ids=[(code, cid) for code in self.product_codes for cid in self.condition_ids[code]],
        )


@dataclass(frozen=True)
class Entries:
    """The (product, condition) pairs of a :class:`ManyResult` as flat arrays."""

    codes: Int8s
    condition: NDArray[np.intp]
    product: NDArray[np.intp]
    required: Bools
    ids: list[tuple[str, str]]


class _Vectors:
    """Lazily computed columns (raw and derived) of a table, cached per field."""

    def __init__(self, table: ProfileTable, today: dt.date) -> None:
        self.t = table
        self.today = today
        self.cache: dict[str, Any] = {}

    # --- derived fields -------------------------------------------------------
    def _firm_age(self) -> Floats:
        t = self.t
        assert t.registered_year is not None
        assert t.registered_mmdd is not None
        mmdd = self.today.month * 100 + self.today.day
        age = (self.today.year - t.registered_year - (mmdd < t.registered_mmdd)).astype(np.float64)
        age[t.registered_year < 0] = np.nan
        return age

    def _raw(self, name: str) -> Floats:
        """Return a numeric column of the table (all missing when the table lacks it)."""
        column = self.t.numeric.get(name)
        return np.full(self.t.n, np.nan) if column is None else column

    def _ratio(self, top: str, bottom: str) -> Floats:
        a, b = self._raw(top), self._raw(bottom)
        ok = b > 0
        out = np.full(self.t.n, np.nan)
        np.divide(a, b, out=out, where=ok)
        return out

    def _in_district(self) -> Int8s:
        def match(cat: Category) -> Int8s:
            # The extra last entry answers code -1 (missing) with -1.
            lut = np.array([int(v == DISTRICT_CODE) for v in cat.vocab] + [-1], dtype=np.int8)
            return np.take(lut, self.index(cat))

        area = match(self.t.categories["uscc_area"])
        district = match(self.t.categories["district_code"])
        yes = (area == 1) | (district == 1)
        unknown = (area < 0) & (district < 0)
        return np.where(yes, np.int8(1), np.where(unknown, np.int8(-1), np.int8(0)))

    def index(self, cat: Category) -> NDArray[np.intp]:
        """Return a category's codes as take() indices (-1 picks a LUT's last entry)."""
        key = "i:" + str(id(cat))
        if key not in self.cache:
            self.cache[key] = (cat, cat.codes.astype(np.intp))
        result: NDArray[np.intp] = self.cache[key][1]
        return result

    def _industry_division(self) -> Category:
        industry = self.t.categories["industry_code"]
        divisions = sorted({v[:2] for v in industry.vocab})
        position = {d: i for i, d in enumerate(divisions)}
        lut = np.array([position[v[:2]] for v in industry.vocab] + [-1], dtype=np.int32)
        return Category(np.take(lut, self.index(industry)), tuple(divisions))

    def _size_class(self) -> Category:
        """Vectorised ``sizes.classify``: per-code lookup tables, then comparisons."""
        industry = self.t.categories["industry_code"]
        index = self.index(industry)
        rows = [row_for(code) for code in industry.vocab]
        covered = np.take(np.array([r is not None for r in rows] + [False]), index)
        values = {
            "employees": self.t.numeric["employees"],
            "revenue": self.t.numeric["revenue_last_year"],
            "total_assets": self.t.numeric["total_assets"],
        }
        level = np.full(self.t.n, 3, dtype=np.int8)
        unknown = np.zeros(self.t.n, dtype=np.bool_)
        for metric, column in values.items():
            used_lut = np.array([r is not None and metric in r.metrics for r in rows] + [False])
            if not used_lut.any():
                continue
            # Unused metrics get -inf thresholds and missing values +inf, so both
            # reach level 3 and never lower the minimum (as in sizes.classify).
            thresholds = np.full((len(rows) + 1, 3), -np.inf)
            for i, r in enumerate(rows):
                if r is not None and metric in r.metrics:
                    thresholds[i] = r.thresholds[metric]
            nan = np.isnan(column)
            filled = np.where(nan, np.inf, column)
            metric_level = (filled >= np.take(thresholds[:, 0].copy(), index)).view(np.int8)
            metric_level = metric_level + (filled >= np.take(thresholds[:, 1].copy(), index)).view(
                np.int8
            )
            metric_level += (filled >= np.take(thresholds[:, 2].copy(), index)).view(np.int8)
            np.minimum(level, metric_level, out=level)
            unknown |= nan & np.take(used_lut, index)
        known = covered & ~(unknown & (level > 0))
        return Category(np.where(known, level.astype(np.int32), np.int32(-1)), SIZE_CLASSES)

    # --- columns by kind -----------------------------------------------------
    def numeric(self, name: str) -> tuple[Floats, Bools]:
        key = "n:" + name
        if key not in self.cache:
            if name == "firm_age_years":
                column = self._firm_age()
            elif name == "debt_ratio":
                column = self._ratio("total_liabilities", "total_assets")
            elif name == "revenue_growth":
                column = self._ratio("revenue_last_year", "revenue_prev_year") - 1.0
            elif name == "new_hire_share":
                column = self._ratio("qualifying_new_hires", "employees")
            else:
                column = self._raw(name)
            self.cache[key] = (column, np.isnan(column))
        result: tuple[Floats, Bools] = self.cache[key]
        return result

    def flag(self, name: str) -> Int8s:
        key = "f:" + name
        if key not in self.cache:
            self.cache[key] = self._in_district() if name == "in_district" else self.t.flags[name]
        result: Int8s = self.cache[key]
        return result

    def category(self, name: str) -> Category:
        key = "c:" + name
        if key not in self.cache:
            if name == "size_class":
                self.cache[key] = self._size_class()
            elif name == "industry_division":
                self.cache[key] = self._industry_division()
            else:
                self.cache[key] = self.t.categories[name]
        result: Category = self.cache[key]
        return result

    def missing(self, cat: Category) -> Bools:
        """Return where a category is missing (cached)."""
        key = "m:" + str(id(cat))
        if key not in self.cache:
            self.cache[key] = (cat, cat.codes < 0)
        result: Bools = self.cache[key][1]
        return result

    def tokens(self, name: str) -> Tokens:
        return self.t.tokens[name]

    # --- one leaf --------------------------------------------------------------
    def leaf(self, leaf: Leaf) -> tuple[Bools, Bools]:
        """Return (passed, unknown) for one leaf over all rows."""
        kind = field_specs()[leaf.field].kind
        op, value = leaf.op, leaf.value
        n = self.t.n
        none = np.zeros(n, dtype=np.bool_)
        if kind in NUMERIC_KINDS:
            x, unknown = self.numeric(leaf.field)
            if op == "present":
                return ~unknown, none
            if op == "between":
                passed = (x >= float(value[0])) & (x <= float(value[1]))
            elif op == "ne":
                passed = (x != float(value)) & ~unknown
            else:
                t = float(value)
                compare = {
                    "eq": np.equal,
                    "gte": np.greater_equal,
                    "gt": np.greater,
                    "lte": np.less_equal,
                    "lt": np.less,
                }[op]
                passed = compare(x, t)
            return passed, unknown
        if kind == "bool":
            flag = self.flag(leaf.field)
            if op == "present":
                return flag >= 0, none
            return flag == (1 if op == "true" else 0), flag < 0
        if kind == "category":
            cat = self.category(leaf.field)
            if op == "present":
                return ~self.missing(cat), none
            members = {value} if op in ("eq", "ne") else set(value)
            positive = op in ("eq", "in")
            lut = np.array([(v in members) == positive for v in cat.vocab] + [False])
            return np.take(lut, self.index(cat)), self.missing(cat)
        if kind == "tokens":
            tok = self.tokens(leaf.field)
            if op == "present":
                return tok.known & (tok.masks != 0).any(axis=1), none
            wanted = tok.mask_of(value)
            if tok.masks.shape[1] == 1:
                hit = (tok.masks[:, 0] & wanted[0]) != 0
            else:
                hit = ((tok.masks & wanted) != 0).any(axis=1)
            passed = tok.known & (hit if op == "in" else ~hit)
            return passed, ~tok.known
        # date / text fields only take `present`
        if leaf.field == "registered_on":
            assert self.t.registered_year is not None
            return self.t.registered_year >= 0, none
        if leaf.field in self.t.text_present:
            return self.t.text_present[leaf.field], none
        raise ValueError(f"field {leaf.field} cannot be matched in a table")


Groups = tuple[tuple[Leaf, ...], ...]


def _plan(products: list[Product]) -> tuple[list[Groups], list[list[int]]]:
    """Number the distinct conditions (shared ones are evaluated once)."""
    unique: dict[Groups, int] = {}
    per_product: list[list[int]] = []
    for product in products:
        per_product.append([unique.setdefault(c.groups, len(unique)) for c in product.conditions])
    return list(unique), per_product


def _all_of(parts: list[tuple[Bools, Bools]]) -> tuple[Bools, Bools]:
    """Three-valued AND: passed when all passed, failed when one failed, else unknown."""
    if len(parts) == 1:
        return parts[0]
    passed = np.logical_and.reduce([p for p, _ in parts])
    failed = np.logical_or.reduce([~p & ~u for p, u in parts])
    return passed, ~passed & ~failed


def _any_of(parts: list[tuple[Bools, Bools]]) -> tuple[Bools, Bools]:
    """Three-valued OR: passed when one passed, failed when all failed, else unknown."""
    if len(parts) == 1:
        return parts[0]
    passed = np.logical_or.reduce([p for p, _ in parts])
    failed = np.logical_and.reduce([~p & ~u for p, u in parts])
    return passed, ~passed & ~failed


# Rows per chunk: small enough that the temporaries of one chunk stay in cache.
CHUNK_ROWS = 1 << 16


def match_many(
    catalog: Catalog | Sequence[Product],
    table: Any,
    today: dt.date | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ManyResult:
    """Evaluate a whole table of enterprises against the catalogue at once (vectorised).

    ``table`` is a ProfileTable, a DataFrame, a dict of columns or a list of profile
    dicts. Results equal the one-by-one ``evaluate`` path, unknowns included.
    """
    data = as_table(table)
    day = today or dt.date.today()
    products = list(catalog)
    unique, per_product = _plan(products)
    required = [[c.required for c in p.conditions] for p in products]
    n = data.n
    eligible = np.empty((len(products), n), dtype=np.bool_)
    codes = [np.empty(n, dtype=np.int8) for _ in unique]
    unknown_code = np.int8(RESULT_CODES["unknown"])
    for start in range(0, max(n, 1), chunk_rows):
        stop = min(start + chunk_rows, n)
        if stop <= start:
            break
        vectors = _Vectors(data.slice(start, stop), day)
        leaf_cache: dict[Leaf, tuple[Bools, Bools]] = {}
        results: list[tuple[Bools, Bools]] = []
        for groups in unique:
            alternatives = []
            for group in groups:
                parts = []
                for leaf in group:
                    if leaf not in leaf_cache:
                        leaf_cache[leaf] = vectors.leaf(leaf)
                    parts.append(leaf_cache[leaf])
                alternatives.append(_all_of(parts))
            passed, unknown = _any_of(alternatives)
            results.append((passed, unknown))
            np.add(
                passed.view(np.int8),
                unknown.view(np.int8) * unknown_code,
                out=codes[len(results) - 1][start:stop],
            )
        for p_index, indices in enumerate(per_product):
            ok = eligible[p_index, start:stop]
            ok[:] = True
            for c_index, is_required in zip(indices, required[p_index], strict=True):
                passed, unknown = results[c_index]
                if is_required:
                    ok &= passed
                else:
                    ok &= passed | unknown
    return ManyResult(
        product_codes=[p.code for p in products],
        eligible=eligible.T,
        condition_ids={p.code: [c.id for c in p.conditions] for p in products},
        ids=data.ids,
        _columns={
            p.code: [codes[i] for i in indices]
            for p, indices in zip(products, per_product, strict=True)
        },
        _unique=codes,
        _plan=per_product,
        _required=required,
    )


def derive_many(table: Any, today: dt.date | None = None) -> dict[str, NDArray[Any]]:
    """Return the derived fields of every row (vectorised), None/NaN where unknown.

    Keys as ``derive_fields``: size_class and industry_division (object arrays of
    str or None), firm_age_years, debt_ratio, revenue_growth and new_hire_share (float,
    NaN when unknown), in_district (object array of True/False/None).
    """
    vectors = _Vectors(as_table(table), today or dt.date.today())

    def labels(cat: Category) -> NDArray[Any]:
        lut = np.array([*cat.vocab, None], dtype=object)
        return np.take(lut, vectors.index(cat))

    flag = vectors.flag("in_district")
    return {
        "size_class": labels(vectors.category("size_class")),
        "industry_division": labels(vectors.category("industry_division")),
        "firm_age_years": vectors.numeric("firm_age_years")[0],
        "debt_ratio": vectors.numeric("debt_ratio")[0],
        "revenue_growth": vectors.numeric("revenue_growth")[0],
        "new_hire_share": vectors.numeric("new_hire_share")[0],
        "in_district": np.take(np.array([False, True, None], dtype=object), flag.astype(np.intp)),
    }
