"""What the texts anyone can ask for may cost us, and how long a number's
codes may be guessed.

A phone code (``customers.start_phone_link``) is a text we pay for, sent to
whatever number the asker names. Three bounds, each counted in the database
before the text goes:

- **where**: only numbers of the allowed countries (``TextRules.countries``,
  the number's country as libphonenumber reads it, so +1 268 is Antigua, not
  the US);
- **how many an hour**: all together and per country, in ``text_budgets``
  rows per clock hour (UTC), each taken by one atomic statement (an upsert
  whose update holds only while the count is under its cap), so concurrent
  asks never overshoot; a text that could not be sent gives its place back;
- **how many wrong codes, ever**: a number's consecutive wrong codes are
  counted in ``phone_guards`` (atomically, before a code is checked) and at
  :data:`MAX_CONSECUTIVE_FAILURES` linking the number is locked until an
  operator lifts it (the console's dashboard, or ``beckon phone unlock``).

Why a lifetime cap and not longer codes: six digits stay easy to say to a
voice assistant and to type, and the cap bounds an attacker's odds however
long they try: 100 guesses of 1,000,000 codes is a 0.01% chance per number,
where 25 guesses an hour without a cap is about 20% in a year (and longer
codes would only slow that down, not bound it). NIST SP 800-63B 5.2.2 asks
for the same: at most 100 consecutive failed attempts on one account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import PhoneGuard, TextBudget
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.phones import is_e164, region_name, region_of
from backend.services.rules import TextRules

log = logging.getLogger("beckon.texting")

#: Wrong codes in a row that lock linking a number (NIST SP 800-63B: at most 100).
MAX_CONSECUTIVE_FAILURES = 100
#: The scope of the budget of all countries together.
ALL = "*"
#: How long budget rows are kept (the console shows the last day's).
BUDGET_ROWS_KEPT = timedelta(days=7)


def _insert(session: Session) -> Any:
    """This database's INSERT with ON CONFLICT (PostgreSQL's or SQLite's:
    SQLAlchemy spells both alike)."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert


def hour_of(moment: datetime) -> datetime:
    """The clock hour (UTC) ``moment`` falls in, which a budget counts."""
    return moment.replace(minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------- where


def destination(phone: str, rules: TextRules, locale: str = "en-US") -> str:
    """The country of ``phone`` (E.164) if codes may be texted there; else
    :class:`Invalid` saying where they may go."""
    region = region_of(phone) if is_e164(phone) else None
    if region in rules.countries:
        return region
    allowed = ", ".join(region_name(code, locale) for code in rules.countries)
    where = region_name(region, locale)
    raise Invalid(
        f"Beckon texts codes only to numbers in {allowed}; {phone} is a number "
        f"of {where}",
        field="phone",
        code="phone_country_not_served",
    )


# ---------------------------------------------------------------- how many


@dataclass(frozen=True)
class SpentBudget:
    """A budget that ran out: which (``scope``: a country, or "*" for all),
    in which hour, and its cap."""

    scope: str
    hour: datetime
    sent: int
    cap: int

    @property
    def country(self) -> str | None:
        return None if self.scope == ALL else self.scope


def _cap(rules: TextRules, scope: str) -> int:
    return rules.hourly_budget if scope == ALL else rules.country_hourly_budget


def take_text(
    session: Session, rules: TextRules, region: str, *, now: datetime | None = None
) -> None:
    """Count one phone-code text in this hour's budgets (all countries, and
    ``region``'s), before it is sent; :class:`Conflict` ``texts_budget_spent``
    if either is spent, and nothing counted. Hours past ``BUDGET_ROWS_KEPT``
    are dropped here, where the table is written anyway (the console only reads)."""
    now = now or utcnow()
    hour = hour_of(now)
    session.execute(delete(TextBudget).where(TextBudget.hour < now - BUDGET_ROWS_KEPT))
    insert = _insert(session)
    with session.begin_nested():  # both taken, or neither
        for scope in (ALL, region):
            cap = _cap(rules, scope)
            statement = (
                insert(TextBudget)
                .values(scope=scope, hour=hour, sent=1)
                .on_conflict_do_update(
                    index_elements=["scope", "hour"],
                    set_={"sent": TextBudget.sent + 1},
                    where=TextBudget.sent < cap,
                )
                .returning(TextBudget.sent)
            )
            if session.execute(statement).scalar() is None:
                raise _spent(scope, hour)


def _spent(scope: str, hour: datetime) -> Conflict:
    whose = "" if scope == ALL else f" to {region_name(scope)}"
    again = (hour + timedelta(hours=1)).strftime("%H:%M UTC")
    log.warning("phone-code texts%s: this hour's budget is spent", whose)
    return Conflict(
        f"Beckon has sent all the codes{whose} it may this hour; "
        f"try again after {again}",
        code="texts_budget_spent",
    )


def give_back_text(session: Session, phone: str, sent_at: datetime) -> None:
    """A text counted at ``sent_at`` that never went: its place in that
    hour's budgets is free again (call it once per text)."""
    scopes = [ALL] + ([region] if (region := region_of(phone)) else [])
    session.execute(
        update(TextBudget)
        .where(
            TextBudget.scope.in_(scopes),
            TextBudget.hour == hour_of(sent_at),
            TextBudget.sent > 0,
        )
        .values(sent=TextBudget.sent - 1)
        .execution_options(synchronize_session=False)
    )


def spent_budgets(
    session: Session,
    rules: TextRules,
    *,
    since: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> list[SpentBudget]:
    """The budgets that ran out in the last ``since``, newest first (for the
    console's alert)."""
    now = now or utcnow()
    rows = session.scalars(
        select(TextBudget)
        .where(TextBudget.hour >= hour_of(now - since))
        .order_by(TextBudget.hour.desc(), TextBudget.scope)
    )
    return [
        SpentBudget(row.scope, row.hour, row.sent, _cap(rules, row.scope))
        for row in rows
        if row.sent >= _cap(rules, row.scope)
    ]


# ---------------------------------------------------------------- wrong codes


def guard_of(session: Session, phone: str) -> PhoneGuard | None:
    return session.scalar(
        select(PhoneGuard)
        .where(PhoneGuard.phone == phone)
        .execution_options(populate_existing=True)
    )


def is_locked(session: Session, phone: str) -> bool:
    """Whether linking ``phone`` is locked after too many wrong codes."""
    guard = guard_of(session, phone)
    return guard is not None and guard.failures >= MAX_CONSECUTIVE_FAILURES


def locked_error() -> Conflict:
    return Conflict(
        "linking this phone number is locked after too many wrong codes; its "
        "owner was told, and Beckon's support can unlock it",
        code="phone_locked",
    )


def count_failure(session: Session, phone: str, *, now: datetime | None = None) -> int:
    """Count one more wrong code for ``phone``, before the code is checked
    (so no more than the cap are ever checked, however many ask at once):
    the number of wrong codes in a row now. :class:`Conflict`
    ``phone_locked`` if the cap was reached already, and nothing counted."""
    now = now or utcnow()
    cap = MAX_CONSECUTIVE_FAILURES
    statement = (
        _insert(session)(PhoneGuard)
        .values(
            phone=phone, failures=1, updated_at=now, locked_at=now if cap <= 1 else None
        )
        .on_conflict_do_update(
            index_elements=["phone"],
            set_={
                "failures": PhoneGuard.failures + 1,
                "locked_at": case(
                    (PhoneGuard.failures + 1 >= cap, now), else_=PhoneGuard.locked_at
                ),
                "updated_at": now,
            },
            where=PhoneGuard.failures < cap,
        )
        .returning(PhoneGuard.failures)
    )
    failures = session.execute(statement).scalar()
    if failures is None:
        raise locked_error()
    return failures


def clear_failures(
    session: Session, phone: str, *, now: datetime | None = None
) -> None:
    """A right code: the number's wrong codes in a row start again from 0."""
    session.execute(
        update(PhoneGuard)
        .where(PhoneGuard.phone == phone)
        .values(failures=0, locked_at=None, updated_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def locked_numbers(session: Session) -> list[PhoneGuard]:
    """The numbers whose linking is locked, most recently locked first."""
    return list(
        session.scalars(
            select(PhoneGuard)
            .where(PhoneGuard.locked_at.is_not(None))
            .order_by(PhoneGuard.locked_at.desc())
        )
    )


def lift_lock(
    session: Session, phone: str, *, by: str, now: datetime | None = None
) -> PhoneGuard:
    """An operator lifts the lock on ``phone`` (``by``: who): it may be
    linked again, with a fresh count of wrong codes."""
    now = now or utcnow()
    guard = guard_of(session, phone)
    if guard is None or guard.locked_at is None:
        raise NotFound(f"linking {phone} is not locked")
    guard.failures = 0
    guard.locked_at = None
    guard.lifted_at = now
    guard.lifted_by = by[:254]
    guard.updated_at = now
    session.flush()
    log.info("phone lock on %s lifted by %s", phone, by)
    return guard
