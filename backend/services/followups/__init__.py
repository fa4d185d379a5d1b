"""Follow-ups: messages due at a time, written with the change that causes them.

The outbox: every booking change plans its follow-ups (:func:`plan`) in the
same transaction, so a rolled-back change sends nothing and a committed one
cannot lose its messages. Beat sweeps due rows (:func:`claim_due`); a task then
makes one attempt (:func:`begin_attempt` → a notifier → :func:`record_sent` or
:func:`record_failure`).

Exactly once:
- a unique ``send_key`` per (kind, recipient, booking[, time]) keeps a message
  from being planned twice;
- a claim is a conditional UPDATE, so two sweeps never take one row, and each
  attempt carries the claim's time as a token, so a stale copy of a task (a
  broker redelivery) does nothing;
- a claim older than the lease (its worker died) is taken again, and an
  attempt after an earlier one asks the channel whether that one got through
  before sending (``Notifier.find_sent``).

Nothing here knows Celery or a channel's API.

The package, by job: :mod:`.kinds` (what can be sent and while it applies),
:mod:`.planning` (writing the rows), :mod:`.recipients` (who and on which
channel), :mod:`.rendering` (the words), :mod:`.outbox` (claims, attempts,
settling). What the rest of Beckon calls is named here.
"""

from backend.services.followups.kinds import KINDS, Kind, is_session
from backend.services.followups.outbox import (
    Attempt,
    begin_attempt,
    claim_due,
    fail,
    record_failure,
    record_sent,
    retry_failed,
)
from backend.services.followups.planning import cancel_pending, plan, plan_agendas

__all__ = [
    "KINDS",
    "Attempt",
    "Kind",
    "begin_attempt",
    "cancel_pending",
    "claim_due",
    "fail",
    "is_session",
    "plan",
    "plan_agendas",
    "record_failure",
    "record_sent",
    "retry_failed",
]
