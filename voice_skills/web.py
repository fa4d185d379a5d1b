"""The desk for the current Flask request, from the app's extensions."""

from __future__ import annotations

from flask import current_app

from backend.extensions import db
from backend.models import Channel
from voice_skills.desk import VoiceDesk


def desk_for(channel: Channel) -> VoiceDesk:
    """A :class:`VoiceDesk` on this request's database session."""
    extensions = current_app.extensions
    return VoiceDesk(
        db.session,
        channel=channel,
        index=extensions["beckon.matching"],
        rules=extensions["beckon.rules"],
        follow_ups=extensions["beckon.follow_up_rules"],
        notifiers=extensions["beckon.notifiers"],
    )
