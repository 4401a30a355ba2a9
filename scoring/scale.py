"""Score scaling (points to double the odds) and grades A-E."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class ScoreScale:
    """A points-to-double-odds scale.

    ``base_score`` points at ``base_odds`` good:bad odds, and every
    ``pdo`` points double the odds. Higher scores mean lower risk.
    """

    base_score: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        if self.base_odds <= 0 or self.pdo <= 0:
            raise ValueError("base_odds and pdo must be positive")

    @property
    def factor(self) -> float:
        """Return the points per unit of log-odds."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Return the score at even odds (1:1)."""
        return self.base_score - self.factor * math.log(self.base_odds)

    def score_one(self, pd: float) -> int:
        """Return the integer score of one PD."""
        return int(round(self.offset + self.factor * math.log((1.0 - pd) / pd)))

    def scores(self, pd: Array) -> Array:
        """Return integer scores for an array of PDs."""
        p = np.asarray(pd, dtype=float)
        points = np.rint(self.offset + self.factor * np.log((1.0 - p) / p))
        return np.asarray(points, dtype=np.int32)

    def pd_at(self, score: float) -> float:
        """Return the PD a score stands for."""
        odds = math.exp((score - self.offset) / self.factor)
        return 1.0 / (1.0 + odds)

    def to_dict(self) -> dict[str, float]:
        """Return the parameters as plain data."""
        return {"base_score": self.base_score, "base_odds": self.base_odds, "pdo": self.pdo}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ScoreScale:
        """Build a scale from plain data (defaults for missing keys)."""
        d = dict(data or {})
        return cls(
            base_score=float(d.get("base_score", 600.0)),
            base_odds=float(d.get("base_odds", 50.0)),
            pdo=float(d.get("pdo", 20.0)),
        )


# Grade cut-offs, set as PDs (upper bound of each grade) so a grade means the
# same risk whatever the score scaling, and applied to the integer score: the
# PD bound becomes the lowest score of the grade (rounded up), so one score never
# falls in two grades. With the default scale: A >= 600, B 573-599, C 551-572,
# D 528-550, E <= 527. They are the centre's working choice, see docs/SCORING.md.
DEFAULT_GRADES: tuple[tuple[str, float], ...] = (
    ("A", 0.02),
    ("B", 0.05),
    ("C", 0.10),
    ("D", 0.20),
    ("E", 1.0),
)


@dataclass(frozen=True)
class Grades:
    """Grades A-E: each grade's PD upper bound, turned into a lowest score on a scale."""

    bands: tuple[tuple[str, float], ...] = DEFAULT_GRADES

    def __post_init__(self) -> None:
        bounds = [b for _, b in self.bands]
        if not bounds or bounds != sorted(bounds) or bounds[-1] < 1.0 or bounds[0] <= 0:
            raise ValueError("grade bounds must be positive, increase, and end at 1.0")

    @property
    def names(self) -> list[str]:
        """Return the grade names, best first."""
        return [g for g, _ in self.bands]

    def min_scores(self, scale: ScoreScale) -> list[int]:
        """Return the lowest score of each grade but the last, best grade first."""
        out = []
        for _, bound in self.bands[:-1]:
            points = scale.offset + scale.factor * math.log((1.0 - bound) / bound)
            out.append(math.ceil(points - 1e-9))
        return out

    def grade(self, score: int, scale: ScoreScale) -> str:
        """Return the grade of one score."""
        for name, lowest in zip(self.names, self.min_scores(scale), strict=False):
            if score >= lowest:
                return name
        return self.names[-1]

    def codes(self, scores: Array, scale: ScoreScale) -> Array:
        """Return grade indices (0 = best) for an array of scores."""
        lowest = -np.asarray(self.min_scores(scale), dtype=float)
        return np.searchsorted(lowest, -np.asarray(scores, dtype=float), side="left")

    def to_list(self) -> list[list[Any]]:
        """Return the bands as plain data."""
        return [[g, b] for g, b in self.bands]

    @classmethod
    def from_list(cls, data: Sequence[Sequence[Any]] | None) -> Grades:
        """Build grades from plain data (the default bands when empty)."""
        if not data:
            return cls()
        return cls(tuple((str(g), float(b)) for g, b in data))
