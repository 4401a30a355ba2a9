"""The command line: JSON keys are fixed so other tools can read them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from products import load_catalog

Profile = Callable[..., dict[str, Any]]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "products", *args], capture_output=True, text=True, check=False
    )


def test_match_json(tmp_path: Path, make_profile: Profile) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(make_profile(), ensure_ascii=False), "utf-8")
    request = tmp_path / "r.json"
    request.write_text(json.dumps({"amount": "800000", "term_months": 12}), "utf-8")
    out = run(
        "match",
        "--profile",
        str(profile),
        "--request",
        str(request),
        "--json",
        "--today",
        "2026-11-27",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [row["code"] for row in data] != []
    assert {row["code"] for row in data} == set(load_catalog().codes)
    assert data[0]["eligible"] is True
    assert set(data[0]) == {"code", "eligible", "conditions", "quote"}
    assert set(data[0]["conditions"][0]) == {
        "id",
        "field",
        "result",
        "message_zh",
        "message_en",
        "demo",
    }
    # Whether a condition is a demo value travels with it (packets show the mark).
    startup = next(row for row in data if row["code"] == "startup_guarantee")
    marks = {c["id"]: c["demo"] for c in startup["conditions"]}
    assert marks["new_hires"] is False
    assert marks["in_district"] is True
    assert isinstance(data[0]["quote"]["total_interest"], str)


def test_quote_json() -> None:
    out = run(
        "quote",
        "--product",
        "park_batch",
        "--amount",
        "1000000",
        "--term",
        "6",
        "--lpr",
        "0.03",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {
        "nominal_rate",
        "guarantee_fee_rate",
        "interest_subsidy_rate",
        "fee_subsidy_rate",
        "net_annual_cost_rate",
        "total_interest",
        "total_fee",
        "total_subsidy",
        "subsidy_paid_later",
        "subsidy_note_zh",
        "subsidy_note_en",
        "effective_annual_cost_rate",
        "repayment",
        "amount",
        "term_months",
        "net_cost",
        "demo",
        "schedule",
    }
    assert data["nominal_rate"] == "0.0335"
    assert sum(Decimal(r["principal"]) for r in data["schedule"]) == Decimal("1000000")
    assert set(data["schedule"][0]) == {
        "period",
        "principal",
        "interest",
        "fee",
        "subsidy",
        "payment",
    }


def test_quote_out_of_range_says_why_in_both_languages() -> None:
    out = run("quote", "--product", "park_batch", "--amount", "9000000", "--term", "6", "--json")
    assert out.returncode == 2
    assert "amount must be between" in out.stderr
    assert "贷款金额须在" in out.stderr
    unknown = run("quote", "--product", "nope", "--amount", "1", "--term", "6")
    assert unknown.returncode == 2
    assert "no product 'nope'" in unknown.stderr


def test_bench_json_small() -> None:
    out = run("bench", "--json", "--enterprises", "3000")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {
        "enterprises",
        "products",
        "vectorised_pairs_per_s",
        "loop_pairs_per_s",
        "one_enterprise_ms",
        "coach_ms",
        "coach_near_misses",
    }
    assert data["coach_near_misses"] > 0 and data["coach_ms"] > 0
    assert data["enterprises"] == 3000
    assert data["products"] == len(load_catalog())
    assert data["vectorised_pairs_per_s"] > data["loop_pairs_per_s"] > 0


def test_coach_json(tmp_path: Path, make_profile: Profile) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(
        json.dumps(make_profile(park_codes=[], serious_bad_credit_24m=True), ensure_ascii=False),
        "utf-8",
    )
    out = run("coach", "--profile", str(profile), "--today", "2026-11-27", "--json")
    assert out.returncode == 0, out.stderr
    found = {s["code"]: s for s in json.loads(out.stdout)}
    (step,) = found["policy_guarantee"]["steps"]
    assert step["action_zh"] == "完成信用修复" and step["repair"] == "credit_repair"
    assert step["changes"] == {"credit_repair_completed": True}
    assert found["policy_guarantee"]["net_cost"] is not None
    text = run(
        "coach", "--profile", str(profile), "--today", "2026-11-27", "--park", "xz=莘庄工业区"
    )
    assert "完成信用修复" in text.stdout
