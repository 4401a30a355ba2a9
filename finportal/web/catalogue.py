"""Public catalogue pages: /products/ and /products/<code>."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalogue", __name__, url_prefix="/products")
