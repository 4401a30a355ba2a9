"""Load the catalogue: one YAML file per product under ``products/catalog/``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import yaml

from products import yaml_text
from products.errors import CatalogError
from products.model import Product
from products.sources import cited, unconfirmed_problems, unregistered

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"


class Catalog:
    """The products of a catalogue, in file-name order; iterate or ``get(code)``."""

    def __init__(self, products: Iterable[Product]) -> None:
        self._products = list(products)
        self._by_code: dict[str, Product] = {}
        for product in self._products:
            if product.code in self._by_code:
                raise CatalogError(f"{product.source_name}: product {product.code}: duplicate code")
            self._by_code[product.code] = product

    def __iter__(self) -> Iterator[Product]:
        return iter(self._products)

    def __len__(self) -> int:
        return len(self._products)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Product:
        """Return the product with this code; KeyError names the known codes if none."""
        try:
            return self._by_code[code]
        except KeyError:
            known = ", ".join(self._by_code)
            raise KeyError(f"no product {code!r} (known: {known})") from None

    @property
    def codes(self) -> list[str]:
        """Return the product codes in order."""
        return [p.code for p in self._products]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_product_file(path: Path) -> Product:
    """Read and validate one catalogue file; its product code must match the file name."""
    name = _display(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{name}: cannot read: {exc}") from exc
    return _product(name, path.stem, text)


@lru_cache(maxsize=256)
def _product(name: str, stem: str, text: str) -> Product:
    # Parsed and validated once per text in a process (a product is immutable): the catalogue
    # is read again at every publish, by the checks and by each test that publishes it.
    try:
        data = yaml_text.parse(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{name}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{name}: expected a mapping of product fields")
    product = Product.from_dict(data, name)
    if product.code != stem:
        raise CatalogError(
            f"{name}: product {product.code}: field code: must match the file name {stem!r}"
        )
    return product


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load every ``*.yaml`` product file of a directory (default: the bundled catalogue)."""
    directory = Path(path) if path is not None else CATALOG_DIR
    if directory.is_file():
        return Catalog([load_product_file(directory)])
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogError(f"{_display(directory)}: no product files (*.yaml)")
    return Catalog(load_product_file(f) for f in files)


def check_catalog(path: str | Path | None = None) -> list[str]:
    """Validate every file and return all problems (empty when the catalogue is good)."""
    directory = Path(path) if path is not None else CATALOG_DIR
    files = [directory] if directory.is_file() else sorted(directory.glob("*.yaml"))
    if not files:
        return [f"{_display(directory)}: no product files (*.yaml)"]
    problems: list[str] = []
    products: list[Product] = []
    for file in files:
        try:
            product = load_product_file(file)
        except CatalogError as exc:
            problems.append(str(exc))
            continue
        products.append(product)
        problems.extend(unconfirmed_problems(product.to_dict(), product.source_name))
        # Every citation names a document of products/data/sources.yaml, so the
        # catalogue's sources can be listed and classified (docs/CATALOGUE.md).
        for path, source, _demo in cited(product.to_dict()):
            for citation in unregistered(source):
                problems.append(
                    f"{product.source_name}: product {product.code}: field {path}.source: "
                    f"cites no document of products/data/sources.yaml: {citation!r}"
                )
    if not problems:
        try:
            Catalog(products)
        except CatalogError as exc:
            problems.append(str(exc))
    return problems
