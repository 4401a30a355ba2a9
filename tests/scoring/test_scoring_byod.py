"""Bring your own data: file formats, missing markers, spec init on a 64-column ratio file."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring import DataError, load_spec, read_data, train
from scoring.cli import main
from scoring.ratios import generate_ratio_data, write_arff
from scoring.spec import GERMAN_CREDIT_SPEC_PATH, SBA_CASE_SPEC_PATH, spec_from_dict


@pytest.fixture(scope="module")
def ratio_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ratios") / "companies.arff"
    return write_arff(generate_ratio_data(3000, seed=3), out)


def test_spec_init_writes_a_spec_for_64_ratio_columns_that_trains_as_written(
    ratio_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = tmp_path / "companies.yaml"
    assert (
        main(
            [
                "spec",
                "init",
                "--data",
                str(ratio_file),
                "--target",
                "class",
                "--out",
                str(spec_path),
            ]
        )
        == 0
    )
    text = spec_path.read_text(encoding="utf-8")
    spec = load_spec(spec_path)
    assert len(spec.features) == 64  # every column, none typed by hand
    assert {f.kind for f in spec.features} == {"numeric"}
    assert all(f.monotone == 0 for f in spec.features)  # signs are suggested, never guessed
    assert "data suggests monotone" in text
    assert "% missing" in text
    assert spec.read.format == "arff" and "?" in spec.read.missing
    args = [
        "train",
        "--data",
        str(ratio_file),
        "--spec",
        str(spec_path),
        "--out",
        str(tmp_path / "m"),
    ]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 3000 and out["auc"] > 0.6
    assert set(out["baselines"]) == {"logistic", "xgboost"}
    # Reason texts came from the column names: a risky score gets context an advisor can read.
    from scoring import load_model

    model = load_model(tmp_path / "m")
    df = read_data(ratio_file, model.spec)
    scored = model.score_many(df.head(300), reasons=True)
    risky = scored[scored["grade"] != "A"]
    assert len(risky) > 0
    assert all(r or c for r, c in zip(risky["reasons"], risky["context"], strict=True))
    assert any("Attr" in c[0]["text_en"] and ": " in c[0]["text_en"] for c in risky["context"] if c)


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "xlsx", "parquet", "json.gz", "jsonl", "arff.gz"])
def test_every_format_reads_the_same_rows(fmt: str, tmp_path: Path, german_path: Path) -> None:
    spec = load_spec(GERMAN_CREDIT_SPEC_PATH)
    df = read_data(german_path, spec).head(120)
    path = tmp_path / f"german.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "csv.gz":
        df.to_csv(path, index=False, compression="gzip")
    elif fmt == "xlsx":
        df.to_excel(path, index=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    elif fmt == "json.gz":
        df.to_json(path, orient="records", compression="gzip")
    elif fmt == "jsonl":
        df.to_json(path, orient="records", lines=True)
    else:
        nominal = {c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c].dtype)}
        lines = ["@relation german"]
        for c in df.columns:
            kind = "{" + ",".join(sorted(df[c].unique())) + "}" if c in nominal else "numeric"
            lines.append(f"@attribute {c} {kind}")
        lines += ["@data"] + [",".join(map(str, r)) for r in df.itertuples(index=False)]
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    own = spec_from_dict({**spec.to_dict(), "read": {"header": True}}, "test")
    start = time.perf_counter()
    back = read_data(path, own)
    assert time.perf_counter() - start < 20  # a compressed JSON file never hangs as a "CSV"
    assert len(back) == 120
    assert list(back["checking_status"].astype(str)) == list(df["checking_status"])
    np.testing.assert_allclose(back["credit_amount"].astype(float), df["credit_amount"])


def test_missing_markers_from_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("a,b,bad\n1.5,x,0\n?,y,1\n-,x,0\n2.5,?,1\n", encoding="utf-8")
    spec = spec_from_dict(
        {
            "name": "t",
            "read": {"missing": ["?", "-"]},
            "target": {"column": "bad", "bad_values": [1]},
            "features": [{"name": "a", "kind": "numeric"}, {"name": "b", "kind": "categorical"}],
        }
    )
    df = read_data(path, spec)
    assert df["a"].isna().tolist() == [False, True, True, False]
    assert df["b"].isna().tolist() == [False, False, False, True]


def test_clear_errors_for_a_misspelt_column_a_one_class_target_and_odd_booleans(
    sba_path: Path, tmp_path: Path
) -> None:
    spec = load_spec(SBA_CASE_SPEC_PATH)
    df = read_data(sba_path, spec)
    with pytest.raises(
        DataError, match="target column 'Default' not in the data; did you mean 'Defualt'"
    ):
        train(df.rename(columns={"Default": "Defualt"}), spec)
    with pytest.raises(
        DataError, match="feature employees: 'NoEmp' not in the data; did you mean 'NoEmps'"
    ):
        train(df.rename(columns={"NoEmp": "NoEmps"}), spec)
    with pytest.raises(DataError, match="one class only"):
        train(df.assign(Default=0), spec)
    bad_bool: dict[str, Any] = spec.to_dict()
    for f in bad_bool["features"]:
        if f["name"] == "new_business":
            f["column"] = "NewExist"  # coded 1 / 2 in the SBA file
    from scoring.frame import Encoder

    # Coded 1 / 2 without declared values: every value is reported, none read as "no".
    problems = Encoder(spec_from_dict(bad_bool).model_features).fit(df).column_problems(df)
    assert len(problems) == 1 and "NewExist" in problems[0] and "could not be read" in problems[0]
    declared = spec_from_dict(
        {
            **bad_bool,
            "features": [
                {**f, "true_values": [2], "false_values": [1]} if f["name"] == "new_business" else f
                for f in bad_bool["features"]
            ],
        }
    )
    enc = Encoder(declared.model_features).fit(df)
    # With 1/2 declared, only the file's one invalid code (0) is left out, and said so.
    assert enc.column_problems(df) == [
        "NewExist (feature new_business, boolean): 1 value(s) could not be read and count "
        "as missing, e.g. 0.0"
    ]
    col = enc.transform(df)[:, enc.names.index("new_business")]
    assert set(np.unique(col[~np.isnan(col)])) == {0.0, 1.0}
