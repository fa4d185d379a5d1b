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


def _lease() -> float:
    from webhooks.relay import lease_seconds

    return lease_seconds()


def _send_failed(session, reply, token: str, exc: DeliveryError, error_code) -> None:
    """Note a claimed reply's failed send (committed): failed for good when
    the channel says so, else queued again, and raised so Celery retries
    with backoff."""
    from backend.services import inbound

    status = "failed" if exc.permanent else "queued"
    inbound.record_delivery(session, reply, token, status=status, error_code=error_code)
    session.commit()
    if not exc.permanent:
        raise ConnectionError(str(exc)) from exc


@shared_task(name="beckon.answer_message", **TASK_RETRY)
def answer_message(message_id: int, sender: str = "") -> int:
    """Answer a message a webhook took (Messenger, Telegram; any channel's
    that the sweep found left undone) and send the replies on its channel;
    returns how many were sent now.

    Safe to run twice, or at once: the message is answered under a claim
    (``inbound.claim``), each reply sent under a claim of its own. A failure
    gives the claim back and raises, so Celery retries; a worker that dies
    leaves a claim the sweep takes back after the lease.
    """
    from backend.services import inbound
    from webhooks import relay

    session = db.session
    try:
        received = inbound.received_by_id(session, message_id, sender)
    except LookupError:
        return 0  # erased, or never ours
    token = inbound.claim(session, message_id, lease_seconds=_lease())
    session.commit()
    if token is not None:
        try:
            relay.answer(received, token, reply_status="queued")
        except Exception:
            session.rollback()
            inbound.release(session, message_id, token)
            session.commit()
            raise
        _stop_spinner(received)
    return _send_replies(received)


def _stop_spinner(received) -> None:
    """Telegram shows a spinner on a pressed button until this is said."""
    pressed = (received.message.payload or {}).get("callback_query_id")
    notifier = _notifiers().for_channel(received.message.channel)
    if pressed and hasattr(notifier, "call"):
        try:
            notifier.call("answerCallbackQuery", {"callback_query_id": pressed})
        except DeliveryError as exc:
            log.info("answerCallbackQuery %s: %s", pressed, exc)


def _send_replies(received) -> int:
    """Send the message's queued replies, each in parts at its channel's
    limit, the choices with the last part. A web chat's wait in its outbox."""
    from backend.models import Channel
    from backend.services import inbound
    from webhooks.render import TEXT_LIMITS, split

    message, session = received.message, db.session
    if message.channel == Channel.WEBCHAT:
        return 0
    notifier = _notifiers().for_channel(message.channel)
    limit = TEXT_LIMITS.get(message.channel.value, 4096)
    sent = 0
    replies = inbound.replies_of(session, message)
    for i, row in enumerate(replies):
        token = inbound.claim_reply(session, row.id, lease_seconds=_lease())
        session.commit()
        if token is None:
            continue
        buttons = (row.payload or {}).get("buttons") or []
        parts = split(row.text, limit) or [""]
        done = int((row.payload or {}).get("parts_sent", 0))
        try:
            for j in range(done, len(parts)):
                receipt = notifier.send(
                    Outgoing(
                        channel=message.channel,
                        to=received.sender,
                        body=parts[j],
                        key=f"reply:{message.id}:{i}:{j}",
                        since=row.created_at,
                        options=tuple((b["title"], b["payload"]) for b in buttons)
                        if j == len(parts) - 1
                        else (),
                    )
                )
                inbound.record_delivery(session, row, token, parts_sent=j + 1)
                session.commit()
        except DeliveryError as exc:
            log.warning("reply %s to message %s: %s", i, message.id, exc)
            _send_failed(session, row, token, exc, exc.code)
            continue
        inbound.record_delivery(
            session,
            row,
            token,
            external_id=receipt.external_id,
            status=receipt.status,
        )
        session.commit()
        sent += 1
    return sent


@shared_task(name="beckon.sweep_inbound", **TASK_RETRY)
def sweep_inbound() -> int:
    """Queue again what a dead process or a failed queueing left undone:
    inbound messages not answered, replies not sent (``inbound.take_stale``);
    returns how many were queued."""
    from backend.services import inbound

    with unit_of_work(db.session_factory) as session:
        left = inbound.take_stale(session, lease_seconds=_lease())
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
    """Note what the assistant understood in the messages it answered lately,
    one tracker read per sender for all of theirs (beat runs it, so the
    webhooks never wait for it); returns how many were noted."""
    from backend.services import inbound
    from webhooks import assistant

    with unit_of_work(db.session_factory) as session:
        waiting = inbound.awaiting_intent(session)
    intents: dict[int, str] = {}
    for sender, ids in waiting.items():
        intents |= assistant.intents_of(sender, set(ids))
    with unit_of_work(db.session_factory) as session:
        return inbound.set_intents(session, intents)


@shared_task(name="beckon.send_console_reply", **TASK_RETRY)
def send_console_reply(message_id: int) -> str:
    """Send a reply an admin wrote in the console on its conversation's
    channel; returns the message's status. Sent once: only a "queued" message
    is sent, under a claim and a key of its own. A web chat's waits in the
    visitor's outbox (the page fetches it) and stays "queued" until then."""
    from datetime import timedelta

    from sqlalchemy import select

    from backend.db import utcnow
    from backend.models import Channel, Direction, Message
    from backend.services import inbound
    from backend.services.conversations import reply_address

    message = db.session.get(Message, message_id)
    if message is None or message.direction != Direction.OUT:
        return "missing"
    if message.status != "queued" or message.channel == Channel.WEBCHAT:
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
    token = inbound.claim_reply(db.session, message.id, lease_seconds=_lease())
    db.session.commit()
    if token is None:
        return message.status
    retried = int((message.payload or {}).get("attempts", 1)) > 1
    try:
        # an earlier attempt may have got through before its worker died
        receipt = (retried and notifier.find_sent(outgoing)) or notifier.send(outgoing)
    except DeliveryError as exc:
        fallback = "failed" if exc.permanent else "queued"
        _send_failed(db.session, message, token, exc, exc.code or fallback)
        return message.status
    inbound.record_delivery(
        db.session,
        message,
        token,
        external_id=receipt.external_id,
        status=receipt.status,
    )
    db.session.commit()
    return message.status
