"""Sending due follow-ups: claimed by beat's sweep, one attempt at each.

Attempts begin in one transaction and end in another, around the sends, so
what was sent is recorded even if a later send in the batch blows up. A
failed delivery is not retried by a countdown: the row becomes due again
after an exponential backoff with jitter, and the sweep takes it then, so a
retry survives a worker's death like everything else.
"""

from __future__ import annotations

import logging

from celery.utils.time import get_exponential_backoff_interval

from backend.config import Config
from backend.conversation import context
from backend.conversation.context import notifier_for
from backend.db import unit_of_work
from backend.extensions import db
from backend.notifiers import DeliveryError, Outgoing, Receipt
from backend.services import followups

log = logging.getLogger(__name__)

#: A failed delivery is due again after 30 s, 60 s, 120 s ... (with jitter).
DELIVERY_BACKOFF_FACTOR = 30
DELIVERY_BACKOFF_MAX = 3600


def claim_due() -> list[tuple[int, str]]:
    """Claim a batch of due follow-ups (committed): ``[(id, token), ...]``."""
    with unit_of_work(db.session_factory) as session:
        return followups.claim_due(session, context.config().FOLLOW_UPS)


def send(claims: list[tuple[int, str]]) -> dict[str, int]:
    """One attempt at each claimed follow-up: ``[(id, token), ...]``.

    Attempts begin in one transaction and end in another, around the sends;
    what was sent is recorded even if a later send in the batch blows up.
    Returns how many ended in each state.
    """
    config = context.config()
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


def send_one(follow_up_id: int, token: str) -> str:
    """One claimed follow-up, now: what became of it (for tests and tools)."""
    counts = send([(follow_up_id, token)])
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
    notifier = notifier_for(attempt.channel)
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


def plan_agendas() -> int:
    """Plan the providers' daily agendas for the next mornings (committed)."""
    with unit_of_work(db.session_factory) as session:
        return followups.plan_agendas(session, context.config().FOLLOW_UPS)
