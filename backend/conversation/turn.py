"""One turn of a conversation: a person's message in, the replies out.

The one path every channel's message takes after its webhook verified it and
parsed it into an :class:`Inbound`: record it (once), claim it, answer
carrier keywords and messages without words, hold it for a person when one
has taken over, else ask the assistant; keep its replies. Each function here
owns its transaction: it commits, its callers do not.

Channels that answer in the HTTP response (SMS, WhatsApp, voice, web chat)
call :func:`converse`; Messenger and Telegram record the message with
:func:`take` and a worker answers it (:func:`answer_later`), so their
webhooks reply at once.

Exactly one answer: whoever answers a message first claims it (a lease, see
``backend.services.inbound.claim``) and records its replies only while the
claim is still theirs. A redelivery of a message being answered waits for
that answer; one whose first attempt died (its claim past the lease) is
answered now.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from backend.conversation.assistant import AssistantUnreachable
from backend.conversation.context import assistant, config, lease_seconds, notifier_for
from backend.conversation.outbox import send_replies
from backend.extensions import db
from backend.models import Channel, Message
from backend.services import inbound
from backend.services.inbound import Received, Reply

log = logging.getLogger(__name__)

#: How often a redelivery looks whether the first attempt has answered.
WAIT_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Inbound:
    """A person's message as a webhook parsed it, whatever the channel."""

    channel: Channel
    #: the channel identity it came from (a phone, a page-scoped id, ...)
    sender: str
    text: str
    #: the channel's id for it, which a redelivery repeats
    message_id: str | None = None
    #: what the assistant is told besides the words (e.g. the phone)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: what is kept with the message (media, the button's title, ...)
    payload: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None
    display_name: str | None = None
    #: whether the channel vouches for a caller's number
    verified: bool | None = None


@dataclass
class Answer:
    """The replies to a message and the outbound messages that record them."""

    replies: list[Reply] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    #: why the message was held for a person, if it was
    held: str | None = None
    #: the claim was lost to another attempt: nothing was recorded here
    lost: bool = False


def take(message: Inbound, *, claim: bool = False) -> Received:
    """Record an inbound message, or recognise a redelivery (committed);
    ``claim``: a new one is recorded claimed, to be answered at once.
    A message the domain refuses (``Invalid``) is recorded not at all."""
    locale = inbound.clean_locale(message.locale)
    session = db.session
    try:
        received = inbound.receive(
            session,
            message.channel,
            message.sender,
            message.text,
            message_id=message.message_id,
            payload={**message.payload, "metadata": message.metadata, "locale": locale},
            locale=locale,
            display_name=message.display_name,
            verified=message.verified,
            claim=claim,
        )
    except Exception:
        session.rollback()
        raise
    if received.duplicate:
        session.rollback()
    else:
        session.commit()
    return received


def claim(received: Received) -> str | None:
    """Claim the message to answer it (committed): its token, or None."""
    token = inbound.claim(
        db.session, received.message.id, lease_seconds=lease_seconds()
    )
    db.session.commit()
    return token


def answer(received: Received, token: str, *, reply_status: str = "sent") -> Answer:
    """Answer a claimed message: a keyword, a message without words, nothing
    (held for a person), or the assistant's replies (a holding reply when it
    cannot be reached or has nothing to say).

    ``reply_status``: "sent" when the HTTP response carries the replies,
    "queued" when they are sent afterwards.
    """
    session = db.session
    message = received.message
    reply = inbound.keyword(session, received)
    if reply is not None:
        return _settle(received, token, [reply], reply_status)
    if received.held_for_person:
        # a call is live speech: the person who took over cannot answer it
        said = [_holding(received)] if message.channel == Channel.VOICE else []
        return _settle(received, token, said, reply_status, held="taken_over")
    reply = inbound.without_text(received)
    if reply is not None:
        return _settle(received, token, [reply], reply_status)
    extra = (message.payload or {}).get("metadata") or {}
    locale = (message.payload or {}).get("locale")
    text, channel = message.text, message.channel.value
    # no transaction stays open while the assistant works: its actions call
    # the API, which writes (on SQLite a waiting writer would stall them both)
    session.commit()
    try:
        replies = assistant().ask(
            received.sender,
            text,
            {"channel": channel, "locale": locale, **extra, "beckon_id": message.id},
        )
    except AssistantUnreachable as exc:
        log.warning("assistant unreachable for message %s: %s", message.id, exc)
        replies = []
    if not replies:
        # nothing back (e.g. its action server is down) is no answer either
        return _settle(
            received,
            token,
            [_holding(received)],
            reply_status,
            held="assistant_unreachable",
        )
    # what the assistant understood is read from its trackers later, in
    # batches (beckon.note_intents), not on the person's time
    return _settle(received, token, replies, reply_status)


def _holding(received: Received) -> Reply:
    kind = "voice_holding" if received.message.channel == Channel.VOICE else "holding"
    return Reply(inbound.text(kind, received.locale), end=True)


def _settle(
    received: Received,
    token: str,
    replies: list[Reply],
    reply_status: str,
    held: str | None = None,
) -> Answer:
    """Record the answer if the claim is still ours (committed)."""
    session = db.session
    if not inbound.holds_claim(session, received.message, token):
        session.rollback()
        log.warning("message %s was answered by another attempt", received.message.id)
        return Answer(lost=True)
    out = inbound.record_replies(session, received, replies, status=reply_status)
    if held:
        inbound.hold(session, received, held)
    session.commit()
    return Answer(replies, out, held=held)


def converse(message: Inbound) -> Answer:
    """The answer to one inbound message (the same one for a redelivery)."""
    received = take(message, claim=True)
    if not received.settled:
        token = received.token or claim(received)
        if token is not None:
            result = answer(received, token)
            if not result.lost:
                return result
    return settled_answer(received)


def settled_answer(received: Received) -> Answer:
    """The answer another attempt gave (or is giving) to a message: waited
    for while it is within its time with the assistant; empty if it is not
    done by then (that attempt answers, or the sweep takes it over)."""
    session, message = db.session, received.message
    deadline = time.monotonic() + config().RASA_TIMEOUT + 2
    while True:
        session.refresh(message)
        session.commit()
        if received.settled or time.monotonic() >= deadline:
            break
        time.sleep(WAIT_POLL_SECONDS)
    if not received.settled:
        return Answer()
    return Answer(
        received.earlier_replies,
        inbound.replies_of(session, message),
        held=message.held_reason,
    )


def answer_later(message_id: int, sender: str = "") -> int:
    """Answer a message taken earlier (Messenger, Telegram; any channel's
    that the sweep found left undone) and send the replies on its channel;
    returns how many were sent now.

    Safe to run twice, or at once: the message is answered under a claim,
    each reply sent under a claim of its own. A failure gives the claim back
    and raises, so the caller (a Celery task) retries; a process that dies
    leaves a claim the sweep takes back after the lease.
    """
    session = db.session
    try:
        received = inbound.received_by_id(session, message_id, sender)
    except LookupError:
        return 0  # erased, or never ours
    token = claim(received)
    if token is not None:
        try:
            answer(received, token, reply_status="queued")
        except Exception:
            session.rollback()
            inbound.release(session, message_id, token)
            session.commit()
            raise
        notifier_for(received.message.channel).acknowledge(
            received.message.payload or {}
        )
    return send_replies(received)
