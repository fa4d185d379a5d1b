"""Inbound channel webhooks: each verifies its request, parses it into one
``backend.conversation.Inbound`` and hands it to the conversation layer."""

from webhooks import (  # noqa: F401 - registers the routes
    messenger,
    telegram,
    twilio,
    voice,
    webchat,
)
from webhooks.blueprint import webhooks_bp

__all__ = ["webhooks_bp"]
