"""The spoken catalogue: complete, short, and safe inside SSML."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.services.errors import Conflict, Invalid, NotFound
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


def test_a_refusal_is_said_in_the_catalogues_words_never_the_services() -> None:
    from voice_skills.when import dialogflow_window

    cases = [
        # a code the catalogue knows
        (
            Conflict("Reyes Plumbing is not taking bookings", code="provider_inactive"),
            "refused_provider_inactive",
        ),
        (
            Invalid("that time is in the past", field="start", code="past"),
            "refused_past",
        ),
        (
            Conflict(
                "booking 5 is cancelled; it cannot be cancelled (allowed from: "
                "confirmed, held)",
                code="illegal_transition",
            ),
            "refused_illegal_transition",
        ),
        # codes it does not know: the sentence of the error's kind
        (Invalid("the window may span at most 31 days", field="to"), "refused_invalid"),
        (NotFound("booking 99 not found"), "refused_not_found"),
        (Conflict("something new", code="brand_new_code"), "refused_conflict"),
    ]
    for error, key in cases:
        said = speech.refusal(error, "en-US")
        assert said == speech.say(key, "en-US"), error
        assert error.message not in said
    # when.py's own refusals carry codes the catalogue knows
    with pytest.raises(Invalid) as caught:
        dialogflow_window("next blue moon", "America/Chicago", NOW)
    assert speech.refusal(caught.value) == "I didn't get the time."


def test_every_refusal_code_raised_for_voice_has_its_sentence() -> None:
    """The codes the services a voice turn calls can raise (read from their
    source) each have a sentence of their own."""
    root = Path(__file__).resolve().parents[2]
    sources = [
        root / "backend/services" / name
        for name in ("bookings.py", "reviews.py", "customers.py")
    ] + sorted((root / "voice_skills").rglob("*.py"))
    codes = set()
    for source in sources:
        codes |= set(re.findall(r'code="([a-z_]+)"', source.read_text()))
    assert {"slot_taken", "past", "offer_gone", "code_expired"} <= codes
    missing = {c for c in codes if f"refused_{c}" not in speech.entries()}
    assert not missing, missing


def test_a_described_job_is_not_said_back() -> None:
    """A search for a service names it; one for a job the caller described
    (``what`` None) says neither the words nor an empty gap."""
    assert speech.say("searching", what="plumbing", place="Austin, TX") == (
        "Looking for plumbing near Austin, TX."
    )
    assert speech.say("searching", what=None, place="Austin, TX") == (
        "Looking for someone who can help near Austin, TX."
    )
    assert speech.say("no_one", what=None, place="Boston, MA").startswith(
        "I couldn't find anyone near Boston, MA. Try another city"
    )
    assert speech.say("no_one", what="piano tuner", place=None).startswith(
        "I couldn't find anyone for piano tuner. Try another city"
    )
