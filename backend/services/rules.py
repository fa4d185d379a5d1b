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

    @classmethod
    def from_config(cls, config: object) -> BookingRules:
        return cls(
            slot_step_minutes=config.SLOT_STEP_MINUTES,
            default_service_minutes=config.DEFAULT_SERVICE_MINUTES,
            buffer_minutes=config.BOOKING_BUFFER_MINUTES,
            minimum_notice_minutes=config.MINIMUM_NOTICE_MINUTES,
            hold_minutes=config.HOLD_MINUTES,
            max_availability_days=config.MAX_AVAILABILITY_DAYS,
            phone_code_minutes=config.PHONE_CODE_MINUTES,
        )
