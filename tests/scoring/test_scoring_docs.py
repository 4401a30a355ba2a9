"""docs/SCORING.md describes the generator and the features the code actually has."""

from __future__ import annotations

from pathlib import Path

from scoring import PLATFORM_SPEC_PATH, load_spec
from scoring.reference import INTERCEPT, RISK_EFFECTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "SCORING.md"


def test_every_risk_effect_of_the_generator_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, (formula, _) in RISK_EFFECTS.items():
        rows = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
        assert any(f"| {formula} |" in row for row in rows), f"{name}: the doc lacks {formula!r}"
    # The doc writes minus signs as U+2212 in prose.
    assert f"intercept of {INTERCEPT:.2f}".replace("-", "−") in " ".join(text.split())


def test_every_platform_feature_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for f in load_spec(PLATFORM_SPEC_PATH).features:
        assert f"| `{f.name}` |" in text
