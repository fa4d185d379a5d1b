"""One Dialogflow turn, whatever the edition: an operation with its parameters
and what earlier turns kept, answered by the voice desk.

Dialogflow ES names the operation by the matched intent's display name, CX by
the fulfillment's tag; both go through :meth:`Dialog.handle`. What a later
turn needs (the offers read out, the search so far, the question waiting for
an answer) is the conversation's *state*, a plain dict the adapter keeps in
an output context (ES) or in session parameters (CX). Its keys never clash
with the agent's parameter names, which Dialogflow ES copies into every
active context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.models import (
    LIVE_BOOKING_STATUSES,
    Booking,
    BookingStatus,
    Customer,
)
from backend.services.errors import Conflict, Invalid, NotFound, Unavailable
from voice_skills import dialog
from voice_skills.desk import VoiceDesk, is_online
from voice_skills.dialog import Asked, Dialogue, SlotTaken, State
from voice_skills.speech import refusal, say, spoken_time
from voice_skills.when import dialogflow_window

# the operations: ES intent display names, CX fulfillment tags
FIND = "FindProvider"
BOOK = "BookService"
#: the job in the caller's own words (a free-text ``description``)
DESCRIBE = "DescribeJob"
CHOOSE = "ChooseOption"
CONFIRM = "ConfirmBooking"
STATUS = "JobStatus"
CANCEL = "CancelBooking"
RESCHEDULE = "RescheduleBooking"
RATE = "RateProvider"
CHECK_IN = "ProviderCheckIn"
LINK = "LinkPhone"
WELCOME = "Default Welcome Intent"
FALLBACK = "Default Fallback Intent"
OPERATIONS = (
    WELCOME,
    FALLBACK,
    FIND,
    BOOK,
    DESCRIBE,
    CHOOSE,
    CONFIRM,
    STATUS,
    CANCEL,
    RESCHEDULE,
    RATE,
    CHECK_IN,
    LINK,
)

#: The agent's parameter names (ES intent parameters, CX session parameters).
PARAMETERS = (
    "service",
    "description",
    "geo-city",
    "date-time",
    "date",
    "time",
    "number",
    "ordinal",
    "phone-number",
    "step",
    "confirmation",
    "code",
)
#: The state's keys (none of them a parameter name).
STATE_KEYS = State.KEYS
#: How Google's dialogue differs: when is a Dialogflow date or time value; no
#: one found is only said; a refusal leaves the question waiting.
OPTIONS = dialog.Options(
    window=dialogflow_window,
    ask_city_when_no_one=False,
    keep_question_on_refusal=True,
)

YES_WORDS = frozenset({"yes", "yeah", "yep", "sure", "ok", "okay", "please", "do"})
NO_WORDS = frozenset({"no", "nope", "nah", "don't", "not", "cancel", "stop"})
CHANGEABLE = (BookingStatus.HELD, BookingStatus.CONFIRMED)


@dataclass
class Turn:
    """What Dialogflow understood this turn."""

    operation: str
    params: dict[str, Any]
    state: dict[str, Any]
    heard: str = ""


@dataclass
class Answer:
    """What to say, and the state for the next turn (empty: forget it all)."""

    text: str
    state: dict[str, Any]
    operation: str
    end: bool = False


# ---------------------------------------------------------------- parameters


def text_of(value: Any) -> str | None:
    """A parameter as text; None when Dialogflow left it empty."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):  # a composite (e.g. a CX geo-city's struct)
        value = value.get("city") or value.get("original") or None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def int_of(value: Any) -> int | None:
    """A number parameter (Dialogflow sends numbers as floats) as an int."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        digits = re.sub(r"\D", "", str(value))
        return int(digits) if digits else None
    return int(number) if number.is_integer() else None


def code_of(value: Any) -> str | None:
    """A spoken six-digit code: digits as said (a number loses leading zeros)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or value == "":
        return None
    if isinstance(value, float | int):
        return f"{int(value):06d}"
    digits = re.sub(r"\D", "", str(value))
    return digits or None


def when_of(value: Any) -> Any:
    """A date-time parameter in the shapes :func:`dialogflow_window` reads.

    Dialogflow CX resolves ``@sys.date-time`` and ``@sys.date`` to structs of
    numbers (``{"year": 2026, "month": 11, "day": 22, "hours": 9, ...}``): a
    day alone is made ISO text ("2026-11-22"), a day with its hours a
    ``{"date_time": ...}`` like ES's (so noon stays noon), a time alone
    "15:00". ES values pass unchanged.
    """
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        if "date_time" in value:
            return {"date_time": _cx_text(value["date_time"])}
        if {"year", "month", "day"} <= value.keys() and "hours" in value:
            return {"date_time": _cx_text(value)}
        if {"year", "month", "day"} <= value.keys() or "hours" in value:
            return _cx_text(value)
        return {k: _cx_text(v) for k, v in value.items()}
    return value or None


def _cx_text(value: Any) -> Any:
    """A CX date or time struct as ISO text; anything else as it is."""
    if not isinstance(value, dict):
        return value
    clock = None
    if "hours" in value:
        clock = f"{int(value['hours']):02d}:{int(value.get('minutes') or 0):02d}"
    if not {"year", "month", "day"} <= value.keys():
        return clock
    day = f"{int(value['year']):04d}-{int(value['month']):02d}-"
    day += f"{int(value['day']):02d}"
    return f"{day}T{clock}:00" if clock else day


def when_in(params: dict[str, Any]) -> Any:
    """When the caller asked for, from whichever parameter carries it: the
    agent's ``date-time`` (``@sys.date-time``), or a ``date`` (``@sys.date``:
    a day, whatever clock it comes at) and a ``time`` (``@sys.time``)."""
    if params.get("date-time"):
        return when_of(params["date-time"])
    day, clock = when_of(params.get("date")), when_of(params.get("time"))
    if isinstance(day, dict):  # a CX date that came with its hours
        day = day.get("date_time")
    if isinstance(clock, dict):
        clock = clock.get("date_time")
    when = {k: v for k, v in (("date", day), ("time", clock)) if v}
    return when or None


def answer_of(params: dict[str, Any], heard: str) -> bool | None:
    """Yes (True), no (False) or neither, from the confirmation or the words."""
    said = text_of(params.get("confirmation"))
    words = set(re.findall(r"[a-z']+", (said or heard or "").lower()))
    if words & NO_WORDS:
        return False
    if words & YES_WORDS:
        return True
    return None


# ---------------------------------------------------------------- the dialog


class Dialog:
    """The answers to one caller's turns, on one desk."""

    def __init__(self, desk: VoiceDesk, customer: Customer, locale: str | None):
        self.desk = desk
        self.customer = customer
        self.locale = locale
        self._handlers = {
            WELCOME: self.welcome,
            FALLBACK: self.fallback,
            FIND: self.find,
            BOOK: self.find,
            DESCRIBE: self.find,
            CHOOSE: self.choose,
            CONFIRM: self.confirm,
            STATUS: self.status,
            CANCEL: self.cancel,
            RESCHEDULE: self.reschedule,
            RATE: self.rate,
            CHECK_IN: self.check_in,
            LINK: self.link,
        }

    # ------------------------------------------------------------ helpers

    def say(self, key: str, **context: Any) -> str:
        return say(key, self.locale, **context)

    def spoken(self, moment: datetime, zone: str) -> str:
        return spoken_time(moment, zone, self.desk.now, self.locale)

    def zone_of(self, booking: Booking) -> str:
        return self.desk.clock_of(booking, self.customer)

    def _next(
        self, turn: Turn, text: str, *, pending: dict | None = None, **changes: Any
    ) -> Answer:
        """The answer, with the state kept but for ``changes``; the question
        waiting is ``pending`` (none if not given)."""
        state = {k: v for k, v in turn.state.items() if k in STATE_KEYS}
        state.update(changes)
        state["pending"] = pending
        state = {k: v for k, v in state.items() if v not in (None, [], {}, "")}
        return Answer(text, state, turn.operation)

    def _forget(self, turn: Turn, text: str, *, end: bool = False) -> Answer:
        return Answer(text, {}, turn.operation, end=end)

    def _dialogue(self, turn: Turn) -> Dialogue:
        """The shared dialogue, over the state this turn came with."""
        state = State.from_dict(turn.state)
        return Dialogue(self.desk, self.customer, self.locale, state, OPTIONS)

    def _said(self, turn: Turn, dialogue: Dialogue, text: str) -> Answer:
        """``text``, with the state the dialogue left."""
        return Answer(text, dialogue.state.to_dict(), turn.operation)

    # ------------------------------------------------------------ routing

    def handle(self, turn: Turn) -> Answer:
        """Answer ``turn``; an answer to a waiting question goes to the
        operation that asked it, whichever intent Dialogflow matched."""
        turn.operation = self._route(turn)
        try:
            return self._handlers[turn.operation](turn)
        except (NotFound, Invalid, Conflict, Unavailable) as exc:
            state = State.from_dict(turn.state)
            text = dialog.refused(state, exc, OPTIONS, self.locale)
            return Answer(text, state.to_dict(), turn.operation)

    def _route(self, turn: Turn) -> str:
        operation = turn.operation
        if operation not in self._handlers:
            return FALLBACK
        ask = (turn.state.get("pending") or {}).get("ask")
        params = turn.params
        if operation == CHOOSE:
            return {
                "cancel_which": CANCEL,
                "reschedule_which": RESCHEDULE,
                "stars": RATE,
                "job": CHECK_IN,
                "code": LINK,
                "phone": LINK,
            }.get(ask, CHOOSE)
        if (
            operation in (FIND, BOOK)
            and ask == "reschedule_when"
            and when_in(params)
            and not text_of(params.get("service"))
        ):
            return RESCHEDULE
        if operation == FALLBACK and ask in ("service", "city"):
            return FIND  # free words: what the job is, or "online"
        return operation

    # ------------------------------------------------------------ small talk

    def welcome(self, turn: Turn) -> Answer:
        return self._forget(turn, self.say("welcome"))

    def fallback(self, turn: Turn) -> Answer:
        pending = turn.state.get("pending")
        if pending and pending.get("prompt"):  # the question still stands
            return self._next(turn, pending["prompt"], pending=pending)
        return self._next(turn, self.say("fallback"))

    # ------------------------------------------------------------ finding

    def find(self, turn: Turn) -> Answer:
        """A search from what was said: a service (one the catalogue lists,
        or not: the entity expands), or the job described; the words the
        caller said are what is matched."""
        params, state = turn.params, turn.state
        ask = (state.get("pending") or {}).get("ask")
        asked = Asked.from_dict(state.get("search"))
        words = state.get("words") or ""
        service = text_of(params.get("service"))
        description = text_of(params.get("description"))
        if service:
            if service != asked.service:
                asked = Asked(city=asked.city, online=asked.online)
            asked.service = service
            words = turn.heard or service
        elif description or (ask == "service" and turn.heard):
            # the job in their own words: the answer to "what do you need
            # done?", or a new search in the same place
            if ask != "service":
                asked = Asked(city=asked.city, online=asked.online)
            asked.service, asked.described = None, True
            words = description or turn.heard
        if city := text_of(params.get("geo-city")):
            asked.city, asked.online = city, False
        elif ask == "city" and is_online(turn.heard):
            asked.city, asked.online = None, True
        if when := when_in(params):
            asked.when = when
        dialogue = self._dialogue(turn)
        return self._said(turn, dialogue, dialogue.search(asked, words).text)

    def choose(self, turn: Turn) -> Answer:
        if not turn.state.get("offers"):
            return self.fallback(turn)
        index = int_of(turn.params.get("ordinal")) or int_of(turn.params.get("number"))
        dialogue = self._dialogue(turn)
        chosen = dialogue.choose(index)
        text = chosen.question if isinstance(chosen, dialog.Chosen) else chosen.text
        return self._said(turn, dialogue, text)

    # ------------------------------------------------------------ yes and no

    def confirm(self, turn: Turn) -> Answer:
        pending = turn.state.get("pending") or {}
        ask = pending.get("ask")
        if ask == "choice":  # a yes to "which one?"
            return self._next(turn, self.say("no_offer_chosen"), pending=pending)
        if ask not in (*dialog.YES_OR_NO, "cancel", "reschedule"):
            return self._next(turn, self.say("nothing_pending"))
        yes = answer_of(turn.params, turn.heard)
        if yes is None:
            return self._next(turn, pending.get("prompt") or "", pending=pending)
        if ask in dialog.YES_OR_NO:
            dialogue = self._dialogue(turn)
            result = dialogue.confirm(yes)
            if isinstance(result, dialog.OfferGone):
                return self._next(turn, self.say("nothing_pending"))
            text = result.question if isinstance(result, SlotTaken) else result.text
            return self._said(turn, dialogue, text)
        if not yes:
            return self._forget_pending(turn, self.say("kept"))
        booking = self.desk.own_booking(self.customer, int(pending["booking"]))
        zone = self.zone_of(booking)
        if ask == "cancel":
            try:
                self.desk.cancel(self.customer, booking.id)
            except Conflict:
                return self._cannot_change(turn, booking)
            text = self.say("cancelled", number=booking.id, name=booking.provider.name)
            return self._forget_pending(turn, text)
        start = datetime.fromisoformat(pending["start"])
        try:
            self.desk.reschedule(self.customer, booking.id, start)
        except Conflict:
            text = self.say("reschedule_none_free", name=booking.provider.name)
            prompt = self.say("reschedule_ask_when", name=booking.provider.name)
            return self._next(
                turn,
                text,
                pending={
                    "ask": "reschedule_when",
                    "booking": booking.id,
                    "prompt": prompt,
                },
            )
        when = self.spoken(start, zone)
        text = self.say("rescheduled", name=booking.provider.name, when=when)
        return self._forget_pending(turn, text)

    def _forget_pending(self, turn: Turn, text: str) -> Answer:
        return self._next(turn, text)

    # ------------------------------------------------------------ their bookings

    def status(self, turn: Turn) -> Answer:
        bookings = self.desk.upcoming(self.customer)
        if not bookings:
            return self._next(turn, self.say("status_none"))
        lines = []
        if len(bookings) > 1:
            lines.append(self.say("status_more", count=len(bookings)))
        for booking in bookings[:3]:
            lines.append(
                self.say(
                    "status_line",
                    number=booking.id,
                    name=booking.provider.name,
                    when=self.spoken(booking.starts_at, self.zone_of(booking)),
                    state=self.say(f"state_{booking.status.value}"),
                )
            )
        return self._next(turn, " ".join(lines))

    def _which(self, turn: Turn, ask: str) -> Booking | Answer:
        """The booking the caller means: the number said, their only one, or
        a question naming up to three."""
        number = int_of(turn.params.get("number"))
        pending = turn.state.get("pending") or {}
        if number is None and pending.get("ask") == f"{ask}_when":
            number = int_of(pending.get("booking"))
        if number is None:
            bookings = [
                b for b in self.desk.upcoming(self.customer) if b.status in CHANGEABLE
            ]
            if not bookings:
                return self._next(turn, self.say("status_none"))
            if len(bookings) > 1:
                numbers = [b.id for b in bookings[:3]]
                question = self.say("which_booking", numbers=numbers)
                return self._next(
                    turn,
                    question,
                    pending={"ask": f"{ask}_which", "prompt": question},
                )
            number = bookings[0].id
        try:
            booking = self.desk.own_booking(self.customer, number)
        except NotFound:
            return self._next(turn, self.say("not_your_booking", number=number))
        if booking.status not in CHANGEABLE:
            return self._cannot_change(turn, booking)
        return booking

    def _cannot_change(self, turn: Turn, booking: Booking) -> Answer:
        state = (
            self.say(f"state_{booking.status.value}")
            if booking.status in LIVE_BOOKING_STATUSES
            else (booking.status.value.replace("_", " "))
        )
        return self._next(
            turn, self.say("cannot_change", number=booking.id, state=state)
        )

    def cancel(self, turn: Turn) -> Answer:
        found = self._which(turn, "cancel")
        if isinstance(found, Answer):
            return found
        when = self.spoken(found.starts_at, self.zone_of(found))
        question = self.say(
            "cancel_confirm", number=found.id, name=found.provider.name, when=when
        )
        pending = {
            "ask": "cancel",
            "booking": found.id,
            "prompt": self.say("cancel_confirm_reprompt"),
        }
        return self._next(turn, question, pending=pending)

    def reschedule(self, turn: Turn) -> Answer:
        found = self._which(turn, "reschedule")
        if isinstance(found, Answer):
            return found
        name = found.provider.name
        asking = {
            "ask": "reschedule_when",
            "booking": found.id,
            "prompt": self.say("reschedule_ask_when", name=name),
        }
        value = when_in(turn.params)
        if not value:
            return self._next(turn, asking["prompt"], pending=asking)
        zone = self.zone_of(found)
        window = dialogflow_window(value, zone, self.desk.now)
        start = self.desk.first_free(found, window)
        if start is None:
            text = self.say("reschedule_none_free", name=name)
            return self._next(turn, text, pending=asking)
        question = self.say(
            "reschedule_confirm",
            number=found.id,
            name=name,
            when=self.spoken(start, zone),
        )
        pending = {
            "ask": "reschedule",
            "booking": found.id,
            "start": start.isoformat(),
            "prompt": question,
        }
        return self._next(turn, question, pending=pending)

    def rate(self, turn: Turn) -> Answer:
        pending = turn.state.get("pending") or {}
        if pending.get("ask") == "stars":
            booking = self.desk.own_booking(self.customer, int(pending["booking"]))
        else:
            done = self.desk.to_review(self.customer)
            if not done:
                return self._next(turn, self.say("rate_nothing"))
            booking = done[0]
        name = booking.provider.name
        asking = {
            "ask": "stars",
            "booking": booking.id,
            "prompt": self.say("rate_ask_stars_reprompt"),
        }
        stars = int_of(turn.params.get("number"))
        if stars is None:
            return self._next(
                turn, self.say("rate_ask_stars", name=name), pending=asking
            )
        if not 1 <= stars <= 5:
            return self._next(turn, self.say("rate_bad_stars"), pending=asking)
        try:
            self.desk.rate(self.customer, booking.id, stars)
        except Conflict as exc:
            if exc.code != "already_reviewed":
                raise
            return self._next(turn, self.say("already_rated"))
        return self._next(turn, self.say("rated", name=name, stars=stars))

    # ------------------------------------------------------------ providers

    def check_in(self, turn: Turn) -> Answer:
        pending = turn.state.get("pending") or {}
        waiting = pending if pending.get("ask") in ("job", "step") else {}
        job = int_of(turn.params.get("number")) or int_of(waiting.get("job"))
        step = (text_of(turn.params.get("step")) or waiting.get("step") or "").lower()
        if job is None:
            prompt = self.say("check_in_ask_job")
            pending = {"ask": "job", "step": step or None, "prompt": prompt}
            return self._next(turn, prompt, pending=pending)
        if not step:
            prompt = self.say("check_in_ask_step")
            return self._next(
                turn, prompt, pending={"ask": "step", "job": job, "prompt": prompt}
            )
        try:
            self.desk.check_in(self.customer, job, step)
        except NotFound:  # no such job, or another provider's: one answer
            return self._next(turn, self.say("check_in_not_yours", number=job))
        except Conflict as exc:
            if exc.code == "not_the_provider":
                return self._next(turn, self.say("check_in_not_provider"))
            booking = self.desk.session.get(Booking, job)
            if exc.code == "too_early":
                when = self.spoken(booking.starts_at, self.zone_of(booking))
                text = self.say("check_in_too_early", number=job, when=when)
                return self._next(turn, text)
            return self._cannot_change(turn, booking)
        return self._next(turn, self.say("check_in_done", step=step, number=job))

    # ------------------------------------------------------------ phone link

    def link(self, turn: Turn) -> Answer:
        pending = turn.state.get("pending") or {}
        said_phone = text_of(turn.params.get("phone-number"))
        if not said_phone and pending.get("ask") == "phone":
            # ten digits heard as a number (ChooseOption's @sys.number)
            said_phone = str(int_of(turn.params.get("number")) or "")
        if said_phone:
            try:  # read in the marketplace's region
                phone = self.desk.phone(said_phone)
            except Invalid:
                prompt = self.say("link_ask_phone_reprompt")
                return self._next(
                    turn,
                    self.say("link_bad_phone"),
                    pending={"ask": "phone", "prompt": prompt},
                )
            self.desk.send_phone_code(self.customer, phone)
            text = self.say("link_code_sent", last_digits=phone[-4:])
            prompt = self.say("link_ask_code_reprompt")
            return self._next(
                turn, text, pending={"ask": "code", "phone": phone, "prompt": prompt}
            )
        code = code_of(turn.params.get("code")) or code_of(turn.params.get("number"))
        if pending.get("ask") == "code" and code:
            try:
                self.customer = self.desk.confirm_phone_code(
                    self.customer, pending["phone"], code
                )
            except Invalid:
                return self._next(turn, self.say("link_wrong_code"), pending=pending)
            except Conflict as exc:
                if exc.code == "code_expired":
                    return self._next(turn, self.say("link_expired"))
                return self._next(turn, refusal(exc, self.locale))
            return self._next(turn, self.say("linked"))
        prompt = self.say("link_ask_phone")
        return self._next(
            turn,
            prompt,
            pending={"ask": "phone", "prompt": self.say("link_ask_phone_reprompt")},
        )
