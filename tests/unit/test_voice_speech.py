"""The spoken catalogue: complete, short, and safe inside SSML."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from voice_skills import speech

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)


def test_ssml_has_a_speak_root_and_escapes_text() -> None:
    text = speech.say(
        "offer_line",
        ordinal="First",
        name="Smith & Sons <Plumbing>",
        when="tomorrow at 9:00 AM",
        reasons=["3 km away"],
    )
    document = speech.ssml(text, speech.say("offers_question", count=1, ordinals=[]))
    root = ET.fromstring(document)
    assert root.tag == "speak"
    assert "Smith & Sons <Plumbing>" in root.text


def test_every_entry_renders_short_with_its_words() -> None:
    sample = {
        "city": "Springfield",
        "message": "that time has already gone by",
        "what": "a plumber",
        "place": "Austin, TX",
        "count": 3,
        "ordinal": "First",
        "ordinals": ["first", "second", "third"],
        "name": "Ana Diaz",
        "when": "tomorrow at 9:00 AM",
        "reasons": ["3 km away"],
        "number": 42,
        "numbers": [42, 43],
        "state": "confirmed",
        "stars": 5,
        "step": "arrived",
        "last_digits": "0123",
        "day": "Thursday",
        "clock": "9:00 AM",
    }
    for key in speech.entries():
        text = speech.say(key, "en-US", **sample)
        assert text and "{" not in text, key
        # heard, not read: one breath or two
        assert len(text.split()) <= 45, key


def test_spoken_time_on_the_callers_clock() -> None:
    zone = "America/Chicago"
    assert speech.spoken_time(NOW + timedelta(hours=2), zone, NOW, "en-US") == (
        "today at 11:00 AM"
    )
    assert speech.spoken_time(NOW + timedelta(days=1), zone, NOW, "en-US") == (
        "tomorrow at 9:00 AM"
    )
    assert re.fullmatch(
        r"on \w+day at 9:00 AM",
        speech.spoken_time(NOW + timedelta(days=3), zone, NOW, "en-US"),
    )
    assert speech.spoken_time(NOW + timedelta(days=12), zone, NOW, "en-US") == (
        "on December 3 at 9:00 AM"
    )
    # an unknown locale speaks English
    assert speech.say("goodbye", "xx-XX") == "Goodbye."
