"""Advisor pages: dashboard (routes are added to the advisor blueprint)."""

from finportal.web.advisor.views import bp  # noqa: F401
