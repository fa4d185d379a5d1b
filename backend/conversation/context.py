"""What the conversation layer takes from the running app: its settings,
its notifiers and its assistant (``app.extensions``), so a test or a second
engine can stand in by setting them there."""

from __future__ import annotations

from flask import current_app

from backend.config import Config
from backend.conversation.assistant import Assistant
from backend.models import Channel
from backend.notifiers import Notifier, Notifiers

ASSISTANT = "beckon.assistant"


def config() -> Config:
    """The app's configuration."""
    return current_app.config["BECKON"]


def lease_seconds() -> float:
    """How long a claim on a message holds (the follow-ups' lease)."""
    return config().FOLLOW_UPS.lease_seconds


def notifier_for(channel: Channel) -> Notifier:
    """The app's notifier for ``channel``."""
    notifiers: Notifiers = current_app.extensions["beckon.notifiers"]
    return notifiers.for_channel(channel)


def assistant() -> Assistant:
    """The app's assistant (``assistant.assistant_for`` made it)."""
    return current_app.extensions[ASSISTANT]
