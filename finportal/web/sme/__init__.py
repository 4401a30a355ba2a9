"""Pages of the SME user (企业用户): profile, matches, applications, notifications."""

from finportal.web.sme import account, applications, loans, needs, profile, subsidies  # noqa: F401 - register routes
from finportal.web.sme.views import bp

__all__ = ["bp"]
