"""Leases: a row taken by one worker at a time, for a while.

A row is taken by moving it from a waiting state to a busy one with a
conditional UPDATE (two takers cannot both succeed), stamping when; a row
busy for longer than the lease was left by a process that died, and is taken
again. The claim's token is that stamp: whoever holds it may settle the row
while the row is still busy under the same stamp.

A :class:`Lease` names where a table keeps these: its id, state and "taken
at" columns (inbound messages and their replies: ``status``/``status_at``;
follow-ups could use ``state``/``claimed_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session


def token(moment: datetime) -> str:
    """A claim's token: its time, in one spelling whatever the zone."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Lease:
    """The columns a table keeps its claims in."""

    id: InstrumentedAttribute[Any]
    state: InstrumentedAttribute[Any]
    since: InstrumentedAttribute[Any]
    #: a counter of takes, raised by the same UPDATE that takes the row
    takes: InstrumentedAttribute[Any] | None = None

    def takeable(
        self, waiting: Any, busy: Any, *, lease_seconds: float, now: datetime
    ) -> ColumnElement[bool]:
        """Rows waiting, or busy past the lease (their taker died)."""
        stale = now - timedelta(seconds=lease_seconds)
        return or_(self.state == waiting, and_(self.state == busy, self.since < stale))

    def take(
        self,
        session: Session,
        row_id: int,
        *where: ColumnElement[bool],
        waiting: Any,
        busy: Any,
        lease_seconds: float,
        now: datetime,
    ) -> bool:
        """Move one row from ``waiting`` (or ``busy`` past the lease) to
        ``busy`` at ``now`` by one conditional UPDATE; whether it was taken
        (its token is then ``token(now)``)."""
        taken = session.execute(
            update(self.id.class_)
            .where(
                self.id == row_id,
                *where,
                self.takeable(waiting, busy, lease_seconds=lease_seconds, now=now),
            )
            .values(
                {self.state.key: busy, self.since.key: now}
                | ({self.takes.key: self.takes + 1} if self.takes is not None else {})
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        return bool(taken)

    def holds(self, session: Session, row_id: int, busy: Any, claim: str) -> bool:
        """Whether ``claim`` is still the row's (the row is locked until the
        transaction ends)."""
        # read the row itself: a loaded object may hold changes not yet written
        state, since = session.execute(
            select(self.state, self.since).where(self.id == row_id).with_for_update()
        ).one()
        return state == busy and since is not None and token(since) == claim
