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
