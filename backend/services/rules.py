"""The marketplace's booking rules, passed to services by each entry point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class BookingRules:
    slot_step_minutes: int = 30
    default_service_minutes: int = 60
    buffer_minutes: int = 15
    minimum_notice_minutes: int = 60
    hold_minutes: int = 15
    max_availability_days: int = 31
    phone_code_minutes: int = 10

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)

    @property
    def minimum_notice(self) -> timedelta:
        return timedelta(minutes=self.minimum_notice_minutes)


@dataclass(frozen=True)
class FollowUpRules:
    """When follow-ups are due and how their sending behaves.

    Each field reads ``BECKON_FOLLOWUP_<FIELD NAME IN CAPITALS>``.
    """

    #: No messages between these local hours of the recipient, except the
    #: time-critical ones (a confirmation just asked for, the last reminder).
    quiet_start_hour: int = 21
    quiet_end_hour: int = 8
    reminder_early_hours: int = 24
    reminder_late_minutes: int = 60
    check_in_prompt_minutes: int = 30
    review_delay_minutes: int = 120
    rebooking_delay_minutes: int = 5
    agenda_hour: int = 7
    #: Session providers (readers) follow up this many days after a session.
    session_first_days: int = 1
    session_second_days: int = 7
    #: A claim older than this is taken again (its worker died): longer than
    #: a task may run.
    lease_seconds: int = 120
    sweep_batch: int = 500
    max_attempts: int = 6

    def is_quiet(self, local_hour: int) -> bool:
        """True if ``local_hour`` (0-23) falls inside the quiet hours."""
        start, end = self.quiet_start_hour, self.quiet_end_hour
        if start == end:
            return False
        if start < end:
            return start <= local_hour < end
        return local_hour >= start or local_hour < end


@dataclass(frozen=True)
class TextRules:
    """What Beckon may spend on the texts anyone can ask for (phone codes):
    where they may go and how many an hour (``BECKON_SMS_*`` in the config).

    A phone code is a text we pay for, to a number the asker names; these
    bound what an abuser can cost, counted in the database before any send
    (``backend.services.texting``).
    """

    #: ISO 3166 alpha-2 regions whose numbers may be texted a code.
    countries: tuple[str, ...] = ("US",)
    #: Phone-code texts per clock hour (UTC), all countries together.
    hourly_budget: int = 200
    #: Phone-code texts per clock hour (UTC) to each one country.
    country_hourly_budget: int = 100
