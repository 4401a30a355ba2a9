"""Pages of the SME user (企业用户)."""

from finportal.web.sme.views import bp

__all__ = ["bp"]
