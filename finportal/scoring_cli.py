"""``flask scoring ...``: retrain a challenger from the platform's outcomes, list models."""

from __future__ import annotations

from flask.cli import AppGroup

scoring_cli = AppGroup("scoring", help="Credit models: retrain a challenger, list versions.")
