"""Celery tasks. Each takes ids, calls services, and is safe to run twice.

``sweep_follow_ups`` (beat, every few seconds) claims due follow-ups and queues
one ``send_follow_up`` per row; a send makes one attempt and settles the row.
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
from backend.models import FollowUp
from backend.notifiers import DeliveryError, Notifiers, Outgoing
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


@shared_task(name="beckon.sweep_follow_ups", **TASK_RETRY)
def sweep_follow_ups() -> int:
    """Claim every due follow-up and queue its send; returns how many."""
    rules = _config().FOLLOW_UPS
    queued = 0
    while True:
        with unit_of_work(db.session_factory) as session:
            claimed = followups.claim_due(session, rules)
        # a crash from here on leaves rows claimed: the lease brings them back
        for follow_up_id, token in claimed:
            send_follow_up.delay(follow_up_id, token)
        queued += len(claimed)
        if len(claimed) < rules.sweep_batch:
            return queued


@shared_task(name="beckon.send_follow_up", **TASK_RETRY)
def send_follow_up(follow_up_id: int, token: str) -> str:
    """One attempt at one claimed follow-up; returns what became of it."""
    config = _config()
    with unit_of_work(db.session_factory) as session:
        attempt = followups.begin_attempt(
            session, follow_up_id, token, config.FOLLOW_UPS, config.RULES
        )
    if attempt is None:
        return "settled"
    notifier = _notifiers().for_channel(attempt.channel)
    outgoing = Outgoing(
        channel=attempt.channel,
        to=attempt.to,
        body=attempt.body,
        key=attempt.key,
        since=attempt.since,
        tag=attempt.tag,
    )
    try:
        receipt = notifier.find_sent(outgoing) if attempt.retried else None
        if receipt is not None:
            log.info("follow-up %s had got through already", follow_up_id)
        else:
            receipt = notifier.send(outgoing)
    except DeliveryError as exc:
        with unit_of_work(db.session_factory) as session:
            row = session.get(FollowUp, follow_up_id)
            backoff = get_exponential_backoff_interval(
                factor=DELIVERY_BACKOFF_FACTOR,
                retries=max((row.attempts if row else 1) - 1, 0),
                maximum=DELIVERY_BACKOFF_MAX,
                full_jitter=True,
            )
            state = followups.record_failure(
                session,
                attempt,
                str(exc),
                permanent=exc.permanent,
                opted_out=exc.opted_out,
                rules=config.FOLLOW_UPS,
                backoff_seconds=max(backoff, 1),
            )
        log.warning("follow-up %s: %s (%s)", follow_up_id, exc, state)
        return state.value if state else "lost claim"
    with unit_of_work(db.session_factory) as session:
        recorded = followups.record_sent(
            session, attempt, receipt.external_id, receipt.status
        )
    if not recorded:
        log.error("follow-up %s was sent but its claim had moved on", follow_up_id)
    return "sent"


@shared_task(name="beckon.plan_agendas", **TASK_RETRY)
def plan_agendas() -> int:
    """Plan the providers' daily agendas for the next mornings."""
    with unit_of_work(db.session_factory) as session:
        return followups.plan_agendas(session, _config().FOLLOW_UPS)
