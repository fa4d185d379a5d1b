"""One path for every message a person sends, whatever the channel.

A channel's webhook verifies its request, then hands the words here:
:func:`receive` finds or makes the customer behind the channel identity and
records the message once (a redelivery with the same channel message id is
recognised); whoever answers it first takes it with :func:`claim`, a lease
like the follow-ups' (a claim older than the lease was left by a process that
died, and is taken again; :func:`stale` finds those for beat's sweep);
:func:`keyword` handles the carrier keywords (STOP, START, HELP) on SMS and
WhatsApp and :func:`without_text` a photo or a sticker; the replies the
assistant gives are kept with :func:`record_replies`, and :func:`hold` keeps
a message for the console when the assistant could not be reached or a person
has taken the conversation over.

Inbound statuses: received -> answering (claimed) -> answered | held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    Channel,
    ChannelIdentity,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Message,
)
from backend.schemas import IdentityInput
from backend.services import delivery, leases, texts
from backend.services.conversations import conversation_of
from backend.services.customers import find_or_create_by_identity, set_opt_out
from backend.services.errors import Invalid
from backend.services.leases import Lease
from backend.shapes import map_strings

#: Twilio's default opt-out, opt-in and help keywords (the whole message,
#: any case, trailing punctuation ignored): https://help.twilio.com/articles/223134027
OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout"}
)
OPT_IN_WORDS = frozenset({"start", "yes", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
KEYWORD_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})
#: Channels whose messages come through a webhook of ours (and so through here).
WEBHOOK_CHANNELS = frozenset(
    {
        Channel.SMS,
        Channel.WHATSAPP,
        Channel.VOICE,
        Channel.MESSENGER,
        Channel.TELEGRAM,
        Channel.WEBCHAT,
    }
)
#: A message that cannot be answered after this many tries is held for a person.
MAX_ANSWER_ATTEMPTS = 5
#: The longest channel message id and sender we keep (the columns' sizes).
MAX_MESSAGE_ID, MAX_SENDER = 128, 255
MAX_DISPLAY_NAME = 120
#: A BCP 47 language tag as the customer's locale column can hold it.
LOCALE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,4})?$")

ANSWERED, HELD, ANSWERING, RECEIVED = "answered", "held", "answering", "received"


def text(kind: str, locale: str | None, **context: Any) -> str:
    """A sentence the channels say: ``messages/<language>/<kind>.channel.txt``."""
    return texts.render(kind, "channel", locale, **context)


@dataclass
class Reply:
    """One message back to the person: text and the options it offers."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    #: the assistant closed the conversation (a call hangs up after it)
    end: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": self.buttons, "end": self.end}


@dataclass
class Received:
    """A message as recorded: who sent it and whether it was seen before."""

    message: Message
    customer: Customer
    conversation: Conversation
    duplicate: bool
    #: the channel identity it came from (a phone, a page-scoped id, ...)
    sender: str = ""
    #: the claim on it, when it was recorded claimed (see :func:`receive`)
    token: str | None = None

    @property
    def earlier_replies(self) -> list[Reply]:
        return [Reply(**r) for r in (self.message.payload or {}).get("replies", [])]

    @property
    def settled(self) -> bool:
        """Answered, or held for a person: nothing more to do."""
        return self.message.status in (ANSWERED, HELD)

    @property
    def held_for_person(self) -> bool:
        return self.conversation.status == ConversationStatus.HUMAN

    @property
    def locale(self) -> str | None:
        """The language to answer in: the message's own, else the customer's."""
        return (self.message.payload or {}).get("locale") or self.customer.locale


def clean(value: Any) -> Any:
    """``value`` with what no database column takes removed: NUL characters
    and lone surrogates (in strings, however deep in lists and dicts)."""
    return map_strings(value, _storable, keys=True)


def _storable(words: str) -> str:
    return words.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def clean_locale(tag: str | None) -> str | None:
    """A locale worth keeping ("es-MX"), or None for anything else."""
    tag = (tag or "").strip().replace("_", "-")
    return tag if LOCALE_TAG.match(tag) else None


def receive(
    session: Session,
    channel: Channel,
    sender: str,
    text: str,
    *,
    message_id: str | None,
    payload: dict[str, Any] | None = None,
    locale: str | None = None,
    display_name: str | None = None,
    verified: bool | None = None,
    claim: bool = False,
    now: datetime | None = None,
) -> Received:
    """Record an inbound message once; a known ``message_id`` is a redelivery.
    ``claim``: record a new message claimed by the caller, who answers it
    now (:attr:`Received.token`), in the same transaction.

    Two deliveries at once of one new message, or two first messages at once
    from one new person, end in one message and one customer. ``verified``:
    whether the channel vouches for a caller's number (see
    :func:`~backend.services.customers.find_or_create_by_identity`).
    """
    now = now or utcnow()
    sender, text, message_id = clean(sender), clean(text), clean(message_id)
    if not sender or len(sender) > MAX_SENDER:
        raise Invalid(f"a sender has 1 to {MAX_SENDER} characters", field="sender")
    if message_id is not None and not 0 < len(message_id) <= MAX_MESSAGE_ID:
        raise Invalid(
            f"a message id has 1 to {MAX_MESSAGE_ID} characters", field="message_id"
        )
    # no "seen before?" query first: a redelivery is rare, and the unique
    # constraint on the message id finds it below (the caller rolls back)
    customer, _ = find_or_create_by_identity(
        session,
        IdentityInput(
            channel=channel.value,
            external_id=sender,
            locale=clean_locale(locale),
            display_name=clean(display_name or "").strip()[:MAX_DISPLAY_NAME] or None,
        ),
        verified=verified,
    )
    conversation = conversation_of(session, channel, customer_id=customer.id, now=now)
    session.flush()
    message = Message(
        # by id, not by the relationship, which would put the message in the
        # session (and its INSERT before the savepoint) at once
        conversation_id=conversation.id,
        direction=Direction.IN,
        channel=channel,
        external_id=message_id,
        text=text,
        payload={
            **clean(payload or {}),
            "sender": sender,
        },
        attempts=1 if claim else 0,
        status=ANSWERING if claim else RECEIVED,
        status_at=now if claim else None,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        # the same delivery, recorded a moment ago by a concurrent request
        seen = _seen(session, channel, message_id)
        if seen is None:
            raise
        return _received(session, seen, duplicate=True, sender=sender)
    token = leases.token(now) if claim else None
    return Received(message, customer, conversation, False, sender, token)


def _seen(session: Session, channel: Channel, message_id: str | None) -> Message | None:
    return session.scalar(
        select(Message).where(
            Message.channel == channel,
            Message.direction == Direction.IN,
            Message.external_id == message_id,
        )
    )


def _received(
    session: Session, message: Message, *, duplicate: bool, sender: str
) -> Received:
    conversation = message.conversation
    customer = session.get(Customer, conversation.customer_id)
    return Received(message, customer, conversation, duplicate, sender)


def received_by_id(session: Session, message_id: int, sender: str = "") -> Received:
    """A recorded inbound message, to be answered later (a task)."""
    message = session.get(Message, message_id)
    if message is None or message.direction != Direction.IN:
        raise LookupError(f"no inbound message {message_id}")
    sender = sender or (message.payload or {}).get("sender", "")
    return _received(session, message, duplicate=False, sender=sender)


# ---------------------------------------------------------------- claiming

#: Where a message keeps its claim: its status and when it was set.
LEASE = Lease(Message.id, Message.status, Message.status_at, takes=Message.attempts)


def _take(
    session: Session,
    message_id: int,
    *,
    direction: Direction,
    waiting: str,
    busy: str,
    lease_seconds: float,
    now: datetime,
) -> Message | None:
    """Move a message from ``waiting`` (or ``busy`` past the lease: its taker
    died) to ``busy`` (:meth:`Lease.take`), counting the attempt; the
    message, or None when it is not there to take."""
    taken = LEASE.take(
        session,
        message_id,
        Message.direction == direction,
        waiting=waiting,
        busy=busy,
        lease_seconds=lease_seconds,
        now=now,
    )
    if not taken:
        return None
    return session.get(Message, message_id, populate_existing=True)


def claim(
    session: Session,
    message_id: int,
    *,
    lease_seconds: float,
    now: datetime | None = None,
) -> str | None:
    """Take a message to answer it; the claim's token, or None when it is
    answered, held, or being answered by someone else within the lease.

    A message that was taken :data:`MAX_ANSWER_ATTEMPTS` times and never
    answered is held for a person (flagged) instead. The caller commits.
    """
    now = now or utcnow()
    message = _take(
        session,
        message_id,
        direction=Direction.IN,
        waiting=RECEIVED,
        busy=ANSWERING,
        lease_seconds=lease_seconds,
        now=now,
    )
    if message is None:
        return None
    if message.attempts > MAX_ANSWER_ATTEMPTS:
        hold(session, _received(session, message, duplicate=False, sender=""), "failed")
        return None
    return leases.token(now)


def holds_claim(session: Session, message: Message, token: str) -> bool:
    """Whether ``token`` is still the message's claim (the row is locked)."""
    return LEASE.holds(session, message.id, ANSWERING, token)


def release(session: Session, message_id: int, token: str) -> None:
    """Give a claim back after a failure, so the next try need not wait out
    the lease (the sweep retries after it)."""
    message = session.get(Message, message_id)
    if message is not None and holds_claim(session, message, token):
        message.status, message.status_at = RECEIVED, utcnow()


# ---------------------------------------------------------------- answering


#: The longest message that may be a carrier keyword ("UNSUBSCRIBE!!!", with
#: its spaces and stops): a longer one is words for the assistant.
KEYWORD_MAX_CHARS = 64
#: What may follow a keyword besides spaces ("Stop.", "STOP!!").
_AFTER_KEYWORD = frozenset(".!?,;:")


def keyword_of(words: str) -> str:
    """ "Stop." -> "stop": a message as a carrier reads a keyword; "" for one
    longer than a keyword can be. Linear: one pass from the end over at most
    KEYWORD_MAX_CHARS characters (a regex anchored at the end, ``[...]+$``,
    is tried from every start: quadratic on a long run of spaces or stops
    that does not end the text)."""
    words = words.strip()
    if len(words) > KEYWORD_MAX_CHARS:
        return ""
    end = len(words)
    while end and (words[end - 1].isspace() or words[end - 1] in _AFTER_KEYWORD):
        end -= 1
    return words[:end].lower()


def keyword(session: Session, received: Received) -> Reply | None:
    """The answer to a carrier keyword on SMS or WhatsApp, with the
    preference stored (follow-ups honour it); None for any other message.

    "YES" is an opt-in only for someone opted out: otherwise it is the
    answer to the assistant's question.
    """
    channel = received.message.channel
    if channel not in KEYWORD_CHANNELS:
        return None
    word = keyword_of(received.message.text)
    opted_out = channel.value in (received.customer.opt_outs or [])
    if word in OPT_OUT_WORDS:
        set_opt_out(session, received.customer.id, channel, True)
        kind = "opted_out"
    elif word in OPT_IN_WORDS and (word != "yes" or opted_out):
        set_opt_out(session, received.customer.id, channel, False)
        kind = "opted_in"
    elif word in HELP_WORDS:
        kind = "help"
    else:
        return None
    received.message.intent = f"keyword:{word}"
    return Reply(text(kind, received.locale))


def without_text(received: Received) -> Reply | None:
    """The answer to a message with no words (a photo, a sticker, a voice
    note): we read text only, so we say so; None when there are words."""
    if received.message.text.strip():
        return None
    received.message.intent = "no_text"
    return Reply(text("text_only", received.locale))


def record_replies(
    session: Session,
    received: Received,
    replies: list[Reply],
    *,
    intent: str | None = None,
    status: str = "sent",
    now: datetime | None = None,
) -> list[Message]:
    """Keep the replies with the message (a redelivery gets them again) and
    as outbound messages of the conversation, which are returned."""
    now = now or utcnow()
    inbound = received.message
    inbound.payload = {
        **(inbound.payload or {}),
        "replies": [r.as_json() for r in replies],
    }
    inbound.intent = inbound.intent or intent
    inbound.status, inbound.status_at = ANSWERED, now
    out = [
        Message(
            conversation=received.conversation,
            direction=Direction.OUT,
            channel=inbound.channel,
            text=reply.text,
            payload={"buttons": reply.buttons, "reply_to": inbound.id},
            status=status,
            created_at=now,
            status_at=now,
        )
        for reply in replies
    ]
    session.add_all(out)
    conversation = received.conversation
    if now - conversation.last_message_at > timedelta(seconds=1):
        conversation.last_message_at = now  # a late answer (not one write more)
    session.flush()
    return out


def replies_of(session: Session, message: Message) -> list[Message]:
    """The outbound messages that recorded the replies to ``message``."""
    later = session.scalars(
        select(Message)
        .where(
            Message.conversation_id == message.conversation_id,
            Message.direction == Direction.OUT,
            Message.id > message.id,
        )
        .order_by(Message.id)
        .limit(200)
    )
    return [m for m in later if (m.payload or {}).get("reply_to") == message.id]


def outbox(
    session: Session,
    channel: Channel,
    sender: str,
    *,
    after: int = 0,
    limit: int = 50,
    now: datetime | None = None,
) -> list[Message]:
    """Replies waiting for a person whose channel fetches them (web chat):
    outbound messages after ``after`` that were queued for it (a console
    reply, a late answer) or fetched before; the queued ones are delivered
    now. Nothing for a sender who never wrote."""
    customer_id = session.scalar(
        select(ChannelIdentity.customer_id).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == sender
        )
    )
    if customer_id is None:
        return []
    now = now or utcnow()
    found = session.scalars(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.customer_id == customer_id,
            Conversation.channel == channel,
            Message.direction == Direction.OUT,
            Message.id > after,
            or_(Message.status == "queued", Message.delivery_status == "delivered"),
        )
        .order_by(Message.id)
        .limit(limit)
        .with_for_update()
    ).all()
    waiting = []
    for message in found:
        if message.status == "queued":
            message.status, message.status_at = "sent", now
            message.delivery_status = "delivered"
            message.payload = {**(message.payload or {}), "via": "outbox"}
        if (message.payload or {}).get("via") == "outbox":
            waiting.append(message)
    return waiting


def hold(session: Session, received: Received, reason: str) -> None:
    """Keep a message for a person in the console: flagged, nothing lost."""
    received.message.status, received.message.status_at = HELD, utcnow()
    received.message.held_reason = reason
    if reason != "taken_over":
        received.conversation.flagged = True


#: How long after a message its intent is still looked for.
INTENT_WINDOW = timedelta(minutes=15)


def awaiting_intent(
    session: Session, *, limit: int = 500, now: datetime | None = None
) -> dict[str, list[int]]:
    """Recent messages the assistant answered whose intent is not noted yet,
    by sender: ``{sender: [message id, ...]}``."""
    since = (now or utcnow()) - INTENT_WINDOW
    rows = session.execute(
        select(Message.id, Message.payload)
        .where(
            Message.direction == Direction.IN,
            Message.channel.in_(WEBHOOK_CHANNELS),
            Message.status == ANSWERED,
            Message.intent.is_(None),
            Message.created_at >= since,
        )
        .order_by(Message.id)
        .limit(limit)
    )
    waiting: dict[str, list[int]] = {}
    for message_id, payload in rows:
        sender = (payload or {}).get("sender")
        if sender:
            waiting.setdefault(sender, []).append(message_id)
    return waiting


def set_intents(session: Session, intents: dict[int, str]) -> int:
    """Note what the assistant understood in messages it answered (a noted
    intent is kept); returns how many were noted."""
    noted = 0
    for message_id, intent in intents.items():
        noted += session.execute(
            update(Message)
            .where(Message.id == message_id, Message.intent.is_(None))
            .values(intent=intent[:80])
            .execution_options(synchronize_session=False)
        ).rowcount
    return noted


# ---------------------------------------------------------------- replies sent later

#: A reply sent by a task is tried this many times before it is failed.
MAX_SEND_ATTEMPTS = 6


def claim_reply(
    session: Session,
    reply_id: int,
    *,
    lease_seconds: float,
    now: datetime | None = None,
) -> str | None:
    """Take a queued reply to send it (or one whose sender died, past the
    lease); its claim's token, or None. A reply tried
    :data:`MAX_SEND_ATTEMPTS` times is failed instead. The caller commits."""
    now = now or utcnow()
    reply = _take(
        session,
        reply_id,
        direction=Direction.OUT,
        waiting="queued",
        busy="sending",
        lease_seconds=lease_seconds,
        now=now,
    )
    if reply is None:
        return None
    if reply.attempts > MAX_SEND_ATTEMPTS:
        reply.status, reply.error_code = "failed", "attempts"
        return None
    return leases.token(now)


def record_delivery(
    session: Session,
    reply: Message,
    token: str,
    *,
    parts_sent: int | None = None,
    external_id: str | None = None,
    status: str | None = None,
    channel_status: str | None = None,
    error_code: str | None = None,
) -> bool:
    """Note how far the sending of a claimed reply got: parts sent so far,
    or its end (``status``: "sent", "failed", or "queued" to try again
    later; ``channel_status``: what the channel said of it, e.g. Twilio's
    "queued"). False if the claim is no longer ours."""
    if not LEASE.holds(session, reply.id, "sending", token):
        return False
    if parts_sent is not None:
        reply.parts_sent = parts_sent
    if external_id:
        reply.external_id = external_id[:MAX_MESSAGE_ID]
    if error_code:
        reply.error_code = error_code[:20]
    if channel_status:
        delivery.advance(reply, channel_status)
    if status:
        reply.status, reply.status_at = status, utcnow()
    return True


# ---------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class Stale:
    """Work a process left undone: an inbound message to answer (again), or
    a reply still to be sent."""

    message_id: int
    channel: Channel
    sender: str
    #: "answer": an inbound message (its replies too); "console_reply": an
    #: admin's reply
    kind: str = "answer"


def take_stale(
    session: Session,
    *,
    lease_seconds: float,
    limit: int = 200,
    now: datetime | None = None,
) -> list[Stale]:
    """Inbound messages left received or answering past the lease, and
    replies left queued or sending past it: their process died, or queueing
    their task failed. Each is put back to be taken at once (a dead claim is
    released) and timed from now, so the next sweep does not queue it again
    before the lease. A call cannot be answered once it is over: its message
    is held for a person instead. The caller commits, then queues."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lease_seconds)
    idle = or_(
        and_(Message.status_at.is_(None), Message.created_at < cutoff),
        Message.status_at < cutoff,
    )
    left: dict[tuple[str, int], Stale] = {}
    inbound = session.scalars(
        select(Message)
        .where(
            Message.direction == Direction.IN,
            Message.channel.in_(WEBHOOK_CHANNELS),
            Message.status.in_((RECEIVED, ANSWERING)),
            idle,
        )
        .order_by(Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    for message in inbound:
        received = _received(session, message, duplicate=False, sender="")
        if message.channel == Channel.VOICE:
            hold(session, received, "call_ended")
            continue
        message.status, message.status_at = RECEIVED, now
        sender = (message.payload or {}).get("sender", "")
        left["answer", message.id] = Stale(message.id, message.channel, sender)
    # a web chat's replies wait in its outbox; a call's were spoken
    pushed = WEBHOOK_CHANNELS - {Channel.WEBCHAT, Channel.VOICE}
    replies = session.scalars(
        select(Message)
        .where(
            Message.direction == Direction.OUT,
            Message.channel.in_(pushed),
            Message.status.in_(("queued", "sending")),
            Message.follow_up_id.is_(None),
            idle,
        )
        .order_by(Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    for reply in replies:
        payload = reply.payload or {}
        if payload.get("by_admin"):
            key, kind, sender = ("console_reply", reply.id), "console_reply", ""
        elif payload.get("reply_to"):
            original = session.get(Message, payload["reply_to"])
            if original is None:
                continue
            key, kind = ("answer", original.id), "answer"
            sender = (original.payload or {}).get("sender", "")
        else:
            continue
        reply.status, reply.status_at = "queued", now
        left.setdefault(key, Stale(key[1], reply.channel, sender, kind))
    return list(left.values())
