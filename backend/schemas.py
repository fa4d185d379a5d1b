"""Validated input shapes shared by every entry point (API, JSONL import, CLI).

One definition of what a well-formed provider, job or booking request is, so a
bad field gets the same clear message wherever it comes from. Every entry point
validates with :func:`reading` (``model_validate(data, context=reading(region))``):
it says how a phone number written without a country code is read.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from backend.db import MAX_INTEGER
from backend.models import PHONE_CHANNELS, Channel
from backend.services import phones
from backend.services.errors import Invalid

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"[^a-z0-9]+")


def is_time_zone(value: str) -> bool:
    """Whether ``value`` names an IANA time zone (America/Chicago)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _zone(value: str) -> str:
    if not is_time_zone(value):
        raise ValueError(f"'{value}' is not an IANA time zone such as America/Chicago")
    return value


def reading(region: str) -> dict[str, str]:
    """The validation context of an entry point: national phone numbers are
    ``region``'s (the configured ``DEFAULT_REGION``)."""
    return {"region": region}


def error_message(error: ErrorDetails) -> str:
    """One of pydantic's errors in words, without its "Value error, " prefix."""
    return error["msg"].removeprefix("Value error, ")


def _phone(value: str, info: ValidationInfo) -> str:
    region = (info.context or {}).get("region")
    if region is None:  # a caller that forgot how to read national numbers
        raise TypeError("validate phone numbers with context=reading(region)")
    try:
        return phones.to_e164(value, region)
    except Invalid as exc:
        raise ValueError(exc.message) from exc


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value.lower()


def slugify(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


TimeZoneName = Annotated[str, AfterValidator(_zone)]
Phone = Annotated[str, AfterValidator(_phone)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Interval = tuple[str, str]


def minutes_of(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def check_intervals(intervals: list[Interval]) -> list[Interval]:
    """Validate "HH:MM" intervals: each starts before it ends, none overlap."""
    parsed = []
    for start, end in intervals:
        for value in (start, end):
            if not _HHMM.match(value):
                raise ValueError(f"'{value}' is not a time of day as HH:MM")
        if minutes_of(start) >= minutes_of(end):
            raise ValueError(f"interval {start}-{end} ends before it starts")
        parsed.append((minutes_of(start), minutes_of(end), start, end))
    parsed.sort()
    for before, after in zip(parsed, parsed[1:], strict=False):
        if after[0] < before[1]:
            raise ValueError(
                f"intervals {before[2]}-{before[3]} and {after[2]}-{after[3]} overlap"
            )
    return [(p[2], p[3]) for p in parsed]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ServiceInput(StrictModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    category: str | None = None
    mode: Literal["onsite", "remote"] = "onsite"
    duration_minutes: int = Field(60, gt=0, le=24 * 60)
    price_cents: int = Field(0, ge=0, le=10_000_000)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"


class ExceptionInput(StrictModel):
    date: date
    hours: list[Interval] = Field(default_factory=list)
    note: str = Field("", max_length=200)

    @field_validator("hours")
    @classmethod
    def _valid(cls, value: list[Interval]) -> list[Interval]:
        check_intervals(value)
        return value


def _check_week(
    value: dict[str, list[Interval]] | None,
) -> dict[str, list[Interval]] | None:
    if value is None:
        return None
    unknown = set(value) - set(WEEKDAYS)
    if unknown:
        raise ValueError(
            f"unknown weekday(s) {sorted(unknown)}; use {', '.join(WEEKDAYS)}"
        )
    return {day: check_intervals(value[day]) for day in WEEKDAYS if value.get(day)}


WeeklyHours = Annotated[dict[str, list[Interval]], AfterValidator(_check_week)]


class ProviderFields(BaseModel):
    """Every field of a provider; the create and update shapes derive from it."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    external_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=128)] | None
    ) = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    categories: list[NonEmpty] | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=5000)
    services: list[ServiceInput] | None = None
    city: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    radius_km: float | None = Field(None, ge=0, le=20000)
    timezone: TimeZoneName | None = None
    hours: WeeklyHours | None = None
    exceptions: list[ExceptionInput] | None = None
    phone: Phone | None = None
    email: Email | None = None
    rating: float | None = Field(None, ge=0, le=5)
    review_count: int | None = Field(None, ge=0, le=MAX_INTEGER)
    languages: (
        list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]] | None
    ) = None
    verified: bool | None = None
    attributes: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _extension_apart(cls, data: Any, info: ValidationInfo) -> Any:
        """A provider's office number with an extension ("650-474-2130 ext.
        4"): the number is their phone, the extension is kept beside it as the
        ``phone_extension`` attribute (texts and calls go to the number)."""
        region = (info.context or {}).get("region")
        if not (isinstance(data, dict) and isinstance(data.get("phone"), str)):
            return data
        if region is None:
            return data  # the phone's own validator says what is missing
        number, extension = phones.extension_apart(data["phone"], region)
        if extension is None:
            return data
        return {**data, "phone": number, "phone_extension": extension}

    @model_validator(mode="after")
    def _coordinates_in_pairs(self) -> ProviderFields:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self

    def free_form(self) -> dict[str, Any]:
        """Unknown top-level keys of an import line: kept as free-form attributes."""
        merged = dict(self.model_extra or {})
        merged.update(self.attributes or {})
        return merged


class ProviderCreate(ProviderFields):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    categories: list[NonEmpty] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _needs_a_place(self) -> ProviderCreate:
        if self.city is None and self.lat is None:
            raise ValueError("give a city or lat/lon for the provider's service area")
        return self


class ProviderUpdate(ProviderFields):
    """A partial update: only the fields given are changed."""


class VerifyInput(StrictModel):
    licence: bool = False
    insurance: bool = False
    identity: bool = False
    notes: str = Field("", max_length=2000)
    verified_by: str = Field("api", max_length=120)
    approve: bool = True


class TimeWindow(StrictModel):
    from_: AwareDatetime = Field(..., alias="from")
    to: AwareDatetime

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        return self


def _has_words(value: str) -> str:
    if sum(ch.isalpha() for ch in value) < 2:
        raise ValueError("say what you need in words")
    return value


RequestText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=1000),
    AfterValidator(_has_words),
]


class JobCreate(StrictModel):
    text: RequestText
    customer_id: int | None = Field(None, gt=0, le=MAX_INTEGER)
    category: str | None = None
    address: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=120)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    when: TimeWindow | None = None
    channel: Channel = Channel.API

    @model_validator(mode="after")
    def _needs_a_place(self) -> JobCreate:
        if self.city is None and self.lat is None and self.address is None:
            raise ValueError("give a city, an address or lat/lon for the job")
        return self


class MatchCreate(StrictModel):
    text: RequestText
    city: str | None = Field(None, max_length=120)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    when: TimeWindow | None = None
    customer_id: int | None = Field(None, gt=0, le=MAX_INTEGER)
    category: str | None = Field(None, max_length=64)
    limit: int = Field(5, ge=1, le=20)
    verified_only: bool = False
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")] | None = None


class BookingCreate(StrictModel):
    provider_id: int = Field(..., gt=0, le=MAX_INTEGER)
    customer_id: int = Field(..., gt=0, le=MAX_INTEGER)
    start: AwareDatetime
    end: AwareDatetime | None = None
    service_id: int | None = Field(None, gt=0, le=MAX_INTEGER)
    job_id: int | None = Field(None, gt=0, le=MAX_INTEGER)
    confirm: bool = False
    channel: Channel = Channel.API
    notes: str = Field("", max_length=2000)


class BookingAction(StrictModel):
    reason: str = Field("", max_length=300)
    actor: str = Field("api", max_length=120)


class RescheduleInput(BookingAction):
    start: AwareDatetime
    end: AwareDatetime | None = None


class ReviewCreate(StrictModel):
    stars: int = Field(..., ge=1, le=5)
    text: str = Field("", max_length=5000)


class IdentityInput(StrictModel):
    channel: Literal[
        "sms",
        "whatsapp",
        "voice",
        "messenger",
        "telegram",
        "webchat",
        "alexa",
        "google",
    ]
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    display_name: str | None = Field(None, max_length=120)
    locale: str | None = Field(None, max_length=10)
    timezone: TimeZoneName | None = None

    @field_validator("external_id")
    @classmethod
    def _phone_identity(cls, value: str, info: ValidationInfo) -> str:
        """An SMS or WhatsApp identity is a phone number: written as people
        write it ("415-286-4371") it is stored as Twilio will send it
        (``+14152864371``, ``whatsapp:+14152864371``), so their texts find this
        customer. A call's identity may be the call's own id instead. Read
        only at an entry point (a ``reading`` context); our own callers pass
        the carrier's E.164 as it came."""
        region = (info.context or {}).get("region")
        channel = info.data.get("channel")
        if region is None or channel not in PHONE_CHANNELS:
            return value
        prefix = "whatsapp:" if channel == "whatsapp" else ""
        number = value.removeprefix("whatsapp:")
        try:
            return prefix + phones.to_e164(number, region)
        except Invalid as exc:
            if channel == "voice":
                return value
            kind = "an SMS" if channel == "sms" else "a WhatsApp"
            raise ValueError(
                f"{kind} identity is a phone number: {exc.message}"
            ) from exc


class PhoneLinkStart(StrictModel):
    phone: Phone


class PhoneLinkConfirm(StrictModel):
    phone: Phone
    code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


class AvailabilityQuery(StrictModel):
    from_: AwareDatetime = Field(..., alias="from")
    to: AwareDatetime
    service_id: int | None = Field(None, gt=0, le=MAX_INTEGER)
    duration_minutes: int | None = Field(None, gt=0, le=24 * 60)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AreaAvailabilityQuery(AvailabilityQuery):
    category: NonEmpty
    city: str | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    limit: int = Field(10, ge=1, le=50)
