"""Phone calls through Twilio Voice: the caller talks to the same assistant.

An incoming call is greeted inside ``<Gather input="speech">`` with hints
from the catalogue's categories. Each turn's ``SpeechResult`` takes the one
inbound path (the call's sid and the turn number make its message id, so a
retried request is not a second turn), the assistant's replies are read back
with ``<Say>`` inside the next Gather, and the call ends with ``<Hangup>``
when the assistant says goodbye. Silence or speech that was not recognised
is asked again once, then the call ends politely.
"""

from __future__ import annotations

from flask import request, url_for
from sqlalchemy import select
from twilio.twiml.voice_response import Gather, VoiceResponse

from backend.api.errors import error_response
from backend.extensions import db
from backend.models import Category, Channel
from webhooks import webhooks_bp
from webhooks.relay import converse
from webhooks.render import as_speech
from webhooks.twilio import twilio_signed, twiml

VOICE = "Polly.Joanna"
LANGUAGE = "en-US"
GREETING = (
    "Hi, this is Beckon. Tell me what you need, for example: "
    "a plumber for a leak tomorrow morning."
)
NOT_HEARD = "Sorry, I didn't catch that. Could you say it again?"
GOODBYE = "I still can't hear you, so I'll hang up now. Call back any time. Goodbye."
SILENCES_BEFORE_HANGUP = 2
MAX_HINTS = 100


def speech_hints() -> str:
    """Category names and their words, to help speech recognition."""
    words: list[str] = []
    for name, synonyms in db.session.execute(select(Category.name, Category.synonyms)):
        words += [name.lower(), *(s.lower() for s in (synonyms or [])[:4])]
    unique = list(dict.fromkeys(w for w in words if len(w) <= 100))
    return ", ".join(unique[:MAX_HINTS])


def _gather(turn: int, quiet: int = 0) -> Gather:
    return Gather(
        input="speech",
        action=url_for("webhooks.voice_turn", turn=turn, quiet=quiet),
        method="POST",
        speech_timeout="auto",
        language=LANGUAGE,
        hints=speech_hints(),
        action_on_empty_result=True,
    )


def _say(node, text: str) -> None:
    for line in filter(None, (part.strip() for part in text.split("\n"))):
        node.say(line, voice=VOICE, language=LANGUAGE)


@webhooks_bp.post("/twilio/voice")
@twilio_signed
def voice_call():
    """A call comes in: greet and listen."""
    response = VoiceResponse()
    gather = _gather(turn=1)
    _say(gather, GREETING)
    response.append(gather)
    return twiml(response)


@webhooks_bp.post("/twilio/voice/turn")
@twilio_signed
def voice_turn():
    """What the caller said: the assistant's answer, then listen again."""
    caller, call = request.form.get("From", "").strip(), request.form.get("CallSid", "")
    if not caller or not call:
        return error_response(400, "missing_field", "From and CallSid are required")
    turn = request.args.get("turn", default=1, type=int)
    quiet = request.args.get("quiet", default=0, type=int)
    heard = request.form.get("SpeechResult", "").strip()
    response = VoiceResponse()
    if not heard:
        if quiet + 1 >= SILENCES_BEFORE_HANGUP:
            _say(response, GOODBYE)
            response.hangup()
            return twiml(response)
        gather = _gather(turn=turn, quiet=quiet + 1)
        _say(gather, NOT_HEARD)
        response.append(gather)
        return twiml(response)
    replies = converse(
        Channel.VOICE,
        caller,
        heard,
        message_id=f"{call}:{turn}",
        metadata={"phone": caller},
        payload={"confidence": request.form.get("Confidence"), "call": call},
    )
    spoken = "\n".join(as_speech(r) for r in replies)
    if any(r.end for r in replies):
        _say(response, spoken)
        response.hangup()
        return twiml(response)
    gather = _gather(turn=turn + 1)
    _say(gather, spoken or NOT_HEARD)
    response.append(gather)
    return twiml(response)
