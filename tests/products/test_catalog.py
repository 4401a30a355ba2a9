"""The catalogue: all products load, bad files are refused with the place named."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from products import Catalog, CatalogError, Product, load_catalog
from products.catalog import CATALOG_DIR, check_catalog

DESIGN_CODES = {
    "park_batch",
    "chamber_batch",
    "policy_guarantee",
    "tech_performance",
    "ip_pledge",
    "startup_guarantee",
    "credit_easy",
    "specialized_sme",
    "first_loan",
    "renewal",
    "agri_operation",
    "hq_development",
    "esop_loan",
}


def raw(code: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CATALOG_DIR / f"{code}.yaml").read_text("utf-8"))
    return data


def sourced_numbers(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if "value" in node and "unit" in node:
            found.append((path, node))
        for key, value in node.items():
            found.extend(sourced_numbers(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(sourced_numbers(value, f"{path}[{i}]"))
    return found


def test_every_product_of_the_design_loads(catalog: Catalog) -> None:
    assert set(catalog.codes) >= DESIGN_CODES
    for product in catalog:
        assert product.name_zh
        assert product.name_en
        assert len(product.version_hash) == 64


@pytest.mark.parametrize("code", sorted(DESIGN_CODES))
def test_every_number_names_its_source(code: str) -> None:
    numbers = sourced_numbers(raw(code))
    assert numbers
    for path, item in numbers:
        assert len(item["source"]) > 5, path
        assert isinstance(item.get("demo", False), bool), path
    for condition in raw(code)["conditions"]:
        assert condition["source"]


def test_batch_products_carry_a_per_firm_cap(catalog: Catalog) -> None:
    batch = {p.code for p in catalog if p.batch}
    assert batch == {"park_batch", "chamber_batch"}
    for code in batch:
        product = catalog.get(code)
        assert product.per_firm_cap is not None
        assert product.amount_max.value <= product.per_firm_cap.value


def test_policy_numbers_quote_the_plan(catalog: Catalog) -> None:
    quota = next(f for f in catalog.get("hq_development").facts if f.key == "district_quota")
    assert quota.value.value == 50_000_000_000
    assert "500亿元" in quota.value.source
    assert not quota.value.demo
    startup = catalog.get("startup_guarantee")
    assert startup.amount_max.value == 3_000_000
    assert startup.term_max.value == 24


def test_a_broken_amount_names_file_product_and_field() -> None:
    data = raw("ip_pledge")
    data["terms"]["amount_max"]["value"] = -5
    with pytest.raises(CatalogError) as info:
        Product.from_dict(data, "products/catalog/ip_pledge.yaml")
    assert str(info.value) == (
        "products/catalog/ip_pledge.yaml: product ip_pledge: field terms.amount_max: must be positive"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["conditions"][1].update(field="shoe_size"),
            "conditions[1].field: unknown field",
        ),
        (
            lambda d: d["conditions"][1].update(op="gte"),
            "conditions[1].op: operator gte does not apply",
        ),
        (lambda d: d["terms"]["repayment"].update(method="balloon"), "terms.repayment.method"),
        (lambda d: d["terms"]["amount_min"].pop("source"), "terms.amount_min.source"),
        (
            lambda d: d["terms"]["term_min"].update(value=48),
            "terms.term_min: must not exceed term_max",
        ),
        (
            lambda d: d["interest_subsidy"]["share"].update(value=1.5),
            "interest_subsidy.share: must be a share",
        ),
        (lambda d: d["rate"].pop("spread_bp"), "rate.spread_bp: required when base is lpr_1y"),
        (lambda d: d.update(colour="red"), "field colour: Unknown field"),
        (
            lambda d: d["terms"]["amount_max"].update(unit="months"),
            "terms.amount_max: unit must be yuan",
        ),
    ],
)
def test_schema_refuses_bad_content(change: Any, expected: str) -> None:
    data = raw("ip_pledge")
    change(data)
    with pytest.raises(CatalogError, match="ip_pledge.yaml: product ip_pledge: ") as info:
        Product.from_dict(data, "products/catalog/ip_pledge.yaml")
    assert expected in str(info.value)


def test_condition_values_are_checked_against_the_field() -> None:
    data = raw("credit_easy")
    data["conditions"][0]["value"] = ["A", "AAA"]
    with pytest.raises(CatalogError, match=r"conditions\[0\]\.value: .*AAA"):
        Product.from_dict(data, "credit_easy.yaml")


def test_file_name_must_match_code(tmp_path: Path) -> None:
    data = raw("renewal")
    (tmp_path / "renewal_copy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(CatalogError, match="field code: must match the file name"):
        load_catalog(tmp_path)


def test_round_trip_keeps_content_and_hash(catalog: Catalog) -> None:
    for product in catalog:
        again = Product.from_dict(product.to_dict(), "db")
        assert again == product
        assert again.version_hash == product.version_hash
        assert again.to_dict() == product.to_dict()


def test_hash_changes_with_content_only() -> None:
    data = raw("first_loan")
    base = Product.from_dict(data, "a").version_hash
    reordered = dict(reversed(list(copy.deepcopy(data).items())))
    assert Product.from_dict(reordered, "b").version_hash == base
    respelled = copy.deepcopy(data)
    respelled["rate"]["spread_bp"]["value"] = "50.0"
    assert Product.from_dict(respelled, "c").version_hash == base
    changed = copy.deepcopy(data)
    changed["rate"]["spread_bp"]["value"] = 55
    assert Product.from_dict(changed, "d").version_hash != base


def test_check_reports_every_bad_file(tmp_path: Path) -> None:
    for code in ("ip_pledge", "renewal", "first_loan"):
        data = raw(code)
        if code != "first_loan":
            data["terms"]["term_max"]["value"] = 0
        (tmp_path / f"{code}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    problems = check_catalog(tmp_path)
    assert len(problems) == 2
    assert all("field terms.term_max: must be positive" in p for p in problems)
    result = subprocess.run(
        [sys.executable, "-m", "products", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "ip_pledge.yaml: product ip_pledge: field terms.term_max" in result.stderr
    assert "renewal.yaml: product renewal" in result.stderr


def test_check_accepts_the_bundled_catalogue() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "products", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert all(code in result.stdout for code in DESIGN_CODES)


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("code: [unclosed\n", "utf-8")
    with pytest.raises(CatalogError, match=r"broken\.yaml: cannot read"):
        load_catalog(tmp_path)
