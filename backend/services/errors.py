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


class Forbidden(DomainError):
    """The caller is known but may not do this (an API key without the scope)."""

    code = "forbidden"
