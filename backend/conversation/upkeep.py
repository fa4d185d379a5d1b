"""What beat does for the conversations: take back the work a dead process
left undone, and note what the assistant understood. Each function commits."""

from __future__ import annotations

from backend.conversation.context import assistant, lease_seconds
from backend.db import unit_of_work
from backend.extensions import db
from backend.services import inbound
from backend.services.inbound import Stale


def sweep_stale() -> list[Stale]:
    """Inbound messages not answered and replies not sent past the lease,
    put back to be taken at once (committed; ``inbound.take_stale``): the
    caller queues them."""
    with unit_of_work(db.session_factory) as session:
        return inbound.take_stale(session, lease_seconds=lease_seconds())


def note_intents() -> int:
    """Note what the assistant understood in the messages it answered lately,
    one tracker read per sender for all of theirs; returns how many were
    noted. No transaction stays open while the assistant is asked."""
    with unit_of_work(db.session_factory) as session:
        waiting = inbound.awaiting_intent(session)
    intents: dict[int, str] = {}
    for sender, ids in waiting.items():
        intents |= assistant().intents_of(sender, set(ids))
    with unit_of_work(db.session_factory) as session:
        return inbound.set_intents(session, intents)
