"""The shared voice dialogue run on a fake desk: no Flask, no Alexa or
Dialogflow SDK, no database."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from backend.models import CategoryKind, Customer
from backend.services.errors import Conflict, Invalid, NotFound
from voice_skills import dialog, speech
from voice_skills.desk import Offer, Search
from voice_skills.dialog import Asked, Dialogue, Options, State
from voice_skills.when import Window

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
AUSTIN = SimpleNamespace(label="Austin, TX", timezone="America/Chicago")
PLUMBING = SimpleNamespace(slug="plumbing", name="Plumbing", kind=CategoryKind.TRADE)


def _offer(n: int, name: str) -> Offer:
    start = (NOW + timedelta(days=1, hours=n)).isoformat()
    return Offer(n, name, start, "America/Chicago", [], False)


class FakeDesk:
    """What the dialogue asks of the voice desk, answered from lists."""

    now = NOW

    def __init__(self, offers: list[Offer], matched: int | None = None) -> None:
        self.offers = offers
        self.matched = len(offers) if matched is None else matched
        self.found: list[str] = []
        self.booked: list[Offer] = []
        self.taken = False

    def category(self, spoken: str | None) -> str | None:
        return "plumbing" if spoken and "plumb" in spoken else None

    def category_of(self, ref: str | None) -> Any:
        return PLUMBING if ref == "plumbing" else None

    def place(self, city: str) -> Any:
        if city != "Austin":
            raise Invalid("unknown city", field="city", code="unknown_city")
        return AUSTIN

    def find(self, customer, words, *, category, place, window) -> Search:
        self.found.append(words)
        return Search(words, category, place, window, self.offers, self.matched)

    def book(self, customer, offer: Offer, words: str = "") -> Any:
        if self.taken:
            raise Conflict("taken", code="slot_taken")
        self.booked.append(offer)
        return SimpleNamespace(id=42)


def _window(when: Any, zone: str, now: datetime) -> Window:
    if when == "never":
        raise Invalid("that time has passed", field="when", code="past")
    return Window(now, now + timedelta(days=7))


GOOGLE = Options(window=_window, keep_question_on_refusal=True)
ALEXA = Options(window=_window, ask_city_when_no_one=True)


def _dialogue(desk: FakeDesk, state: State | None = None, options=GOOGLE) -> Dialogue:
    caller = Customer(id=1, timezone="America/Chicago", locale="en-US")
    return Dialogue(desk, caller, "en-US", state or State(), options)  # type: ignore[arg-type]


def test_the_state_round_trips_through_a_dict_without_empty_keys() -> None:
    state = State(
        offers=[_offer(1, "Reyes").as_dict()],
        words="a plumber",
        search=Asked(service="plumber", city="Austin"),
        chosen=0,
        pending={"ask": "book", "prompt": "Shall I?"},
    )
    data = state.to_dict()
    assert set(data) == set(State.KEYS)
    assert State.from_dict(data) == state
    assert State().to_dict() == {}
    # other keys of the platform's store are not the dialogue's
    assert State.from_dict({"zone_asked": True, "words": "x"}).to_dict() == {
        "words": "x"
    }


def test_what_is_missing_is_asked_for() -> None:
    desk = FakeDesk([_offer(1, "Reyes")])
    asked = _dialogue(desk).search(Asked(), "")
    assert isinstance(asked, dialog.Ask) and asked.part == "service"
    assert asked.text == speech.say("ask_service", "en-US")
    d = _dialogue(desk)
    asked = d.search(Asked(service="plumber"), "plumber")
    assert (asked.part, asked.reprompt) == ("city", speech.say("ask_city_reprompt"))
    assert d.state.pending == {"ask": "city", "prompt": speech.say("ask_city")}
    assert d.state.search.service == "plumber" and desk.found == []


def test_an_unknown_city_is_asked_again_and_forgotten() -> None:
    d = _dialogue(FakeDesk([]))
    asked = d.search(Asked(service="plumber", city="Atlantis"), "plumber")
    assert asked.part == "city"
    assert asked.text == speech.say("unknown_city", "en-US", city="Atlantis")
    assert d.state.search.city is None


def test_a_when_not_understood_is_asked_again() -> None:
    d = _dialogue(FakeDesk([]))
    asked = d.search(Asked(service="plumber", city="Austin", when="never"), "plumber")
    assert asked.part == "when" and asked.text.endswith(speech.say("ask_when"))
    assert d.state.search.when is None


def test_collecting_hands_back_once_the_city_is_checked() -> None:
    desk = FakeDesk([_offer(1, "Reyes")])
    d = _dialogue(desk)
    assert isinstance(d.search(Asked(), "", collecting=True), dialog.Collecting)
    collected = d.search(Asked(service="plumber", city="Austin"), "x", collecting=True)
    assert isinstance(collected, dialog.Collecting) and desk.found == []
    assert d.state == State()


def test_offers_are_read_out_and_one_chosen_then_booked() -> None:
    desk = FakeDesk([_offer(1, "Reyes"), _offer(2, "Volt")])
    d = _dialogue(desk)
    read = d.search(Asked(service="plumber", city="Austin"), "a plumber")
    assert isinstance(read, dialog.Offers)
    assert read.text.startswith("I found 2 near Austin, TX.")
    assert d.state.pending["ask"] == "choice" and d.state.chosen is None
    assert d.state.words == "a plumber" and len(d.state.offers) == 2
    assert isinstance(d.choose(3), dialog.NotChosen)
    chosen = d.choose(2)
    assert isinstance(chosen, dialog.Chosen) and "Volt" in chosen.question
    assert d.state.chosen == 1 and d.state.pending["ask"] == "book"
    booked = d.confirm(True)
    assert isinstance(booked, dialog.Booked) and "42" in booked.text
    assert desk.booked[0].name == "Volt" and d.state == State()


def test_a_single_offer_waits_for_a_yes() -> None:
    d = _dialogue(FakeDesk([_offer(1, "Reyes")]))
    d.search(Asked(service="plumber", city="Austin"), "a plumber")
    assert d.state.chosen == 0 and d.state.pending["ask"] == "book"


def test_a_taken_time_asks_to_search_again_and_a_yes_does() -> None:
    desk = FakeDesk([_offer(1, "Reyes")])
    d = _dialogue(desk)
    d.search(Asked(service="plumber", city="Austin"), "a plumber")
    desk.taken = True
    taken = d.confirm(True)
    assert isinstance(taken, dialog.SlotTaken)
    assert taken.question == speech.say("slot_taken", "en-US", name="Reyes")
    assert d.state.ask == "search_again" and d.state.offers == []
    again = d.confirm(True)
    assert isinstance(again, dialog.Offers) and desk.found == ["a plumber"] * 2


def test_no_declines_and_forgets() -> None:
    d = _dialogue(FakeDesk([_offer(1, "Reyes")]))
    d.search(Asked(service="plumber", city="Austin"), "a plumber")
    declined = d.confirm(False)
    assert declined.text == speech.say("booking_declined", "en-US")
    assert d.state == State()


def test_an_offer_not_kept_is_gone() -> None:
    state = State(offers=[], chosen=0, pending={"ask": "book"})
    assert isinstance(_dialogue(FakeDesk([]), state).book(), dialog.OfferGone)


@pytest.mark.parametrize(("options", "asks"), [(ALEXA, True), (GOOGLE, False)])
def test_no_one_there_asks_for_the_city_only_where_the_platform_does(
    options, asks
) -> None:
    d = _dialogue(FakeDesk([], matched=0), options=options)
    found = d.search(Asked(service="plumber", city="Austin"), "a plumber")
    assert isinstance(found, dialog.Ask if asks else dialog.NoOne)
    assert found.text.startswith("I couldn't find anyone for plumbing")
    assert d.state.ask == ("city" if asks else None)


def test_no_one_free_asks_when() -> None:
    d = _dialogue(FakeDesk([], matched=2))
    found = d.search(Asked(service="plumber", city="Austin"), "a plumber")
    assert isinstance(found, dialog.Ask) and found.part == "when"


def test_a_description_is_not_said_back() -> None:
    said: list[str] = []

    def searching(text: str):
        said.append(text)
        return contextlib.nullcontext()

    options = Options(window=_window, searching=searching)
    d = _dialogue(FakeDesk([_offer(1, "Reyes")]), options=options)
    d.search(Asked(service="my tap drips", described=True, online=True), "x")
    d.search(Asked(service="a plumber", city="Austin"), "a plumber")
    assert "my tap drips" not in said[0] and "plumbing" in said[1]


@pytest.mark.parametrize(
    ("options", "error", "kept"),
    [
        (GOOGLE, Invalid("no", code="x"), True),
        (GOOGLE, NotFound("no", code="x"), False),
        (ALEXA, Invalid("no", code="x"), False),
    ],
)
def test_a_refusal_keeps_the_question_only_where_the_platform_does(
    options, error, kept
) -> None:
    state = State(words="w", pending={"ask": "book"})
    said = dialog.refused(state, error, options, "en-US")
    assert said == speech.refusal(error, "en-US")
    assert (state.pending is not None) is kept and state.words == "w"
