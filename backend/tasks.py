"""Celery tasks. Each takes ids, calls services, and is safe to run twice.

The conversation tasks (``answer_message``, ``send_console_reply``,
``sweep_inbound``, ``note_intents``) only call ``backend.conversation``, which
owns their transactions and channel work.

``sweep_follow_ups`` (beat, every few seconds) claims due follow-ups and queues
them in batches to ``send_follow_ups``, which makes one attempt at each and
settles it.
A failed delivery is not retried by a Celery countdown: the row becomes due
again after an exponential backoff with jitter, and the sweep takes it then,
so a retry survives a worker's death like everything else. Celery's own
retries (``autoretry_for``) cover transient database and broker errors.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from flask import current_app
from sqlalchemy.exc import DBAPIError, OperationalError

from backend.celery_app import RETRY_BACKOFF_MAX
from backend.config import Config
from backend.conversation import outbox, turn, upkeep
from backend.db import unit_of_work
from backend.extensions import db
from backend.notifiers import DeliveryError, Notifiers, Outgoing, Receipt
from backend.services import followups
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
#: A failed delivery is due again after 30 s, 60 s, 120 s ... (with jitter).
DELIVERY_BACKOFF_FACTOR = 30
DELIVERY_BACKOFF_MAX = 3600


def _config() -> Config:
    return current_app.config["BECKON"]


def _notifiers() -> Notifiers:
    return current_app.extensions["beckon.notifiers"]


#: Claimed follow-ups travel to the workers in tasks of this many.
SEND_BATCH = 20


@shared_task(name="beckon.sweep_follow_ups", **TASK_RETRY)
def sweep_follow_ups() -> int:
    """Claim every due follow-up and queue their sends; returns how many."""
    rules = _config().FOLLOW_UPS
    queued = 0
    while True:
        with unit_of_work(db.session_factory) as session:
            claimed = followups.claim_due(session, rules)
        # a crash from here on leaves rows claimed: the lease brings them back
        for start in range(0, len(claimed), SEND_BATCH):
            send_follow_ups.delay(claimed[start : start + SEND_BATCH])
        queued += len(claimed)
        if len(claimed) < rules.sweep_batch:
            return queued


@shared_task(name="beckon.send_follow_ups", **TASK_RETRY)
def send_follow_ups(claims: list[tuple[int, str]]) -> dict[str, int]:
    """One attempt at each claimed follow-up: ``[(id, token), ...]``.

    Attempts begin in one transaction and end in another, around the sends;
    what was sent is recorded even if a later send in the batch blows up.
    Returns how many ended in each state.
    """
    config = _config()
    attempts = _begin_attempts(claims, config)
    outcomes: list[tuple[followups.Attempt, Receipt | None, DeliveryError | None]] = []
    try:
        for attempt in attempts:
            try:
                outcomes.append((attempt, _deliver(attempt), None))
            except DeliveryError as exc:
                outcomes.append((attempt, None, exc))
    finally:
        counts = _settle(outcomes, config)
    counts["settled_without_sending"] = len(claims) - len(attempts)
    return counts


def send_follow_up(follow_up_id: int, token: str) -> str:
    """One claimed follow-up, now: what became of it (for tests and tools)."""
    counts = send_follow_ups([(follow_up_id, token)])
    return next((state for state, n in counts.items() if n), "settled")


def _begin_attempts(
    claims: list[tuple[int, str]], config: Config
) -> list[followups.Attempt]:
    attempts = []
    with unit_of_work(db.session_factory) as session:
        for follow_up_id, token in claims:
            try:
                with session.begin_nested():
                    attempt = followups.begin_attempt(
                        session, follow_up_id, token, config.FOLLOW_UPS, config.RULES
                    )
            except Exception as exc:  # noqa: BLE001 - one bad row must not block the rest
                log.exception("follow-up %s cannot be prepared", follow_up_id)
                followups.fail(session, follow_up_id, f"cannot be prepared: {exc!r}")
                continue
            if attempt is not None:
                attempts.append(attempt)
    return attempts


def _deliver(attempt: followups.Attempt) -> Receipt:
    notifier = _notifiers().for_channel(attempt.channel)
    outgoing = Outgoing(
        channel=attempt.channel,
        to=attempt.to,
        body=attempt.body,
        key=attempt.key,
        since=attempt.since,
        tag=attempt.tag,
    )
    if attempt.retried:  # an earlier attempt may have got through
        receipt = notifier.find_sent(outgoing)
        if receipt is not None:
            log.info("follow-up %s had got through already", attempt.follow_up_id)
            return receipt
    return notifier.send(outgoing)


def _settle(
    outcomes: list[tuple[followups.Attempt, Receipt | None, DeliveryError | None]],
    config: Config,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    with unit_of_work(db.session_factory) as session:
        for attempt, receipt, error in outcomes:
            if receipt is not None:
                recorded = followups.record_sent(
                    session, attempt, receipt.external_id, receipt.status
                )
                state = "sent" if recorded else "lost claim"
                if not recorded:
                    log.error(
                        "follow-up %s sent after its claim moved on",
                        attempt.follow_up_id,
                    )
            else:
                assert error is not None
                backoff = get_exponential_backoff_interval(
                    factor=DELIVERY_BACKOFF_FACTOR,
                    retries=attempt.attempts - 1,
                    maximum=DELIVERY_BACKOFF_MAX,
                    full_jitter=True,
                )
                settled = followups.record_failure(
                    session,
                    attempt,
                    str(error),
                    permanent=error.permanent,
                    opted_out=error.opted_out,
                    rules=config.FOLLOW_UPS,
                    backoff_seconds=max(backoff, 1),
                )
                state = settled.value if settled else "lost claim"
                log.warning("follow-up %s: %s (%s)", attempt.follow_up_id, error, state)
            counts[state] = counts.get(state, 0) + 1
    return counts


@shared_task(name="beckon.plan_agendas", **TASK_RETRY)
def plan_agendas() -> int:
    """Plan the providers' daily agendas for the next mornings."""
    with unit_of_work(db.session_factory) as session:
        return followups.plan_agendas(session, _config().FOLLOW_UPS)


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


@shared_task(name="beckon.send_console_reply", **TASK_RETRY)
def send_console_reply(message_id: int) -> str:
    """Send a reply an admin wrote in the console (``outbox.send_console_reply``);
    returns the message's status."""
    return outbox.send_console_reply(message_id)
