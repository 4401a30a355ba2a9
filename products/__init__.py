"""Catalogue, eligibility, pricing and matching of FinPortal's loan products.

Pure Python: imports neither flask, sqlalchemy nor finportal. Profiles and
requests are plain dicts using the field names of ``data/fields.yaml`` (money in
yuan as Decimal, str or number). The portal calls:

``load_catalog(path=None) -> Catalog``
    Every product file under ``products/catalog/`` (or ``path``); iterate it or
    ``catalog.get(code)``. A bad file raises ``CatalogError`` naming the file,
    the product and the field.
``Product.from_dict(data, source_name) -> Product`` / ``product.to_dict()``
    Round trip of a product's content for storing versions; ``product.version_hash``
    (sha256 of the canonical content) changes exactly when the content does.
``evaluate(product, profile, request=None, today=None) -> Evaluation``
    ``.eligible``, ``.conditions`` (each ``.field``, ``.result`` passed / failed /
    unknown, ``.message_zh``, ``.message_en``, ``.missing_fields``) and
    ``.missing_fields``.
``match_one(catalog, profile, request=None, lpr=Decimal("0.03"), today=None) -> list[MatchResult]``
    Every product, eligible first ranked by net annual cost; each result has
    ``.evaluation``, ``.quote`` (or None) and ``to_dict()`` (the CLI JSON shape).
``match_many(catalog, table, today=None) -> ManyResult``
    Vectorised over a table (``ProfileTable``, DataFrame, dict of columns or list
    of dicts): ``.eligible`` (n x products bool), ``.eligible_ids(code)``,
    ``.condition_codes(code)`` (0 failed, 1 passed, 2 unknown). Build a table from
    dicts with ``profiles_to_table(profiles, requests=None, ids=None)``.
``quote(product, amount, term_months, lpr=Decimal("0.03")) -> Quote``
    Rates, subsidies with caps, net annual cost, totals and schedule; ``to_dict()``.
    Out-of-range input raises ``QuoteError`` (a ValueError) with zh and en messages.
``product.variants``
    The same policy for another borrower (the founders' 创业担保贷款), shown as
    information with its sourced facts; never matched or quoted.
``products.sources``
    The registry of cited documents (``data/sources.yaml``): ``confirms(source)``
    tells whether a source can confirm a value (a demo: false value needs one);
    ``sources_table(dicts)`` is the table of each product's sources.
``size_class(industry_code, employees, revenue_last_year, total_assets=None) -> SizeClassResult``
    ``(size_class, rule_zh, rule_en)`` per 工信部联企业〔2011〕300号.
``derive_many(table, today=None) -> dict[str, ndarray]``
    The same derived fields for a whole table, vectorised.
``derive_fields(profile, today=None) -> dict``
    ``size_class``, ``firm_age_years``, ``debt_ratio``, ``revenue_growth``, ``new_hire_share``,
    ``in_district``, ``industry_division`` (and the size-class rule text).
"""

from products.catalog import Catalog, check_catalog, load_catalog
from products.derive import derive_fields
from products.eligibility import ConditionResult, Evaluation, evaluate
from products.errors import CatalogError, ProfileError, QuoteError
from products.matching import ManyResult, MatchResult, derive_many, match_many, match_one
from products.model import Condition, Product, Sourced
from products.pricing import Quote, ScheduleRow, cost_rank, quote
from products.sizes import SizeClassResult, size_class
from products.table import ProfileTable, profiles_to_table, table_from_frame

__all__ = [
    "Catalog",
    "CatalogError",
    "Condition",
    "ConditionResult",
    "Evaluation",
    "ManyResult",
    "MatchResult",
    "ProfileError",
    "ProfileTable",
    "Product",
    "Quote",
    "QuoteError",
    "ScheduleRow",
    "SizeClassResult",
    "Sourced",
    "check_catalog",
    "cost_rank",
    "derive_fields",
    "derive_many",
    "evaluate",
    "load_catalog",
    "match_many",
    "match_one",
    "profiles_to_table",
    "quote",
    "size_class",
    "table_from_frame",
]
