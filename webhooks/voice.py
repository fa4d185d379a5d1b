"""Phone calls through Twilio Voice: the caller talks to the same assistant.

An incoming call is greeted inside ``<Gather input="speech">`` with hints
from the catalogue's categories. Each turn's ``SpeechResult`` takes the one
inbound path (the call's sid and the turn number make its message id, so a
retried request is not a second turn), the assistant's replies are read back
with ``<Say>`` inside the next Gather, and the call ends with ``<Hangup>``
when the assistant says goodbye. Silence or speech that was not recognised
is asked again once, then the call ends politely; so does a call the
assistant cannot answer, or one a person has taken over (they cannot speak
into it): the caller hears that someone will get back to them.

Who is calling: caller ID can be forged, so the caller's number is the
caller's identity only when the carrier attested it fully (SHAKEN/STIR,
Twilio's ``StirVerstat`` = ``TN-Validation-Passed-A``). Any other call,
and every withheld number ("anonymous", "+266696687", ...), is a person of
its own for this call (``call:<CallSid>``): they can book, but not reach
another customer's bookings or check in as a provider.
"""

from __future__ import annotations

from flask import request, url_for
from sqlalchemy import select
from twilio.twiml.voice_response import Gather, VoiceResponse

from backend.api.errors import error_response
from backend.conversation import Inbound
from backend.conversation.turn import converse
from backend.extensions import db
from backend.models import Category, Channel, Customer
from backend.services import inbound
from backend.services.phones import is_e164
from webhooks.blueprint import webhooks_bp
from webhooks.render import as_speech
from webhooks.twilio import twilio_signed, twiml

#: Twilio's speech voice and recognition language for each language we speak.
VOICES = {"en": ("Polly.Joanna", "en-US"), "es": ("Polly.Lupe", "es-US")}
DEFAULT_LANGUAGE = "en"
#: The one attestation that vouches for the caller's right to the number.
FULL_ATTESTATION = "TN-Validation-Passed-A"
#: What Twilio puts in ``From`` for a withheld number (the numbers spell
#: ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED on a keypad).
WITHHELD = frozenset(
    {
        "anonymous",
        "restricted",
        "unavailable",
        "unknown",
        "private",
        "blocked",
        "+266696687",
        "+7378742833",
        "+86282452253",
        "+2562533",
    }
)
SILENCES_BEFORE_HANGUP = 2
MAX_HINTS = 100


def speech_hints() -> str:
    """Category names and their words, to help speech recognition."""
    words: list[str] = []
    for name, synonyms in db.session.execute(select(Category.name, Category.synonyms)):
        words += [name.lower(), *(s.lower() for s in (synonyms or [])[:4])]
    unique = list(dict.fromkeys(w for w in words if len(w) <= 100))
    return ", ".join(unique[:MAX_HINTS])


def trusted_number(caller: str, attestation: str | None) -> bool:
    """Whether a call's ``From`` may stand for the caller: a real number,
    fully attested."""
    return (
        caller.lower() not in WITHHELD
        and is_e164(caller)
        and attestation == FULL_ATTESTATION
    )


class Call:
    """One call's state, carried in each Gather's action URL (which Twilio
    signs when it calls it, so it cannot be forged)."""

    def __init__(self, turn: int, quiet: int, language: str, trusted: bool) -> None:
        self.turn, self.quiet, self.trusted = turn, quiet, trusted
        self.language = language if language in VOICES else DEFAULT_LANGUAGE

    @classmethod
    def from_request(cls) -> Call:
        args = request.args
        return cls(
            args.get("turn", default=1, type=int),
            args.get("quiet", default=0, type=int),
            args.get("lang", default=DEFAULT_LANGUAGE),
            args.get("caller") == "number",
        )

    @property
    def locale(self) -> str:
        return VOICES[self.language][1]

    def text(self, kind: str) -> str:
        return inbound.text(kind, self.locale)

    def gather(self, *, turn: int, quiet: int = 0) -> Gather:
        return Gather(
            input="speech",
            action=url_for(
                "webhooks.voice_turn",
                turn=turn,
                quiet=quiet,
                lang=self.language,
                caller="number" if self.trusted else "call",
            ),
            method="POST",
            speech_timeout="auto",
            language=self.locale,
            hints=speech_hints(),
            action_on_empty_result=True,
        )

    def say(self, node, words: str) -> None:
        voice, language = VOICES[self.language]
        for line in filter(None, (part.strip() for part in words.split("\n"))):
            node.say(line, voice=voice, language=language)

    def listen(self, words: str, *, turn: int, quiet: int = 0) -> VoiceResponse:
        response = VoiceResponse()
        gather = self.gather(turn=turn, quiet=quiet)
        self.say(gather, words)
        response.append(gather)
        return response

    def end(self, words: str) -> VoiceResponse:
        response = VoiceResponse()
        self.say(response, words)
        response.hangup()
        return response


def _language_of(caller: str, trusted: bool) -> str:
    """The language of a caller we know (by an attested number)."""
    if not trusted:
        return DEFAULT_LANGUAGE
    locale = db.session.scalar(select(Customer.locale).where(Customer.phone == caller))
    return (locale or DEFAULT_LANGUAGE).split("-")[0].lower()


@webhooks_bp.post("/twilio/voice")
@twilio_signed
def voice_call():
    """A call comes in: greet and listen."""
    caller = request.form.get("From", "").strip()
    trusted = trusted_number(caller, request.form.get("StirVerstat"))
    call = Call(1, 0, _language_of(caller, trusted), trusted)
    return twiml(call.listen(call.text("voice_greeting"), turn=1))


@webhooks_bp.post("/twilio/voice/turn")
@twilio_signed
def voice_turn():
    """What the caller said: the assistant's answer, then listen again."""
    caller = request.form.get("From", "").strip()
    sid = request.form.get("CallSid", "").strip()
    if not caller or not sid:
        return error_response(400, "missing_field", "From and CallSid are required")
    call = Call.from_request()
    heard = request.form.get("SpeechResult", "").strip()
    if not heard:
        if call.quiet + 1 >= SILENCES_BEFORE_HANGUP:
            return twiml(call.end(call.text("voice_goodbye")))
        words = call.text("voice_not_heard")
        return twiml(call.listen(words, turn=call.turn, quiet=call.quiet + 1))
    trusted = call.trusted and trusted_number(caller, FULL_ATTESTATION)
    result = converse(
        Inbound(
            Channel.VOICE,
            caller if trusted else f"call:{sid}",
            heard,
            message_id=f"{sid}:{call.turn}",
            metadata={"phone": caller} if trusted else {},
            payload={
                "confidence": request.form.get("Confidence"),
                "call": sid,
                "caller": caller,
            },
            locale=call.locale,
            verified=trusted,
        )
    )
    spoken = "\n".join(as_speech(r) for r in result.replies).strip()
    if result.held or not spoken or any(r.end for r in result.replies):
        # the end: a goodbye, or nobody can answer on this call
        return twiml(call.end(spoken or call.text("voice_holding")))
    return twiml(call.listen(spoken, turn=call.turn + 1))
