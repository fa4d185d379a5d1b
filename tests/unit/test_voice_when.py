"""Voice platforms' dates and times into search windows, on the caller's clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.services.errors import Invalid
from voice_skills.when import alexa_window, dialogflow_window

CHICAGO = ZoneInfo("America/Chicago")
# Saturday 21 November 2026, 9:00 in Chicago
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("day", "clock", "start", "end"),
    [
        ("2026-11-22", "MO", local(2026, 11, 22, 8), local(2026, 11, 22, 12)),
        ("2026-11-22", "EV", local(2026, 11, 22, 17), local(2026, 11, 22, 21)),
        (
            "2026-11-23",
            "14:30",
            local(2026, 11, 23, 14, 30),
            local(2026, 11, 23, 16, 30),
        ),
        ("2026-11-23", None, local(2026, 11, 23), local(2026, 11, 24)),
        # the week of the 23rd, and its weekend
        ("2026-W48", None, local(2026, 11, 23), local(2026, 11, 30)),
        ("2026-W48-WE", None, local(2026, 11, 28), local(2026, 11, 30)),
        ("2026-12", None, local(2026, 12, 1), local(2027, 1, 1)),
        # "at ten" said at nine: today; "at eight": tomorrow
        (None, "10:00", local(2026, 11, 21, 10), local(2026, 11, 21, 12)),
        (None, "08:00", local(2026, 11, 22, 8), local(2026, 11, 22, 10)),
    ],
)
def test_alexa_dates_and_times(day, clock, start, end) -> None:
    window = alexa_window(day, clock, "America/Chicago", NOW)
    assert (window.start, window.end) == (start, end)


def test_alexa_today_starts_now_and_nothing_means_the_next_week() -> None:
    today = alexa_window("PRESENT_REF", None, "America/Chicago", NOW)
    assert today.start == NOW and today.end == local(2026, 11, 22)
    week = alexa_window(None, None, "America/Chicago", NOW)
    assert (week.start, week.end) == (NOW, NOW + timedelta(days=7))


@pytest.mark.parametrize(
    ("day", "clock", "field"),
    [
        ("2026-11-20", None, "date"),  # yesterday
        ("2026-11-21", "MO", None),  # this morning is over at... not yet: 9:00 < 12
        ("someday", None, "date"),
        ("2026-11-22", "25:00", "time"),
    ],
)
def test_alexa_values_that_cannot_be_used(day, clock, field) -> None:
    if field is None:
        window = alexa_window(day, clock, "America/Chicago", NOW)
        assert window.start == NOW  # the rest of the morning
        return
    with pytest.raises(Invalid) as caught:
        alexa_window(day, clock, "America/Chicago", NOW)
    assert caught.value.field == field


def test_dialogflow_date_time_values() -> None:
    zone = "America/Chicago"
    at_three = dialogflow_window("2026-11-23T15:00:00-06:00", zone, NOW)
    assert at_three.start == local(2026, 11, 23, 15)
    assert at_three.end == local(2026, 11, 23, 17)
    # ES gives a day as its noon: the whole day is meant
    day = dialogflow_window("2026-11-23T12:00:00-06:00", zone, NOW)
    assert (day.start, day.end) == (local(2026, 11, 23), local(2026, 11, 24))
    period = dialogflow_window(
        {
            "startDateTime": "2026-11-24T08:00:00-06:00",
            "endDateTime": "2026-11-24T12:00:00-06:00",
        },
        zone,
        NOW,
    )
    assert (period.start, period.end) == (
        local(2026, 11, 24, 8),
        local(2026, 11, 24, 12),
    )
    cx = dialogflow_window({"date_time": "2026-11-23T15:00:00-06:00"}, zone, NOW)
    assert cx.start == at_three.start
    # @sys.date-period: whole days, the last one included
    days = dialogflow_window(
        {
            "startDate": "2026-11-23T12:00:00-06:00",
            "endDate": "2026-11-24T12:00:00-06:00",
        },
        zone,
        NOW,
    )
    assert (days.start, days.end) == (local(2026, 11, 23), local(2026, 11, 25))
    clock = dialogflow_window("08:00:00", zone, NOW)
    assert clock.start == local(2026, 11, 22, 8)
    assert dialogflow_window("", zone, NOW).end == NOW + timedelta(days=7)
    with pytest.raises(Invalid):
        dialogflow_window("2026-11-01T10:00:00-06:00", zone, NOW)
    with pytest.raises(Invalid):
        dialogflow_window("next blue moon", zone, NOW)


def test_a_real_noon_is_noon_and_a_day_is_a_day() -> None:
    """ "tomorrow at noon" and "tomorrow" both reach us at T12:00:00 from ES:
    the shape tells them apart, never the clock."""
    zone = "America/Chicago"
    noon = (local(2026, 11, 23, 12), local(2026, 11, 23, 14))
    whole_day = (local(2026, 11, 23), local(2026, 11, 24))
    cases = [
        # @sys.date-time, a date said with a time
        ({"date_time": "2026-11-23T12:00:00-06:00"}, noon),
        # @sys.date-time, a day said alone
        ("2026-11-23T12:00:00-06:00", whole_day),
        # an @sys.date parameter: the day, at whatever clock
        ({"date": "2026-11-23T12:00:00-06:00"}, whole_day),
        # @sys.date and @sys.time parameters said together
        (
            {"date": "2026-11-23T12:00:00-06:00", "time": "2026-11-21T12:00:00-06:00"},
            noon,
        ),
        ({"date": "2026-11-23", "time": "12:00"}, noon),
        # a bare date (CX's @sys.date)
        ("2026-11-23", whole_day),
    ]
    for value, (start, end) in cases:
        window = dialogflow_window(value, zone, NOW)
        assert (window.start, window.end) == (start, end), value
    # @sys.time alone: its next coming (it is 9:00 now)
    at_noon = dialogflow_window({"time": "12:00:00"}, zone, NOW)
    assert (at_noon.start, at_noon.end) == (
        local(2026, 11, 21, 12),
        local(2026, 11, 21, 14),
    )
    # as ES gives it, on today's date: "at eight" said at nine is tomorrow's
    at_eight = dialogflow_window({"time": "2026-11-21T08:00:00-06:00"}, zone, NOW)
    assert at_eight.start == local(2026, 11, 22, 8)
    with pytest.raises(Invalid):
        dialogflow_window({"something": "else"}, zone, NOW)
