"""``flask public-data import`` and ``bench``."""

from __future__ import annotations

import json

import pytest

from finportal.models import DataAuthorisation, VerifiedFact
from finportal.services import profiles
from tests.finportal.public_data.conftest import csv_bytes

pytestmark = pytest.mark.db


def test_the_import_command_stores_an_exchange_file_and_reports_bad_rows(
    app, db_session, tmp_path, create_enterprise, authorise
):
    firm = create_enterprise(enforcement_records=0)
    authorise(firm, "court")
    good = tmp_path / "court.csv"
    good.write_bytes(csv_bytes([["uscc", "as_of", "被执行记录数"], [firm.uscc, "2026-10-31", 2]]))
    result = app.test_cli_runner().invoke(
        args=["public-data", "import", str(good), "--source", "court"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[0])["stored"] == 1
    assert profiles.enterprise_profile(firm)["enforcement_records"] == 2

    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        csv_bytes([["uscc", "as_of", "被执行记录数"], [firm.uscc, "2026-10-31", "two"]])
    )
    result = app.test_cli_runner().invoke(
        args=["public-data", "import", str(bad), "--source", "court"]
    )
    assert json.loads(result.output.splitlines()[0])["state"] == "rejected"
    assert "第 2 行" in result.output and "Row 2" in result.output


def test_the_bench_times_an_extract_and_leaves_nothing(app, db_session, create_enterprise):
    for _ in range(3):
        create_enterprise()
    result = app.test_cli_runner().invoke(args=["public-data", "bench", "--rows", "3", "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output)
    assert numbers["firms"] == 3 and numbers["store_s"] >= 0 and numbers["check_xlsx_s"] >= 0
    assert db_session.query(DataAuthorisation).count() == 0
    assert db_session.query(VerifiedFact).count() == 0
