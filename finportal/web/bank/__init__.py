"""Pages of the bank user (合作银行工作台)."""

from finportal.web.bank.views import bp

__all__ = ["bp"]
