"""The assistant's reading of times (bot/actions/when.py): everyday words and
SMS spelling become a window on the right clock; the past and nonsense are
refused so the form can ask again."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bot" / "actions" / "when.py"
_spec = importlib.util.spec_from_file_location("bot_when", _PATH)
when = sys.modules["bot_when"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(when)

CHICAGO = "America/Chicago"
# Saturday 21 November 2026, 10:00 in Chicago
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo(CHICAGO))


def window(text: str, zone: str = CHICAGO):
    return when.parse_window(text, zone, NOW)


@pytest.mark.parametrize(
    ("text", "start", "end", "exact"),
    [
        ("tomorrow morning", "2026-11-22 08:00", "2026-11-22 12:00", False),
        ("2moro 9am", "2026-11-22 09:00", "2026-11-22 11:00", True),
        ("tmrw", "2026-11-22 08:00", "2026-11-22 20:00", False),
        ("thu at 3pm", "2026-11-26 15:00", "2026-11-26 17:00", True),
        ("actually make it Thursday", "2026-11-26 08:00", "2026-11-26 20:00", False),
        ("no, Friday at 3 instead", "2026-11-27 15:00", "2026-11-27 17:00", True),
        ("next friday", "2026-11-27 08:00", "2026-11-27 20:00", False),
        ("tonight", "2026-11-21 18:00", "2026-11-21 22:00", False),
        (
            "can I get a love reading tonight?",
            "2026-11-21 18:00",
            "2026-11-21 22:00",
            False,
        ),
        ("in the afternoon", "2026-11-21 12:00", "2026-11-21 17:00", False),
        ("dec 3", "2026-12-03 08:00", "2026-12-03 20:00", False),
        ("the 5th", "2026-12-05 08:00", "2026-12-05 20:00", False),
        ("December 5th at 2pm", "2026-12-05 14:00", "2026-12-05 16:00", True),
        ("11/30", "2026-11-30 08:00", "2026-11-30 20:00", False),
        ("noon tomorrow", "2026-11-22 12:00", "2026-11-22 14:00", True),
        ("next week", "2026-11-23 08:00", "2026-11-29 20:00", False),
        ("this weekend", "2026-11-21 10:00", "2026-11-22 20:00", False),
        ("asap", "2026-11-21 10:00", "2026-11-22 10:00", False),
        ("today", "2026-11-21 10:00", "2026-11-21 20:00", False),
    ],
)
def test_words_become_a_window_on_the_local_clock(text, start, end, exact):
    found = window(text)
    assert found.start.strftime("%Y-%m-%d %H:%M") == start
    assert found.end.strftime("%Y-%m-%d %H:%M") == end
    assert found.exact is exact
    assert found.start.tzinfo is not None
    assert found.start.utcoffset() == NOW.utcoffset()


def test_the_same_words_mean_another_instant_in_another_zone():
    chicago, new_york = (
        window("tomorrow 9am"),
        window("tomorrow 9am", "America/New_York"),
    )
    assert (chicago.start - new_york.start).total_seconds() == 3600


@pytest.mark.parametrize("text", ["yesterday", "today at 8am", "last monday"])
def test_a_time_gone_by_is_refused(text):
    with pytest.raises(when.InThePast):
        window(text)


@pytest.mark.parametrize(
    "text",
    ["I need someone to fix my boiler", "2 rooms painted", "hello", "", "1", "2 3"],
)
def test_words_without_a_time_are_not_understood(text):
    with pytest.raises(when.NotUnderstood):
        window(text)


def test_windows_describe_themselves_for_a_person():
    assert window("tomorrow morning").describe() == "Sun Nov 22, 08:00-12:00"
    assert window("thu at 3pm").describe() == "Thu Nov 26 at 15:00"
