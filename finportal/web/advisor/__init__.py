"""Pages of the advisor user (普惠金融顾问工作台)."""

from finportal.web.advisor.views import bp

__all__ = ["bp"]
