"""The catalogue validator reports each finding by path, in words a form can show in Chinese,
and refuses numbers no product can hold instead of failing on them."""

from __future__ import annotations

import copy

import pytest
import yaml

import products
from products.catalog import CATALOG_DIR
from products.messages import zh


def _ip_pledge() -> dict:
    return yaml.safe_load((CATALOG_DIR / "ip_pledge.yaml").read_text("utf-8"))


@pytest.mark.parametrize("value", ["1e30", "1E+1000003", "-1E+1000003"])
@pytest.mark.parametrize(
    ("group", "name"),
    [
        ("terms", "amount_max"),
        ("terms", "term_max"),
        ("rate", "spread_bp"),
        ("interest_subsidy", "cap_per_year"),
    ],
)
def test_numbers_beyond_any_product_are_refused_by_place(group, name, value):
    data = _ip_pledge()
    data[group][name]["value"] = value
    with pytest.raises(products.CatalogError) as caught:
        products.Product.from_dict(data)
    paths = [path for path, _message in caught.value.problems]
    assert f"{group}.{name}.value" in paths


def test_problems_name_their_place_and_read_in_chinese():
    data = copy.deepcopy(_ip_pledge())
    data["terms"]["amount_min"]["value"] = 20000000  # above amount_max
    data["conditions"][1]["op"] = "gte"  # in_district is a yes/no field
    data["conditions"][1]["value"] = 1
    del data["name_en"]
    with pytest.raises(products.CatalogError) as caught:
        products.Product.from_dict(data)
    problems = dict(caught.value.problems)
    assert zh(problems["name_en"]) == "必填"
    assert zh(problems["terms.amount_min"]) == "不能高于最高金额"
    assert zh(problems["conditions[1].op"]).startswith("比较方式 gte 不适用于字段 in_district")
    # the one-line message the CLI prints is unchanged in form
    assert "field terms.amount_min: must not exceed amount_max" in str(caught.value)


def test_every_message_the_schema_raises_has_chinese_words():
    """A validator message without Chinese words would reach a form in English."""
    import re
    from pathlib import Path

    source = (Path(products.__file__).parent / "schema.py").read_text("utf-8")
    messages = re.findall(r'ValidationError\(\s*f?"([^"]+)"', source)
    assert len(messages) > 20
    untranslated = []
    for message in messages:
        # each placeholder as the validator fills it: a repr, a list, or a word
        sample = message.replace("{name!r}", "'abc'").replace("{value!r}", "'abc'")
        sample = re.sub(r"\{bad\}|\{list\([^}]*\)\}", "['a']", sample)
        sample = re.sub(r"\{[^}]*\}", "x", sample)
        if zh(sample) == sample:
            untranslated.append(message)
    assert not untranslated, untranslated


def test_a_condition_threshold_beyond_any_number_is_refused_by_place():
    data = _ip_pledge()
    data["conditions"][3]["value"] = "1e999999999"  # no_enforcement: records <= value
    with pytest.raises(products.CatalogError) as caught:
        products.Product.from_dict(data)
    problems = dict(caught.value.problems)
    assert zh(problems["conditions[3].value"]).startswith("应在 ")
