"""Sources: every value is marked demo unless a policy or an outside rule states it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from products import Catalog, Product
from products.catalog import CATALOG_DIR, check_catalog
from products.sources import (
    FINPORTAL_PREFIX,
    citation_confirms,
    cited,
    document_of,
    documents,
    quotes,
    sources_table,
    split_citations,
    unconfirmed,
)
from tests.helpers import shared_dir

ROOT = Path(__file__).resolve().parents[2]
# The plan lives beside the project (../shared/seed), never inside it.
PLAN_TEXT = shared_dir() / "seed" / "minhang-2025-business-environment-plan.txt"
FILES = sorted(CATALOG_DIR.glob("*.yaml"))


def raw(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    return data


def every_source() -> list[tuple[str, str, str, bool | None]]:
    """(file, path, source, demo) of everything the catalogue files cite, read from the YAML."""
    return [
        (path.name, where, source, demo)
        for path in FILES
        for where, source, demo in cited(raw(path))
    ]


def test_split_citations_keeps_brackets_and_quotes_whole() -> None:
    source = (
        "财金〔2020〕21号 (a; b); 闵行区聚焦提升企业满意度持续打造一流营商环境行动方案（2025年2月5日印发）"
        " 一（五）「x；y」; FinPortal DESIGN.md, table 'The products' (c; d)"
    )
    parts = split_citations(source)
    assert len(parts) == 3
    assert parts[0] == "财金〔2020〕21号 (a; b)"
    assert quotes(parts[1]) == ["x；y"]
    assert parts[2].startswith("FinPortal DESIGN.md")


@pytest.mark.parametrize(
    ("citation", "confirms"),
    [
        ("FinPortal DESIGN.md, table 'The products' (guarantee fee 1%/year)", False),
        ("FinPortal demo value, to be confirmed by the centre", False),
        ("FinPortal example: amount/term used to quote", False),
        ("FinPortal anything not in the registry", False),
        ("工信部联企业〔2011〕300号 (how the size class is determined)", False),
        ("GB/T 4754-2017 (divisions)", False),
        ("沪科〔2025〕212号 (按实际支付保费的50%予以补贴)", True),
        (
            "闵行区聚焦提升企业满意度持续打造一流营商环境行动方案（2025年2月5日印发） 二（三）2「小微企业首贷续贷」",
            True,
        ),
        # A document outside the registry, e.g. the centre's own rule an admin cites.
        ("闵行区融资服务中心 2026 年产品确认函", True),
    ],
)
def test_which_citations_can_confirm_a_value(citation: str, confirms: bool) -> None:
    assert citation_confirms(citation) is confirms


@pytest.mark.parametrize(("file", "path", "source", "demo"), every_source())
def test_a_confirmed_value_cites_more_than_finportal(
    file: str, path: str, source: str, demo: bool | None
) -> None:
    """Every condition and value marked demo: false cites a policy or an outside rule."""
    if demo is not False:
        return
    citations = split_citations(source)
    assert any(citation_confirms(c) for c in citations), (
        f"{file} {path}: demo: false, but its source cites only FinPortal's own documents "
        f"or reference standards: {source}"
    )


def test_every_condition_of_every_file_is_read() -> None:
    read = {(f, p) for f, p, _s, _d in every_source()}
    for path in FILES:
        for index, _condition in enumerate(raw(path)["conditions"]):
            assert (path.name, f"conditions[{index}]") in read


def test_check_refuses_a_confirmed_value_with_a_finportal_source(tmp_path: Path) -> None:
    data = raw(CATALOG_DIR / "ip_pledge.yaml")
    data["conditions"][0]["demo"] = False
    data["conditions"][0]["source"] = "FinPortal DESIGN.md, table 'The products' (ip_pledge)"
    (tmp_path / "ip_pledge.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    park = raw(CATALOG_DIR / "park_batch.yaml")
    park["guarantee"]["fee_rate"]["demo"] = False
    (tmp_path / "park_batch.yaml").write_text(yaml.safe_dump(park, allow_unicode=True), "utf-8")
    problems = check_catalog(tmp_path)
    assert len(problems) == 2
    assert (
        "ip_pledge.yaml: product ip_pledge: field conditions[0].demo: demo: false needs a source other than FinPortal"
        in problems[0]
    )
    assert "park_batch.yaml: product park_batch: field guarantee.fee_rate.demo" in problems[1]
    out = subprocess.run(
        [sys.executable, "-m", "products", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert "field guarantee.fee_rate.demo" in out.stderr


def test_a_version_stored_before_the_rule_still_loads() -> None:
    """The portal re-reads every published version; one marked so before the rule must load."""
    data = raw(CATALOG_DIR / "park_batch.yaml")
    data["guarantee"]["fee_rate"]["demo"] = False  # as the catalogue had it before issue 18
    product = Product.from_dict(data, "stored v1")
    assert product.guarantee_fee_rate is not None
    assert not product.guarantee_fee_rate.demo
    assert unconfirmed(product.to_dict()) == ["guarantee.fee_rate"]


@pytest.mark.parametrize(("file", "path", "source", "demo"), every_source())
def test_every_citation_names_a_registered_document(
    file: str, path: str, source: str, demo: bool | None
) -> None:
    for citation in split_citations(source):
        assert document_of(citation) is not None, (
            f"{file} {path}: {citation!r} names no document of products/data/sources.yaml"
        )


def test_check_reports_an_unregistered_citation(tmp_path: Path) -> None:
    data = raw(CATALOG_DIR / "renewal.yaml")
    data["conditions"][0]["source"] = "Some blog (renewal)"
    (tmp_path / "renewal.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    problems = check_catalog(tmp_path)
    assert len(problems) == 1
    assert "field conditions[0].source: cites no document" in problems[0]
    assert "'Some blog (renewal)'" in problems[0]


def _plan_words() -> str:
    if not PLAN_TEXT.exists():
        # CI always has shared/ beside the clone: there a missing file is a failure.
        if os.environ.get("CI"):
            pytest.fail(f"the plan's text is not at {PLAN_TEXT}")
        pytest.skip(f"the plan's text is not at {PLAN_TEXT}")
    import opencc

    text = opencc.OpenCC("t2s").convert(PLAN_TEXT.read_text("utf-8"))
    return _words(re.sub(r"\([a-zü\u00e0-\u01dc]+\)", "", text))


def _words(text: str) -> str:
    """Keep letters and digits only: the seed's punctuation and spacing differ from ours."""
    return "".join(ch for ch in text if ch.isalnum())


def test_every_citation_of_the_plan_quotes_words_the_plan_has() -> None:
    """The catalogue cites the plan only with its own words, so a rule it does not state cannot hide behind it."""
    plan = _plan_words()
    policy = {d.cite for d in documents() if d.kind == "policy"}
    seen = 0
    for file, path, source, _demo in every_source():
        for citation in split_citations(source):
            doc = document_of(citation)
            if doc is None or doc.cite not in policy:
                continue
            seen += 1
            quoted = quotes(citation)
            assert quoted, f"{file} {path}: cites the plan without quoting it: {citation}"
            for words in quoted:
                assert _words(words) in plan, f"{file} {path}: the plan does not say 「{words}」"
    assert seen > 0


def test_the_plan_check_catches_words_the_plan_lacks() -> None:
    plan = _plan_words()
    assert _words("小微企业首贷续贷") in plan
    assert _words("建立信用修复主动告知机制") in plan
    # What the catalogue used to read into 三（一）2: the plan never says it.
    assert _words("已完成信用修复的视同无严重失信") not in plan
    assert _words("专精特新") not in plan


def test_the_catalogue_documents_its_sources_table(catalog: Catalog) -> None:
    doc = (ROOT / "docs" / "CATALOGUE.md").read_text("utf-8")
    table = sources_table(p.to_dict() for p in catalog)
    assert table in doc, "docs/CATALOGUE.md: paste the output of `python -m products sources`"
    for product in catalog:
        assert f"| `{product.code}` " in table


def test_sources_command_prints_the_table(catalog: Catalog) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "products", "sources"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == sources_table(p.to_dict() for p in catalog)
    row = next(line for line in out.stdout.splitlines() if "`tech_performance`" in line)
    assert "沪科〔2025〕212号" in row
    assert FINPORTAL_PREFIX not in row.split("|")[5]  # the FinPortal column drops the prefix
