"""Celery tasks. Each takes ids, calls services, and is safe to run twice.

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
from backend.db import unit_of_work
from backend.extensions import db
from backend.notifiers import DeliveryError, Notifiers, Outgoing, Receipt
from backend.services import followups

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


@shared_task(name="beckon.answer_message", **TASK_RETRY)
def answer_message(message_id: int, sender: str) -> int:
    """Answer a message a webhook took (Messenger, Telegram) and send the
    replies on its channel; returns how many were sent.

    Taken once: the message moves from "received" to "answering" by a
    conditional update, so a redelivered task does nothing.
    """
    from sqlalchemy import update

    from backend.models import Message
    from backend.services.inbound import received_by_id
    from webhooks.relay import answer
    from webhooks.render import TEXT_LIMITS, split

    taken = db.session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "received")
        .values(status="answering")
    ).rowcount
    db.session.commit()
    if not taken:
        return 0
    received = received_by_id(db.session, message_id, sender)
    result = answer(received, reply_status="queued")
    sent = 0
    notifier = _notifiers().for_channel(received.message.channel)
    pressed = (received.message.payload or {}).get("callback_query_id")
    if pressed and hasattr(notifier, "call"):
        # Telegram shows a spinner on the pressed button until this is said
        try:
            notifier.call("answerCallbackQuery", {"callback_query_id": pressed})
        except DeliveryError as exc:
            log.info("answerCallbackQuery %s: %s", pressed, exc)
    limit = TEXT_LIMITS.get(received.message.channel.value, 4096)
    for i, (reply, row) in enumerate(zip(result.replies, result.messages, strict=True)):
        parts = split(reply.text, limit) or [""]
        try:
            for j, part in enumerate(parts):
                last = j == len(parts) - 1
                receipt = notifier.send(
                    Outgoing(
                        channel=received.message.channel,
                        to=sender,
                        body=part,
                        key=f"reply:{message_id}:{i}:{j}",
                        since=row.created_at,
                        # the choices go with the last part, under its words
                        options=tuple((b["title"], b["payload"]) for b in reply.buttons)
                        if last
                        else (),
                    )
                )
        except DeliveryError as exc:
            row.status, row.error_code = "failed", exc.code
            log.warning("reply %s to message %s failed: %s", i, message_id, exc)
        else:
            row.status, row.external_id = receipt.status, receipt.external_id
            sent += 1
        db.session.commit()
    return sent


@shared_task(name="beckon.send_console_reply", **TASK_RETRY)
def send_console_reply(message_id: int) -> str:
    """Send a reply an admin wrote in the console on its conversation's
    channel; returns the message's status. Sent once: only a "queued" message
    is sent, under a key of its own."""
    from datetime import timedelta

    from sqlalchemy import select

    from backend.db import utcnow
    from backend.models import Direction, Message
    from backend.services.conversations import reply_address

    message = db.session.get(Message, message_id)
    if message is None or message.direction != Direction.OUT:
        return "missing"
    if message.status != "queued":
        return message.status
    to = reply_address(db.session, message)
    if not to:
        message.status, message.error_code = "failed", "no_address"
        db.session.commit()
        return message.status
    channel = message.channel
    tag = None
    if channel.value == "messenger":
        last_in = db.session.scalar(
            select(Message.created_at)
            .where(
                Message.conversation_id == message.conversation_id,
                Message.direction == Direction.IN,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        if last_in is None or utcnow() - last_in > timedelta(hours=24):
            tag = "HUMAN_AGENT"  # Meta allows a person 7 days to answer
    outgoing = Outgoing(
        channel=channel,
        to=to,
        body=message.text,
        key=f"console:{message.id}",
        since=message.created_at,
        tag=tag,
    )
    notifier = _notifiers().for_channel(channel)
    retried = bool((message.payload or {}).get("attempted"))
    message.payload = {**(message.payload or {}), "attempted": True}
    db.session.commit()
    try:
        # an earlier attempt may have got through before its worker died
        receipt = (retried and notifier.find_sent(outgoing)) or notifier.send(outgoing)
    except DeliveryError as exc:
        if not exc.permanent:
            raise ConnectionError(str(exc)) from exc  # Celery retries with backoff
        message.status, message.error_code = "failed", exc.code or "failed"
    else:
        message.status, message.external_id = receipt.status, receipt.external_id
    message.status_at = utcnow()
    db.session.commit()
    return message.status
