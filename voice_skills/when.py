"""Dates and times as voice platforms resolve them, made into a search window.

Alexa fills ``AMAZON.DATE`` with "2026-11-22", "2026-W48" (a week),
"2026-W48-WE" (its weekend), "2026-11" (a month) or "PRESENT_REF", and
``AMAZON.TIME`` with "09:30" or a part of the day: "MO", "AF", "EV", "NI".
Dialogflow's ``@sys.date-time`` is an ISO 8601 date-time with an offset, a
date said with a time ``{"date_time": ...}``, or a period
``{"startDateTime": ..., "endDateTime": ...}``; which it is comes from its
shape, never from its clock. Both are read on the caller's clock (``zone``)
and give the window matching searches in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.services.errors import Invalid

#: Alexa's parts of the day, as the hours a person means by them.
PARTS_OF_DAY = {
    "MO": (time(8), time(12)),
    "AF": (time(12), time(17)),
    "EV": (time(17), time(21)),
    "NI": (time(19), time(23)),
}
#: How long after a named time ("at 9") a slot still answers it.
AROUND_A_TIME = timedelta(hours=2)

_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})(-WE)?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Window:
    """From ``start`` to ``end``, both aware."""

    start: datetime
    end: datetime


def _days_of_alexa_date(value: str, today: date) -> tuple[date, date]:
    """The first day and the day after the last of an AMAZON.DATE value."""
    if value == "PRESENT_REF":
        return today, today + timedelta(days=1)
    # before fromisoformat, which reads "2026-W48" as that week's Monday
    if week := _WEEK.match(value):
        try:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
        except ValueError as exc:
            raise Invalid(
                f"{value!r} is not a day", field="date", code="bad_day"
            ) from exc
        if week[3]:
            return monday + timedelta(days=5), monday + timedelta(days=7)
        return monday, monday + timedelta(days=7)
    try:
        day = date.fromisoformat(value)
        return day, day + timedelta(days=1)
    except ValueError:
        pass
    if (month := _MONTH.match(value)) and 1 <= int(month[2]) <= 12:
        first = date(int(month[1]), int(month[2]), 1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, following
    raise Invalid(f"{value!r} is not a day", field="date", code="bad_day")


def alexa_window(
    day: str | None, clock: str | None, zone: str, now: datetime
) -> Window:
    """The window an Alexa date and time mean on ``zone``'s clock.

    No date means the next week; a time without a date means its next coming;
    a window wholly past is refused, a partly past one starts now.
    """
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    if day:
        first, after = _days_of_alexa_date(day, local_now.date())
    elif clock:
        first = local_now.date()
        after = first + timedelta(days=1)
    else:
        return Window(now, now + timedelta(days=7))

    if clock in PARTS_OF_DAY:
        begin, end = PARTS_OF_DAY[clock]
        start = datetime.combine(first, begin, tz)
        finish = datetime.combine(after - timedelta(days=1), end, tz)
    elif clock:
        match = _CLOCK.match(clock)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise Invalid(f"{clock!r} is not a time", field="time", code="bad_time")
        at = time(int(match[1]), int(match[2]))
        start = datetime.combine(first, at, tz)
        if not day and start <= local_now:
            start += timedelta(days=1)  # "at nine" said after nine: tomorrow
        finish = start + AROUND_A_TIME
    else:
        start = datetime.combine(first, time(0), tz)
        finish = datetime.combine(after, time(0), tz)
    return _not_past(start, finish, now)


def dialogflow_window(value, zone: str, now: datetime) -> Window:
    """The window a Dialogflow date or time value means, read by its shape.

    - ``{"date_time": ...}`` (a date said with a time, ES and CX): that time
      and the two hours after, whatever the clock says (noon is noon);
    - ``{"startDateTime", "endDateTime"}``: that period;
      ``{"startDate", "endDate"}`` (``@sys.date-period``): those whole days;
    - ``{"date": ...}`` (an ``@sys.date`` parameter): that whole day, at
      whatever clock ES puts it (noon); with ``"time"`` (an ``@sys.time``
      parameter) too, that time of that day; ``{"time": ...}`` alone: its next
      coming;
    - text: a bare date is that day, a bare time its next coming, and a
      date-time that time, except ES's ``@sys.date-time`` for a day said alone,
      which is the day's noon with nothing around it: a whole day.

    Values without an offset are on ``zone``'s clock.
    """
    tz = ZoneInfo(zone)
    if isinstance(value, list):
        value = value[0] if value else None
    if not value:
        return Window(now, now + timedelta(days=7))
    if isinstance(value, dict):
        return _window_of_struct(value, tz, now)
    text = str(value)
    if _only_time(text):
        return _next_time(text, tz, now)
    if "T" not in text:
        return _whole_day(_aware(text, tz), tz, now)
    moment = _aware(text, tz)
    if moment.time() == ES_DAY_CLOCK:  # as written, on the agent's clock
        return _whole_day(moment, tz, now)
    return _not_past(moment, moment + AROUND_A_TIME, now)


#: The clock Dialogflow ES gives a day said without a time.
ES_DAY_CLOCK = time(12)


def _window_of_struct(value: dict, tz: ZoneInfo, now: datetime) -> Window:
    if value.get("date_time"):
        moment = _aware(str(value["date_time"]), tz)
        return _not_past(moment, moment + AROUND_A_TIME, now)
    if value.get("startDateTime") and value.get("endDateTime"):
        start = _aware(str(value["startDateTime"]), tz)
        return _not_past(start, _aware(str(value["endDateTime"]), tz), now)
    if value.get("startDate") and value.get("endDate"):
        first = _aware(str(value["startDate"]), tz).astimezone(tz).date()
        last = _aware(str(value["endDate"]), tz).astimezone(tz).date()
        return _not_past(
            datetime.combine(first, time(0), tz),
            datetime.combine(last + timedelta(days=1), time(0), tz),
            now,
        )
    day, clock = value.get("date"), value.get("time")
    if day and clock:
        date_part = _aware(str(day), tz).astimezone(tz).date()
        time_part = _clock_of(str(clock), tz)
        start = datetime.combine(date_part, time_part, tz)
        return _not_past(start, start + AROUND_A_TIME, now)
    if day:
        return _whole_day(_aware(str(day), tz), tz, now)
    if clock:
        return _next_time(str(clock), tz, now)
    raise Invalid("not a date or a time", field="date-time", code="bad_time")


def _whole_day(moment: datetime, tz: ZoneInfo, now: datetime) -> Window:
    day = moment.astimezone(tz).date()
    return _not_past(
        datetime.combine(day, time(0), tz),
        datetime.combine(day + timedelta(days=1), time(0), tz),
        now,
    )


def _clock_of(text: str, tz: ZoneInfo) -> time:
    """The clock of a time ("14:00:00") or of a date-time, on ``tz``."""
    if _only_time(text):
        try:
            return time.fromisoformat(text).replace(tzinfo=None)
        except ValueError as exc:
            raise Invalid(
                f"{text!r} is not a time", field="time", code="bad_time"
            ) from exc
    return _aware(text, tz).astimezone(tz).time().replace(tzinfo=None)


def _next_time(text: str, tz: ZoneInfo, now: datetime) -> Window:
    """A time of day (``@sys.time``, bare or on today's date as ES gives it):
    its next coming on ``tz``'s clock."""
    local_now = now.astimezone(tz)
    start = datetime.combine(local_now.date(), _clock_of(text, tz), tz)
    if start <= local_now:
        start += timedelta(days=1)
    return _not_past(start, start + AROUND_A_TIME, now)


def _only_time(text: str) -> bool:
    return bool(re.match(r"^\d{2}:\d{2}", text))


def _aware(text: str, tz: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(
            f"{text!r} is not a date or a time", field="date-time", code="bad_time"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _not_past(start: datetime, end: datetime, now: datetime) -> Window:
    if end <= now:
        raise Invalid("that time has already gone by", field="date", code="past")
    return Window(max(start, now), end)
