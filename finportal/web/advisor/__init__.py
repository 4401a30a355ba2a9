"""Pages of the advisor (普惠金融顾问): queue and review, batches, dashboard."""

from finportal.web.advisor import (
    batches,
    complaints,
    dashboard,
    maturities,
    needs,
    subsidies,
    verifications,
)  # noqa: E402,F401,I001 - add their routes to bp
from finportal.web.advisor.views import bp

__all__ = ["bp"]
