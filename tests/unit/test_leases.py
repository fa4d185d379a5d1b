"""Leases on rows (backend.services.leases), on a table of their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from backend.db import UTCDateTime
from backend.services import leases


class _Base(DeclarativeBase):
    pass


class Job(_Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


LEASE = leases.Lease(Job.id, Job.state, Job.taken_at)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _session() -> Session:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    session = Session(engine)
    session.add_all([Job(id=1, state="waiting"), Job(id=2, state="done")])
    session.commit()
    return session


def _take(session: Session, row_id: int, now: datetime) -> bool:
    return LEASE.take(
        session, row_id, waiting="waiting", busy="busy", lease_seconds=60, now=now
    )


def test_a_token_is_one_spelling_of_a_moment_whatever_the_zone():
    elsewhere = NOW.astimezone(timezone(timedelta(hours=-5)))
    assert leases.token(NOW) == leases.token(elsewhere)
    assert leases.token(NOW) == "2026-03-01T12:00:00.000000+00:00"


def test_a_row_is_taken_once_within_the_lease_and_again_after_it():
    session = _session()
    assert _take(session, 1, NOW)
    assert not _take(session, 1, NOW + timedelta(seconds=30))  # still held
    assert not _take(session, 2, NOW)  # not waiting
    assert LEASE.holds(session, 1, "busy", leases.token(NOW))
    later = NOW + timedelta(seconds=61)  # the first taker died
    assert _take(session, 1, later)
    assert not LEASE.holds(session, 1, "busy", leases.token(NOW))
    assert LEASE.holds(session, 1, "busy", leases.token(later))


def test_extra_conditions_narrow_what_may_be_taken():
    session = _session()
    taken = LEASE.take(
        session,
        1,
        Job.id < 0,
        waiting="waiting",
        busy="busy",
        lease_seconds=60,
        now=NOW,
    )
    assert not taken and not LEASE.holds(session, 1, "busy", leases.token(NOW))
