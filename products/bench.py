"""Benchmark the matcher: vectorised vs a plain Python loop, and one enterprise end to end."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from typing import Any

import numpy as np

from products.catalog import Catalog
from products.derive import collect_facts
from products.eligibility import evaluate_facts
from products.matching import match_many, match_one
from products.sizes import SIZE_CLASSES
from products.table import Category, ProfileTable, Tokens

TODAY = dt.date(2026, 11, 27)
# A spread of GB/T 4754-2017 codes over the size-class rows, finance and real estate.
INDUSTRIES = (
    "0111",
    "0511",
    "0610",
    "1311",
    "1810",
    "2710",
    "3411",
    "3511",
    "3670",
    "3911",
    "4011",
    "4411",
    "4710",
    "4910",
    "5111",
    "5211",
    "5411",
    "5910",
    "5920",
    "6010",
    "6110",
    "6210",
    "6311",
    "6421",
    "6510",
    "6520",
    "6620",
    "7010",
    "7020",
    "7030",
    "7040",
    "7111",
    "7241",
    "7310",
    "7520",
    "8010",
    "8310",
    "8411",
    "9011",
    "9110",
)
AREAS = ("310112", "310104", "310115", "310117", "320506")
PARKS = tuple(f"park_{i}" for i in range(8))
CHAMBERS = tuple(f"chamber_{i}" for i in range(6))
PURPOSES = ("working_capital", "equipment", "research", "renewal", "esop", "other")


def _missing(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    return rng.random(n) < share


def synthetic_table(n: int, seed: int = 7, missing: float = 0.08) -> ProfileTable:
    """Build a random but plausible table of n enterprises directly as arrays."""
    rng = np.random.default_rng(seed)
    table = ProfileTable(n=n)

    def number(values: np.ndarray, share: float = missing) -> np.ndarray:
        out = values.astype(np.float64)
        out[_missing(rng, n, share)] = np.nan
        return out

    employees = np.round(rng.lognormal(3.0, 1.3, n))
    revenue = np.round(rng.lognormal(15.5, 1.8, n), 2)
    assets = np.round(revenue * rng.uniform(0.3, 2.5, n), 2)
    table.numeric = {
        "employees": number(employees),
        "social_insured_employees": number(np.floor(employees * rng.uniform(0.5, 1, n))),
        "qualifying_new_hires": number(np.floor(employees * rng.uniform(0, 0.3, n)), 0.3),
        "revenue_last_year": number(revenue),
        "revenue_prev_year": number(np.round(revenue * rng.uniform(0.6, 1.4, n), 2)),
        "total_assets": number(assets),
        "total_liabilities": number(np.round(assets * rng.uniform(0.1, 1.1, n), 2)),
        "net_profit_last_year": number(np.round(revenue * rng.normal(0.05, 0.1, n), 2)),
        "tax_paid_last_year": number(np.round(revenue * rng.uniform(0, 0.08, n), 2)),
        "invention_patents": number(rng.poisson(0.6, n)),
        "utility_patents": number(rng.poisson(1.5, n)),
        "trademarks": number(rng.poisson(0.8, n)),
        "existing_loan_balance": number(
            np.round(rng.lognormal(13, 1.5, n) * (rng.random(n) < 0.6), 2)
        ),
        "loan_maturing_within_days": number(rng.integers(0, 720, n)),
        "overdue_count_24m": number(rng.poisson(0.3, n)),
        "max_overdue_days_24m": number(rng.poisson(5, n)),
        "pending_lawsuits": number(rng.poisson(0.1, n)),
        "enforcement_records": number(rng.poisson(0.05, n)),
        "admin_penalties_24m": number(rng.poisson(0.1, n)),
        "amount": number(np.round(rng.uniform(5e4, 2e7, n), -3), 0.5),
        "term_months": number(rng.integers(1, 61, n), 0.5),
    }

    def flag(p_true: float, share: float = missing) -> np.ndarray:
        out = (rng.random(n) < p_true).astype(np.int8)
        out[_missing(rng, n, share)] = -1
        return out

    table.flags = {
        "has_bank_loan_history": flag(0.6),
        "serious_bad_credit_24m": flag(0.05),
        "credit_repair_completed": flag(0.3),
        "batch_recommended": flag(0.3, 0.5),
    }

    def category(vocab: tuple[str, ...], share: float = missing) -> Category:
        codes = rng.integers(0, len(vocab), n).astype(np.int32)
        codes[_missing(rng, n, share)] = -1
        return Category(codes, vocab)

    table.categories = {
        "district_code": category(AREAS, 0.4),
        "tax_credit_grade": category(("A", "B", "M", "C", "D")),
        "purpose": category(PURPOSES, 0.5),
        "industry_code": category(tuple(INDUSTRIES), 0.03),
        "uscc_area": category(AREAS, 0.02),
    }

    def tokens(vocab: tuple[str, ...], p: float) -> Tokens:
        bits = rng.random((n, len(vocab))) < p
        weights = (np.uint64(1) << np.arange(len(vocab), dtype=np.uint64)).astype(np.uint64)
        masks = (bits.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)[:, None]
        return Tokens(masks, ~_missing(rng, n, missing), vocab)

    table.tokens = {
        "certifications": tokens(("tech_sme", "high_tech", "specialized", "little_giant"), 0.15),
        "park_codes": tokens(PARKS, 0.08),
        "chamber_codes": tokens(CHAMBERS, 0.08),
    }
    year = rng.integers(1995, 2027, n).astype(np.int32)
    year[_missing(rng, n, missing)] = -1
    table.registered_year = year
    table.registered_mmdd = (rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)).astype(np.int32)
    return table


TYPICAL_PROFILE: dict[str, Any] = {
    "uscc": "91310112MA1G8XKT4L",
    "name": "示例科技有限公司",
    "registered_on": "2021-05-01",
    "district_code": "310112",
    "industry_code": "C3911",
    "employees": 40,
    "qualifying_new_hires": 2,
    "social_insured_employees": 36,
    "revenue_last_year": "8000000",
    "revenue_prev_year": "6000000",
    "total_assets": "5000000",
    "total_liabilities": "2000000",
    "net_profit_last_year": "400000",
    "tax_paid_last_year": "300000",
    "tax_credit_grade": "A",
    "invention_patents": 2,
    "utility_patents": 5,
    "trademarks": 1,
    "certifications": ["tech_sme", "specialized"],
    "park_codes": ["park_1"],
    "chamber_codes": [],
    "existing_loan_balance": "0",
    "has_bank_loan_history": False,
    "loan_maturing_within_days": None,
    "overdue_count_24m": 0,
    "max_overdue_days_24m": 0,
    "pending_lawsuits": 0,
    "enforcement_records": 0,
    "admin_penalties_24m": 0,
    "serious_bad_credit_24m": False,
    "credit_repair_completed": False,
}
TYPICAL_REQUEST: dict[str, Any] = {
    "amount": "1000000",
    "term_months": 12,
    "purpose": "working_capital",
    "batch_recommended": True,
}
# SIZE_CLASSES is re-exported for callers that label size codes.
__all__ = ["SIZE_CLASSES", "run_bench", "synthetic_table"]


def run_bench(
    catalog: Catalog, enterprises: int = 1_000_000, loop_sample: int = 2000
) -> dict[str, Any]:
    """Measure pairs per second (vectorised and loop) and one enterprise's full match in ms."""
    products = len(catalog)
    table = synthetic_table(enterprises)
    match_many(catalog, synthetic_table(1000, seed=1), today=TODAY)  # warm up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        match_many(catalog, table, today=TODAY)
        best = min(best, time.perf_counter() - start)
    vectorised = enterprises * products / best

    sample = min(loop_sample, enterprises)
    rows = table.rows(range(sample))
    start = time.perf_counter()
    for profile, request in rows:
        facts = collect_facts(profile, request, TODAY)
        for product in catalog:
            evaluate_facts(product, facts)
    loop = sample * products / (time.perf_counter() - start)

    for _ in range(50):  # warm up caches (compiled leaves, size table)
        match_one(catalog, TYPICAL_PROFILE, TYPICAL_REQUEST, today=TODAY)
    times = []
    for _ in range(300):
        start = time.perf_counter()
        match_one(catalog, TYPICAL_PROFILE, TYPICAL_REQUEST, today=TODAY)
        times.append(time.perf_counter() - start)
    # The coach for a firm that nearly qualifies for several products (bad credit not yet
    # repaired, a certification missing): two match_many calls and the near misses' quotes.
    from products.coach import coach

    near = {**TYPICAL_PROFILE, "serious_bad_credit_24m": True, "certifications": []}
    parks = {"park_codes": [("park_1", "park")]}
    for _ in range(20):
        coach(catalog, near, TYPICAL_REQUEST, today=TODAY, organisations=parks)
    coach_times = []
    for _ in range(100):
        start = time.perf_counter()
        coach(catalog, near, TYPICAL_REQUEST, today=TODAY, organisations=parks)
        coach_times.append(time.perf_counter() - start)
    return {
        "enterprises": enterprises,
        "products": products,
        "vectorised_pairs_per_s": round(vectorised),
        "loop_pairs_per_s": round(loop),
        "one_enterprise_ms": round(statistics.median(times) * 1000, 3),
        "coach_ms": round(statistics.median(coach_times) * 1000, 3),
        "coach_near_misses": len(
            coach(catalog, near, TYPICAL_REQUEST, today=TODAY, organisations=parks)
        ),
    }
