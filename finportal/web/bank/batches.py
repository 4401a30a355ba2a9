"""Bank pages: batches (routes are added to the bank blueprint)."""

from finportal.web.bank.views import bp  # noqa: F401
