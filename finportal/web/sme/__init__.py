"""Pages of the SME user (企业用户): profile, matches, applications, notifications."""

from finportal.web.sme import (  # noqa: F401 - register routes
    account,
    applications,
    documents,
    loans,
    needs,
    profile,
    public_data,
    subsidies,
)
from finportal.web.sme.views import bp

__all__ = ["bp"]
