"""Domain errors: each surface maps them to its own answer (HTTP, speech, SMS)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Invalid(DomainError):
    """Input that is well-formed but cannot be accepted; ``details`` names fields."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any):
        details = kwargs.pop("details", None)
        if details is None and field:
            details = [{"field": field, "message": message}]
        super().__init__(message, details=details, **kwargs)
        self.field = field


class Unauthorized(DomainError):
    code = "unauthorized"


class Unavailable(DomainError):
    """Something outside Beckon (the SMS provider) did not do its part, and
    nothing was kept that asking again would repeat. ``permanent``: it
    refused this request (asking again will not help); else try again later."""

    code = "unavailable"

    def __init__(self, message: str, *, permanent: bool = False, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.permanent = permanent


class Forbidden(DomainError):
    """The caller is known but may not do this (an API key without the scope)."""

    code = "forbidden"
