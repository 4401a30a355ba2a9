"""Pages of the advisor (普惠金融顾问): queue and review, batches, dashboard."""

# Imported for their routes: each module adds its views to bp.
from finportal.web.advisor import (  # noqa: F401
    batches,
    complaints,
    dashboard,
    documents,
    maturities,
    needs,
    subsidies,
    verifications,
)
from finportal.web.advisor.views import bp

__all__ = ["bp"]
