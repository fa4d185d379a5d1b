"""The REST API, ``/api/v1``: parse, call one service, commit, answer."""

from backend.api import views  # noqa: F401 - registers the routes
from backend.api.blueprint import PREFIX, api_bp

__all__ = ["PREFIX", "api_bp"]
