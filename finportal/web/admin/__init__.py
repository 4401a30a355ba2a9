"""Pages of the admin user (系统管理)."""

from finportal.web.admin.views import bp

__all__ = ["bp"]
