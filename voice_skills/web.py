"""The desk for the current Flask request, from the app's extensions.

A voice turn reads a lot (matching, the caller's bookings) and writes a
little (the match record, a booking, the answer). On SQLite every transaction
of the app's engine begins ``IMMEDIATE`` (the write lock, so a booking's
check-then-insert is safe), so reads made there would hold the lock while
matching runs and every other request waits. The desk reads through a
session of its own whose transactions begin ``DEFERRED`` (WAL: a reader
never waits for the writer, nor the writer for it) and writes through the
request's session; PostgreSQL has no such lock, and reads and writes share
the request's session there.
"""

from __future__ import annotations

import weakref

from flask import current_app, g
from sqlalchemy.orm import Session

from backend.db import make_engine, make_session_factory
from backend.extensions import db
from backend.models import Channel
from voice_skills.desk import VoiceDesk


def desk_for(channel: Channel) -> VoiceDesk:
    """A :class:`VoiceDesk` on this request's database sessions."""
    extensions = current_app.extensions
    return VoiceDesk(
        db.session,
        reader=reader_session(),
        channel=channel,
        index=extensions["beckon.matching"],
        rules=extensions["beckon.rules"],
        follow_ups=extensions["beckon.follow_up_rules"],
        notifiers=extensions["beckon.notifiers"],
        region=current_app.config["BECKON"].DEFAULT_REGION,
        texts=extensions["beckon.text_rules"],
    )


def reader_session() -> Session:
    """This request's session for reads that must not take SQLite's write
    lock (closed when the request ends: :func:`close_reader`)."""
    if "voice_reader" not in g:
        extensions = current_app.extensions
        if "beckon.voice_reader" not in extensions:
            config = current_app.config["BECKON"]
            factory = None
            if config.is_sqlite:
                engine = make_engine(config.DATABASE_URL, sqlite_begin="DEFERRED")
                # its connections go with the app (the app's own engine is
                # disposed by its owner; this one is the voice skills')
                weakref.finalize(current_app._get_current_object(), engine.dispose)
                factory = make_session_factory(engine)
            extensions["beckon.voice_reader"] = factory
        factory = extensions["beckon.voice_reader"]
        g.voice_reader = factory() if factory is not None else db.session
    return g.voice_reader


def close_reader(exc: BaseException | None = None) -> None:
    """End this request's read session (registered on the voice blueprints)."""
    reader = g.pop("voice_reader", None)
    if reader is not None and reader is not g.get("db_session"):
        reader.close()
