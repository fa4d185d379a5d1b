"""The voice dialogue Alexa and Google share, platform-neutral: a search from
what the caller asked, the offers read out (at most three), one chosen and
confirmed, booked on a yes (or its time gone: a yes then searches again),
and what the search misses asked for.

It runs over one small :class:`State` (the offers read out, the words
matched, the search so far, the offer chosen, the question waiting), kept
between turns by each platform in its own per-session store (Alexa session
attributes, Dialogflow contexts or session parameters). Each platform adapts
its request into an :class:`Asked` and a :class:`Dialogue` call, and the
result into its response. Where the platforms differ, :class:`Options` says.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, ClassVar

from backend.models import Booking, CategoryKind, Customer
from backend.services.errors import Conflict, DomainError, Invalid, NotFound
from voice_skills import speech
from voice_skills.desk import Offer, Search, VoiceDesk
from voice_skills.when import Window

#: The refusals of a booking that mean its time went meanwhile.
SLOT_GONE = frozenset({"slot_taken", "outside_working_hours"})
#: The questions a yes or a no answers here.
YES_OR_NO = frozenset({"book", "search_again"})


# ---------------------------------------------------------------- state


@dataclass
class Asked:
    """A search as the caller asked it, kept so "search again" can run it."""

    #: the service as named (or the job described, if the platform says it)
    service: str | None = None
    #: the category the platform itself resolved the words to, if any
    slug: str | None = None
    city: str | None = None
    #: by phone or video: no city needed
    online: bool = False
    #: when, in the platform's own shape (read by :attr:`Options.window`)
    when: Any = None
    #: the words describe the job rather than name a service: matched, not
    #: said back
    described: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Asked:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


@dataclass
class State:
    """What a later turn needs of this one."""

    KEYS: ClassVar[tuple[str, ...]] = ("offers", "words", "search", "chosen", "pending")

    offers: list[dict[str, Any]] = field(default_factory=list)
    #: the words matched (kept as the booking's notes)
    words: str = ""
    search: Asked | None = None
    #: the index of the offer chosen, in ``offers``
    chosen: int | None = None
    #: the question waiting for an answer: ``ask`` names it, ``prompt`` is
    #: how to ask it again, and it carries what its answer needs
    pending: dict[str, Any] | None = None

    @property
    def ask(self) -> str | None:
        """The question waiting, by name."""
        return (self.pending or {}).get("ask")

    def to_dict(self) -> dict[str, Any]:
        """The state's keys that hold something (empty ones are left out)."""
        data = {
            "offers": self.offers,
            "words": self.words,
            "search": self.search.to_dict() if self.search else None,
            "chosen": self.chosen,
            "pending": self.pending,
        }
        return {k: v for k, v in data.items() if v not in (None, [], {}, "")}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> State:
        """The state from a platform's store (other keys are ignored)."""
        data = data or {}
        search = data.get("search")
        chosen = data.get("chosen")
        return cls(
            offers=list(data.get("offers") or []),
            words=data.get("words") or "",
            search=Asked.from_dict(search) if search is not None else None,
            chosen=int(chosen) if chosen is not None else None,
            pending=dict(data["pending"]) if data.get("pending") else None,
        )

    def forget(self) -> None:
        """Nothing is waiting any more: the conversation starts afresh."""
        self.offers, self.words, self.search = [], "", None
        self.chosen = self.pending = None


# ---------------------------------------------------------------- options


def _no_announcement(text: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class Options:
    """Where a platform's dialogue differs."""

    #: the window a platform's ``Asked.when`` means on a zone's clock
    window: Callable[[Any, str, datetime], Window]
    #: no one does the job there: ask for another city (Alexa), rather than
    #: only say so (Google)
    ask_city_when_no_one: bool = False
    #: a refusal (invalid, conflict) leaves the question waiting (Google),
    #: rather than dropping it (Alexa); "not found" always drops it
    keep_question_on_refusal: bool = False
    #: said while the search runs ("Looking for plumbing near Austin"): a
    #: context the search runs in
    searching: Callable[[str], contextlib.AbstractContextManager[None]] = (
        _no_announcement
    )


# ---------------------------------------------------------------- results


@dataclass
class Ask:
    """A part of the search (``service``, ``city`` or ``when``) is missing
    or not understood: ``text`` asks for it."""

    part: str
    text: str
    #: the question alone, and the shorter one to ask again
    question: str
    reprompt: str


@dataclass
class Collecting:
    """The platform is still collecting the search's parts itself."""


@dataclass
class NoOne:
    """No one does the job there (and the platform does not ask again)."""

    text: str


@dataclass
class Offers:
    """The offers read out, and the question which one (or whether to book
    the only one)."""

    found: Search
    text: str
    question: str
    reprompt: str


@dataclass
class Chosen:
    """The offer chosen, and the question that asks to confirm it."""

    offer: Offer
    question: str
    reprompt: str


@dataclass
class NotChosen:
    """No offer by the number said: ``text`` asks which again."""

    text: str
    reprompt: str


@dataclass
class Booked:
    offer: Offer
    booking: Booking
    text: str


@dataclass
class SlotTaken:
    """The time went meanwhile: ``question`` asks whether to search again."""

    offer: Offer
    question: str
    reprompt: str


@dataclass
class OfferGone:
    """The offer to book is not among those kept."""


@dataclass
class Declined:
    text: str


Searched = Ask | Collecting | NoOne | Offers


# ---------------------------------------------------------------- the dialogue


class Dialogue:
    """One caller's turn of the shared dialogue, on one desk, over ``state``
    (changed in place)."""

    def __init__(
        self,
        desk: VoiceDesk,
        customer: Customer,
        locale: str | None,
        state: State,
        options: Options,
    ) -> None:
        self.desk = desk
        self.customer = customer
        self.locale = locale
        self.state = state
        self.options = options

    def say(self, key: str, **context: Any) -> str:
        return speech.say(key, self.locale, **context)

    # ------------------------------------------------------------ searching

    def search(self, asked: Asked, words: str, *, collecting: bool = False) -> Searched:
        """Search for ``asked`` (matching ``words``) and read the offers out,
        or ask what is missing. ``collecting``: the platform is still
        collecting the parts, so only what it cannot check (the city) is
        asked here, and otherwise :class:`Collecting` returned."""
        desk, asked = self.desk, replace(asked)
        slug = asked.slug or desk.category(asked.service)
        category = desk.category_of(slug)
        if not words and not slug:
            if collecting:
                return Collecting()
            return self._ask("service", asked, words)
        remote = category is not None and category.kind == CategoryKind.READING
        place = None
        if asked.city and not asked.online:
            try:
                place = desk.place(asked.city)
            except Invalid:
                city, asked.city = asked.city, None
                text = self.say("unknown_city", city=city)
                return self._ask("city", asked, words, text)
        elif not (remote or asked.online):
            return self._ask("city", asked, words)
        if collecting:
            return Collecting()
        zone = (place.timezone if place else None) or self.customer.timezone
        try:
            window = self.options.window(asked.when, zone, desk.now)
        except Invalid as error:
            asked.when = None
            text = speech.refusal(error, self.locale) + " " + self.say("ask_when")
            return self._ask("when", asked, words, text)
        # said back: the category, or the service as named (a description
        # is not repeated to the caller)
        what = category.name.lower() if category else None
        if what is None and not asked.described:
            what = asked.service
        label = place.label if place else None
        with self.options.searching(self.say("searching", what=what, place=label)):
            found = desk.find(
                self.customer, words or "", category=slug, place=place, window=window
            )
        return self._read_out(asked, words, found, what)

    def search_again(self) -> Searched:
        """The search kept, run once more."""
        return self.search(self.state.search or Asked(), self.state.words)

    def _read_out(
        self, asked: Asked, words: str, found: Search, what: str | None
    ) -> Searched:
        state = self.state
        label = found.place.label if found.place else None
        if not found.offers:
            if found.matched:
                asked.when = None
                text = self.say("no_one_free", place=label)
                return self._ask("when", asked, words, text)
            text = self.say("no_one", what=what, place=label)
            if self.options.ask_city_when_no_one:
                return self._ask("city", asked, words, text)
            state.search, state.words = asked, words
            state.offers, state.chosen, state.pending = [], None, None
            return NoOne(text)
        count = len(found.offers)
        said, question = speech.offers_read_out(
            found.offers, label, self.desk.now, self.locale
        )
        state.search, state.words = asked, found.words
        state.offers = [o.as_dict() for o in found.offers]
        state.chosen = 0 if count == 1 else None
        state.pending = {"ask": "book" if count == 1 else "choice", "prompt": question}
        return Offers(
            found,
            " ".join([said, question]),
            question,
            self.say("offers_reprompt", count=count),
        )

    def _ask(self, part: str, asked: Asked, words: str, text: str | None = None) -> Ask:
        question = self.say(f"ask_{part}")
        state = self.state
        state.search, state.words = asked, words
        state.offers, state.chosen = [], None
        state.pending = {"ask": part, "prompt": question}
        return Ask(part, text or question, question, self.say(f"ask_{part}_reprompt"))

    # ------------------------------------------------------------ choosing

    def choose(self, number: int | None) -> Chosen | NotChosen:
        """Offer ``number`` (1-based) of those read out, to be confirmed."""
        state = self.state
        if number is None or not 1 <= number <= len(state.offers):
            text = self.say("no_offer_chosen")
            state.pending = {"ask": "choice", "prompt": text}
            return NotChosen(text, self.say("offers_reprompt", count=len(state.offers)))
        offer = Offer.from_dict(state.offers[number - 1])
        when = speech.spoken_time(
            offer.starts_at, offer.zone, self.desk.now, self.locale
        )
        reprompt = self.say("confirm_booking_reprompt", name=offer.name, when=when)
        state.chosen = number - 1
        state.pending = {"ask": "book", "prompt": reprompt}
        return Chosen(
            offer,
            self.say("confirm_booking", name=offer.name, when=when),
            reprompt,
        )

    # ------------------------------------------------------------ yes and no

    def confirm(
        self, yes: bool
    ) -> Booked | SlotTaken | OfferGone | Declined | Searched:
        """The answer to the question waiting (one of :data:`YES_OR_NO`)."""
        if not yes:
            self.state.forget()
            return Declined(self.say("booking_declined"))
        if self.state.ask == "search_again":
            return self.search_again()
        return self.book()

    def book(self) -> Booked | SlotTaken | OfferGone:
        """Book the offer chosen; :class:`SlotTaken` if its time went."""
        state = self.state
        index = state.chosen
        if index is None or not 0 <= index < len(state.offers):
            return OfferGone()
        offer = Offer.from_dict(state.offers[index])
        try:
            booking = self.desk.book(self.customer, offer, state.words)
        except Conflict as error:
            if error.code not in SLOT_GONE:
                raise
            question = self.say("slot_taken", name=offer.name)
            state.offers, state.chosen = [], None
            state.pending = {"ask": "search_again", "prompt": question}
            return SlotTaken(offer, question, self.say("search_again_reprompt"))
        state.forget()
        when = speech.spoken_time(
            offer.starts_at, offer.zone, self.desk.now, self.locale
        )
        text = self.say("booked", name=offer.name, when=when, number=booking.id)
        return Booked(offer, booking, text)


def refused(
    state: State, error: DomainError, options: Options, locale: str | None
) -> str:
    """What to say when a service refused the turn; the question waiting is
    dropped unless the platform keeps it (:attr:`Options.keep_question_on_refusal`)."""
    if isinstance(error, NotFound) or not options.keep_question_on_refusal:
        state.pending = None
    return speech.refusal(error, locale)
