"""Pages of the partner bank user (合作银行): referrals and batches."""

from finportal.web.bank import batches, documents, needs  # noqa: E402,F401,I001 - add their routes to bp
from finportal.web.bank.views import bp

__all__ = ["bp"]
