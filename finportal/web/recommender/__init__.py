"""Pages of the recommender user (园区/商会推荐工作台)."""

from finportal.web.recommender.views import bp

__all__ = ["bp"]
