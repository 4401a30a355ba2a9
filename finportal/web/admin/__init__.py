"""Pages of the admin user (系统管理)."""

from finportal.web.admin import (  # noqa: F401 - each module adds its routes to bp
    audit,
    bank_products,
    jobs,
    models,
    organisations,
    outbox,  # issue 15
    products,
    public_data,  # issue 14
    reference,
    tokens,
    users,
)
from finportal.web.admin.views import bp

__all__ = ["bp"]
