"""Working hours are wall-clock hours in the provider's zone, across DST."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from backend.services.availability import slots_from, working_intervals

NINE_TO_FIVE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def _provider(zone="America/Chicago", hours=NINE_TO_FIVE):
    return SimpleNamespace(timezone=zone, weekly_hours=hours)


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_chicago_nine_to_five_in_winter_and_summer():
    provider = _provider()
    winter = working_intervals(provider, _utc(2027, 1, 12), _utc(2027, 1, 13), {})
    summer = working_intervals(provider, _utc(2027, 7, 13), _utc(2027, 7, 14), {})
    assert winter == [(_utc(2027, 1, 12, 15), _utc(2027, 1, 12, 23))]  # UTC-6
    assert summer == [(_utc(2027, 7, 13, 14), _utc(2027, 7, 13, 22))]  # UTC-5


def test_the_day_after_the_clocks_change_keeps_local_hours():
    provider = _provider(hours={"mon": [["09:00", "17:00"]]})
    # DST ends on Sunday 2026-11-01 in the US; Monday is 9-17 CST.
    days = working_intervals(provider, _utc(2026, 10, 26), _utc(2026, 11, 3), {})
    assert days == [
        (_utc(2026, 10, 26, 14), _utc(2026, 10, 26, 22)),
        (_utc(2026, 11, 2, 15), _utc(2026, 11, 2, 23)),
    ]


def test_exceptions_replace_the_weekly_hours():
    provider = _provider()
    closed = {date(2027, 1, 12): []}
    short = {date(2027, 1, 12): [["10:00", "12:00"]]}
    window = (_utc(2027, 1, 12), _utc(2027, 1, 13))
    assert working_intervals(provider, *window, closed) == []
    assert working_intervals(provider, *window, short) == [
        (_utc(2027, 1, 12, 16), _utc(2027, 1, 12, 18))
    ]


def test_midnight_close_and_phoenix_without_dst():
    provider = _provider("America/Phoenix", {"sat": [["20:00", "24:00"]]})
    out = working_intervals(provider, _utc(2027, 7, 10), _utc(2027, 7, 12), {})
    assert out == [(_utc(2027, 7, 11, 3), _utc(2027, 7, 11, 7))]  # MST all year


def test_slots_skip_busy_time_and_start_after_the_earliest_moment():
    working = [(_utc(2027, 1, 12, 15), _utc(2027, 1, 12, 19))]
    busy = [(_utc(2027, 1, 12, 16), _utc(2027, 1, 12, 17))]
    slots = slots_from(
        working,
        busy,
        timedelta(hours=1),
        _utc(2027, 1, 12, 15, 10),
        timedelta(minutes=30),
    )
    starts = [s.start.strftime("%H:%M") for s in slots]
    assert starts == ["17:00", "17:30", "18:00"]
    assert slots_from(
        working,
        busy,
        timedelta(hours=1),
        _utc(2027, 1, 12),
        timedelta(minutes=30),
        limit=1,
    )[0].start == _utc(2027, 1, 12, 15)
