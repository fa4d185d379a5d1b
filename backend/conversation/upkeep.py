"""What beat does for the conversations: take back the work a dead process
left undone, note what the assistant understood, and forget the keys its
actions' API calls were made once by. Each function commits."""

from __future__ import annotations

from datetime import timedelta

from backend.conversation.context import assistant, config, lease_seconds
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.services import idempotency, inbound
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


def forget_idempotency_keys() -> int:
    """Forget the API's Idempotency-Keys (and the responses kept with them)
    older than ``IDEMPOTENCY_KEY_HOURS``; returns how many (committed)."""
    older_than = utcnow() - timedelta(hours=config().IDEMPOTENCY_KEY_HOURS)
    with unit_of_work(db.session_factory) as session:
        return idempotency.forget_expired(session, older_than=older_than)
