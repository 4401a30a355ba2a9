"""YAML read with libyaml's C parser: the same data as ``yaml.safe_load``, the same errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from products import catalog, yaml_text

ROOT = Path(__file__).resolve().parents[2]
DATA_FILES = sorted(
    [
        *(ROOT / "products" / "catalog").glob("*.yaml"),
        *(ROOT / "products" / "data").glob("*.yaml"),
        *(ROOT / "finportal" / "data").glob("*.yaml"),
    ]
)


def test_the_c_parser_is_there():
    # PyYAML's wheels bundle libyaml; without it parse falls back to the slow parser.
    assert yaml.__with_libyaml__


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_data_file_reads_as_safe_load_reads_it(path):
    text = path.read_text("utf-8")
    assert yaml_text.parse(text) == yaml.safe_load(text)


def test_a_broken_document_names_the_same_line_and_column():
    # The admin's product form says where its YAML is broken (services/admin_products.py).
    broken = "code: a\nname_zh: [unclosed\nname_en: b\n"
    with pytest.raises(yaml.YAMLError) as caught:
        yaml_text.parse(broken)
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(broken)
    mark, same = caught.value.problem_mark, expected.value.problem_mark
    assert (mark.line, mark.column) == (same.line, same.column) == (2, 7)


def test_an_unsafe_tag_is_refused():
    with pytest.raises(yaml.YAMLError):
        yaml_text.parse("!!python/object/apply:os.system ['true']")


def test_a_changed_catalogue_file_is_read_again(tmp_path):
    folder = tmp_path / "catalog"
    shutil.copytree(catalog.CATALOG_DIR, folder)
    before = catalog.load_catalog(folder).get("ip_pledge")
    assert catalog.load_catalog(folder).get("ip_pledge") == before
    path = folder / "ip_pledge.yaml"
    path.write_text(
        path.read_text("utf-8").replace(
            f"name_zh: {before.name_zh}", "name_zh: 知识产权质押贷（改）"
        ),
        "utf-8",
    )
    assert catalog.load_catalog(folder).get("ip_pledge").name_zh == "知识产权质押贷（改）"


def test_a_date_that_does_not_exist_is_a_yaml_error_with_its_line():
    # PyYAML raised a bare ValueError for 2024-02-30, which the admin's form answered with a
    # server error (found by tests/finportal/test_fuzz_inputs.py).
    with pytest.raises(yaml.YAMLError) as caught:
        yaml_text.parse("code: a\nvalid_from: 2024-02-30\n")
    assert caught.value.problem_mark.line == 1
    assert "2024-02-30" in str(caught.value.problem)
    assert yaml_text.parse("valid_from: 2024-02-29\n")["valid_from"].day == 29
