"""The catalogue in the database: product versions, publishing and the LPR."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
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
from finportal.services.audit import record_event
from finportal.services.errors import ValidationFailed
from products.messages import zh as validator_zh
from products.sources import UNCONFIRMED, unconfirmed_problems
from products.sources import unconfirmed as unconfirmed_paths

DEFAULT_LPR = Decimal("0.0300")


#: Parsed products, one per stored version, kept for the life of the process. A stored
#: version is never edited (a publish makes a new one), so the memo needs no invalidation;
#: the content hash in the key keeps a reused id (a rebuilt database) from finding another's.
_PARSED: Memo[products.Product] = Memo(1024)


def product_of(version: ProductVersion) -> products.Product:
    """Return the pure ``products.Product`` of a stored version, parsed once per process."""
    return _PARSED.get(
        (version.id, version.content_hash),
        lambda: products.Product.from_dict(
            version.content, f"{version.product.code} v{version.number}"
        ),
    )


#: Each version's example quote (its example amount and term) at a given LPR, computed once per
#: process: a version never changes, and a new LPR is a new key.
_EXAMPLE_QUOTES: Memo[products.Quote | products.QuoteError] = Memo(1024)


def example_quote(version: ProductVersion, lpr: Decimal) -> products.Quote:
    """Return the version's quote at its example amount and term (raises ``QuoteError``).

    The catalogue pages show it for every product on every request; it is the same for
    everyone until a new version is published or the LPR changes, so it is kept per
    (version, content hash, LPR) like the parsed product.
    """

    def make() -> products.Quote | products.QuoteError:
        product = product_of(version)
        try:
            return products.quote(
                product, product.example_amount.value, int(product.example_term.value), lpr
            )
        except products.QuoteError as exc:
            return exc

    found = _EXAMPLE_QUOTES.get((version.id, version.content_hash, lpr), make)
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
    product = validate_content(content, source_name)
    row = session.scalar(select(Product).where(Product.code == product.code))
    if row is None:
        row = Product(code=product.code, name_zh=product.name_zh, name_en=product.name_en)
        session.add(row)
        session.flush()
    row.name_zh, row.name_en = product.name_zh, product.name_en
    existing = session.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == row.id, ProductVersion.content_hash == product.version_hash
        )
    )
    if existing is not None:
        if row.current_version_id != existing.id:
            row.current_version_id = existing.id
        return existing, False
    number = (
        session.scalar(
            select(func.max(ProductVersion.number)).where(ProductVersion.product_id == row.id)
        )
        or 0
    ) + 1
    version = ProductVersion(
        product_id=row.id,
        number=number,
        content=product.to_dict(),
        content_hash=product.version_hash,
        published_by_id=actor_id,
    )
    session.add(version)
    session.flush()
    row.current_version_id = version.id
    record_event(
        session,
        actor_id=actor_id,
        action="product.published",
        object_type="product",
        object_id=row.id,
        to_state=f"v{number}",
        data={"code": product.code, "content_hash": product.version_hash},
    )
    return version, True


def sync_catalog(
    session: Session, *, actor_id: int | None = None, path: str | Path | None = None
) -> list[ProductVersion]:
    """Publish every catalogue file whose content changed; return the new versions (commits)."""
    catalog = products.load_catalog(path)
    new = []
    for product in catalog:
        version, created = save_version(
            session, product.to_dict(), actor_id=actor_id, source_name=product.source_name
        )
        if created:
            new.append(version)
    session.commit()
    return new


def current_lpr(session: Session, on: date | None = None) -> Decimal:
    """Return the 1-year LPR in force on a day (decimal fraction per year)."""
    stmt = select(ReferenceRate.annual_rate).where(ReferenceRate.kind == "lpr_1y")
    if on is not None:
        stmt = stmt.where(ReferenceRate.effective_on <= on)
    stmt = stmt.order_by(ReferenceRate.effective_on.desc()).limit(1)
    rate = read_once(session, ("current_lpr", on), lambda: session.scalar(stmt))
    return Decimal(rate) if rate is not None else DEFAULT_LPR


# The 政策找企业 push (what each firm is told, when, and its jobs) is services/push.py.
