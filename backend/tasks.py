"""Celery tasks. Each takes ids, calls one function of the application layer
(``backend.conversation``), which owns the transactions and the channel work,
and is safe to run twice.

``sweep_follow_ups`` (beat, every few seconds) claims due follow-ups and queues
them in batches to ``send_follow_ups``, which makes one attempt at each and
settles it (``backend.conversation.follow_ups``: a failed delivery is due again
after a backoff, not retried by a countdown). Celery's own retries
(``autoretry_for``) cover transient database and broker errors.
"""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app
from sqlalchemy.exc import DBAPIError, OperationalError

from backend.celery_app import RETRY_BACKOFF_MAX
from backend.conversation import follow_ups, outbox, turn, upkeep
from backend.services.inbound import Received

log = logging.getLogger("beckon.tasks")

#: Errors worth a Celery retry: the database or the network hiccupped.
TRANSIENT = (OperationalError, DBAPIError, ConnectionError, TimeoutError)
TASK_RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": 8,
}
#: Claimed follow-ups travel to the workers in tasks of this many.
SEND_BATCH = 20


@shared_task(name="beckon.sweep_follow_ups", **TASK_RETRY)
def sweep_follow_ups() -> int:
    """Claim every due follow-up and queue their sends; returns how many."""
    batch = current_app.config["BECKON"].FOLLOW_UPS.sweep_batch
    queued = 0
    while True:
        claimed = follow_ups.claim_due()
        # a crash from here on leaves rows claimed: the lease brings them back
        for start in range(0, len(claimed), SEND_BATCH):
            send_follow_ups.delay(claimed[start : start + SEND_BATCH])
        queued += len(claimed)
        if len(claimed) < batch:
            return queued


@shared_task(name="beckon.send_follow_ups", **TASK_RETRY)
def send_follow_ups(claims: list[tuple[int, str]]) -> dict[str, int]:
    """One attempt at each claimed follow-up, ``[(id, token), ...]``
    (``follow_ups.send``); how many ended in each state."""
    return follow_ups.send(claims)


@shared_task(name="beckon.plan_agendas", **TASK_RETRY)
def plan_agendas() -> int:
    """Plan the providers' daily agendas for the next mornings."""
    return follow_ups.plan_agendas()


def queue_answer(received: Received) -> None:
    """Have a worker answer a message taken now (Messenger, Telegram).
    Should the broker refuse it, the message waits, recorded: the sweep
    queues it after the lease, and a redelivery of it queues it again."""
    try:
        answer_message.delay(received.message.id, received.sender)
    except Exception:  # noqa: BLE001 - any failure to queue is the sweep's to mend
        log.exception("could not queue the answer to message %s", received.message.id)


@shared_task(name="beckon.answer_message", **TASK_RETRY)
def answer_message(message_id: int, sender: str = "") -> int:
    """Answer a message and send its replies (``turn.answer_later``); returns
    how many were sent now. A failure raises, so Celery retries."""
    return turn.answer_later(message_id, sender)


@shared_task(name="beckon.sweep_inbound", **TASK_RETRY)
def sweep_inbound() -> int:
    """Queue again what a dead process or a failed queueing left undone
    (``upkeep.sweep_stale``); returns how many were queued."""
    left = upkeep.sweep_stale()
    for item in left:
        if item.kind == "console_reply":
            send_console_reply.delay(item.message_id)
        else:
            answer_message.delay(item.message_id, item.sender)
    if left:
        log.warning("queued again %d messages left undone", len(left))
    return len(left)


@shared_task(name="beckon.note_intents", **TASK_RETRY)
def note_intents() -> int:
    """Note what the assistant understood lately (``upkeep.note_intents``;
    beat runs it, so the webhooks never wait for it)."""
    return upkeep.note_intents()


@shared_task(name="beckon.forget_idempotency_keys", **TASK_RETRY)
def forget_idempotency_keys() -> int:
    """Forget the API's Idempotency-Keys past their time
    (``upkeep.forget_idempotency_keys``); returns how many."""
    return upkeep.forget_idempotency_keys()


@shared_task(name="beckon.send_console_reply", **TASK_RETRY)
def send_console_reply(message_id: int) -> str:
    """Send a reply an admin wrote in the console (``outbox.send_console_reply``);
    returns the message's status."""
    return outbox.send_console_reply(message_id)
