"""The catalogue in the database: product versions, publishing and the LPR."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, contains_eager, defer, joinedload, selectinload
from sqlalchemy.orm.interfaces import ORMOption

import products
from finportal import limits
from finportal.memo import Memo, read_once
from finportal.models import (
    Product,
    ProductVersion,
    ReferenceRate,
)
from finportal.services import audit
from finportal.services.audit import record_event
from finportal.services.errors import ValidationFailed
from products.messages import zh as validator_zh
from products.sources import UNCONFIRMED, unconfirmed_problems
from products.sources import unconfirmed as unconfirmed_paths

DEFAULT_LPR = Decimal("0.0300")


#: Parsed products, one per stored content, kept for the life of the process. A stored
#: version is never edited (a publish makes a new one), so the memo needs no invalidation.
#: The key is what the parsed product is made of (its content, by hash, and the name its
#: messages give it), not the row's id: a version stored again with the same content (a
#: rebuilt database, a test's rolled-back publish) is not parsed again.
_PARSED: Memo[products.Product] = Memo(1024)


def _parsed_key(version: ProductVersion) -> tuple[str, str, int]:
    return (version.content_hash, version.product.code, version.number)


def product_of(version: ProductVersion) -> products.Product:
    """Return the pure ``products.Product`` of a stored version, parsed once per process."""
    code, number = version.product.code, version.number
    return _PARSED.get(
        _parsed_key(version),
        lambda: products.Product.from_dict(version.content, f"{code} v{number}"),
    )


#: Each version's example quote (its example amount and term) at a given LPR, computed once per
#: process: a version never changes, and a new LPR is a new key.
_EXAMPLE_QUOTES: Memo[products.Quote | products.QuoteError] = Memo(1024)


def example_quote(version: ProductVersion, lpr: Decimal) -> products.Quote:
    """Return the version's quote at its example amount and term (raises ``QuoteError``).

    The catalogue pages show it for every product on every request; it is the same for
    everyone until a new version is published or the LPR changes, so it is kept per
    parsed product and LPR.
    """

    def make() -> products.Quote | products.QuoteError:
        product = product_of(version)
        try:
            return products.quote(
                product, product.example_amount.value, int(product.example_term.value), lpr
            )
        except products.QuoteError as exc:
            return exc

    found = _EXAMPLE_QUOTES.get((*_parsed_key(version), lpr), make)
    if isinstance(found, products.QuoteError):  # a new one each time: no traceback piles up
        raise products.QuoteError(found.message_zh, found.message_en)
    return found


def eager_version(relationship: Any, *, joined: bool = False) -> ORMOption:
    """Loader option: a relationship to a product version, loaded with its product in one go.

    The stored content stays unread (``product_of`` parses it once per version and process).
    ``joined`` loads them in the rows' own statement (for the few rows of one application:
    one round trip less); by default a second statement loads those of many rows at once.
    """
    load = joinedload(relationship) if joined else selectinload(relationship)
    return load.options(defer(ProductVersion.content), joinedload(ProductVersion.product))


def current_versions(session: Session) -> list[ProductVersion]:
    """Return the current version of every active product, in code order, with its product.

    The stored content is left unread (``product_of`` parses it once per version and process).
    """
    stmt = (
        select(ProductVersion)
        .join(Product, Product.current_version_id == ProductVersion.id)
        .where(Product.active.is_(True))
        .options(contains_eager(ProductVersion.product), defer(ProductVersion.content))
        .order_by(Product.code)
    )
    return list(read_once(session, "current_versions", lambda: list(session.scalars(stmt))))


def current_catalog(session: Session) -> tuple[products.Catalog, dict[str, ProductVersion]]:
    """Return the published catalogue and, per product code, the version it came from."""
    versions = current_versions(session)
    by_code = {v.product.code: v for v in versions}
    return products.Catalog(product_of(v) for v in versions), by_code


def validate_content(content: dict[str, Any], source_name: str = "<admin>") -> products.Product:
    """Return the product of some content, or raise ``ValidationFailed`` saying what is wrong.

    The catalogue schema, the rule that a confirmed number cites an outside source, and the
    text limits of code and names: what publishing checks (drafts are checked the same way).
    """
    try:
        product = products.Product.from_dict(content, source_name)
    except products.CatalogError as exc:
        raise ValidationFailed(
            f"产品数据有误：{exc}",
            f"The product data is not valid: {exc}",
            fields=_by_field(exc.problems),
        ) from exc
    return check_publishable(product, source_name)


def check_publishable(product: products.Product, source_name: str) -> products.Product:
    """Return a parsed product that may be published, or raise ``ValidationFailed``: what
    :func:`validate_content` checks beyond the catalogue schema (a product loaded from the
    catalogue files was parsed by ``products.load_catalog`` already)."""
    # A number is published as confirmed only with a source beyond FinPortal's own
    # documents (stored versions from before this rule still load in product_of).
    unconfirmed = unconfirmed_problems(product.to_dict(), source_name)
    if unconfirmed:
        text = "; ".join(unconfirmed)
        raise ValidationFailed(
            f"产品数据有误（标为已确认的数字须注明本平台以外的依据）：{text}",
            f"The product data is not valid: {text}",
            fields=_by_field(
                (f"{path}.demo", UNCONFIRMED) for path in unconfirmed_paths(product.to_dict())
            ),
        )
    for field, value, kind in (
        ("code", product.code, "code"),
        ("name_zh", product.name_zh, "name"),
        ("name_en", product.name_en, "name"),
    ):
        try:
            limits.check_text(value, kind, strip=False)
        except limits.LimitError as exc:
            raise ValidationFailed(
                f"产品数据有误：field {field}: {exc.message_zh}",
                f"The product data is not valid: field {field}: {exc.message_en}",
                fields={field: limits.in_user_language(exc.message_zh, exc.message_en)},
            ) from None
    return product


def _by_field(problems: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return the validator's findings by path, each in the user's language (zh first)."""
    out: dict[str, str] = {}
    for path, message in problems:
        text = limits.in_user_language(validator_zh(message), message)
        out[path] = f"{out[path]}；{text}" if path in out else text
    return out


def save_version(
    session: Session, content: dict[str, Any], *, actor_id: int | None, source_name: str = "<admin>"
) -> tuple[ProductVersion, bool]:
    """Validate product content and store it as a new version if it changed.

    Returns the current version and whether it is new. The caller commits.
    """
    ((version, created),) = _store(session, [validate_content(content, source_name)], actor_id)
    return version, created


def _store(
    session: Session, checked: list[products.Product], actor_id: int | None
) -> list[tuple[ProductVersion, bool]]:
    """Store checked products, each as a new version if its content changed, in a few
    statements whatever their number (see :func:`save_version`; the caller commits)."""
    codes = [product.code for product in checked]
    rows = {
        row.code: row for row in session.scalars(select(Product).where(Product.code.in_(codes)))
    }
    for product in checked:
        row = rows.get(product.code)
        if row is None:
            row = rows[product.code] = Product(code=product.code)
            session.add(row)
        row.name_zh, row.name_en = product.name_zh, product.name_en
    session.flush()
    ids = [rows[product.code].id for product in checked]
    pairs = [(id_, product.version_hash) for id_, product in zip(ids, checked, strict=True)]
    existing = {
        (version.product_id, version.content_hash): version
        for version in session.scalars(
            select(ProductVersion)
            .where(tuple_(ProductVersion.product_id, ProductVersion.content_hash).in_(pairs))
            .options(defer(ProductVersion.content))
        )
    }
    numbers: dict[int, int] = {
        product_id: number
        for product_id, number in session.execute(
            select(ProductVersion.product_id, func.max(ProductVersion.number))
            .where(ProductVersion.product_id.in_(ids))
            .group_by(ProductVersion.product_id)
        )
    }
    stored: list[tuple[ProductVersion, bool]] = []
    for product, product_id in zip(checked, ids, strict=True):
        version = existing.get((product_id, product.version_hash))
        if version is None:
            numbers[product_id] = numbers.get(product_id, 0) + 1
            version = ProductVersion(
                product_id=product_id,
                number=numbers[product_id],
                content=product.to_dict(),
                content_hash=product.version_hash,
                published_by_id=actor_id,
            )
            session.add(version)
        stored.append((version, version in session.new))
    session.flush()
    for product, (version, created) in zip(checked, stored, strict=True):
        row = rows[product.code]
        if row.current_version_id != version.id:
            row.current_version_id = version.id
        if created:
            record_event(
                session,
                actor_id=actor_id,
                action="product.published",
                object_type="product",
                object_id=row.id,
                to_state=f"v{version.number}",
                data={"code": product.code, "content_hash": product.version_hash},
            )
    return stored


def sync_catalog(
    session: Session, *, actor_id: int | None = None, path: str | Path | None = None
) -> list[ProductVersion]:
    """Publish every catalogue file whose content changed; return the new versions (commits)."""
    checked = [
        check_publishable(product, product.source_name) for product in products.load_catalog(path)
    ]
    stored = _store(session, checked, actor_id)
    audit.commit_batch(session)  # a new catalogue publishes a dozen products at once
    return [version for version, created in stored if created]


def current_lpr(session: Session, on: date | None = None) -> Decimal:
    """Return the 1-year LPR in force on a day (decimal fraction per year)."""
    stmt = select(ReferenceRate.annual_rate).where(ReferenceRate.kind == "lpr_1y")
    if on is not None:
        stmt = stmt.where(ReferenceRate.effective_on <= on)
    stmt = stmt.order_by(ReferenceRate.effective_on.desc()).limit(1)
    rate = read_once(session, ("current_lpr", on), lambda: session.scalar(stmt))
    return Decimal(rate) if rate is not None else DEFAULT_LPR


# The 政策找企业 push (what each firm is told, when, and its jobs) is services/push.py.
