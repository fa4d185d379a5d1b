"""Replies going out: the assistant's queued replies, a person's reply from
the console, the web chat's outbox, and what the channels report back.

Each reply is sent under a claim of its own (``inbound.claim_reply``) with a
key of its own, in the parts its channel's notifier cuts it into; how far it
got is recorded after each part, so a retry sends only the rest. Each
function here commits; its callers do not.
"""

from __future__ import annotations

import logging

from backend.conversation.context import lease_seconds, notifier_for
from backend.db import utcnow
from backend.extensions import db
from backend.models import Channel, Direction, Message
from backend.notifiers import DeliveryError, Outgoing, Receipt
from backend.services import delivery, inbound
from backend.services.conversations import messenger_tag, reply_address
from backend.services.inbound import Received

log = logging.getLogger(__name__)


def _send_failed(
    reply: Message, token: str, exc: DeliveryError, error_code: str | None
) -> None:
    """Note a claimed reply's failed send (committed): failed for good when
    the channel says so, else queued again, and raised so the caller (a
    Celery task) retries with backoff."""
    status = "failed" if exc.permanent else "queued"
    inbound.record_delivery(
        db.session, reply, token, status=status, error_code=error_code
    )
    db.session.commit()
    if not exc.permanent:
        raise ConnectionError(str(exc)) from exc


def _sent(reply: Message, token: str, receipt: Receipt) -> None:
    """Note a claimed reply's send and what its channel said of it (committed)."""
    inbound.record_delivery(
        db.session,
        reply,
        token,
        external_id=receipt.external_id,
        status="sent",
        channel_status=receipt.status,
    )
    db.session.commit()


def send_replies(received: Received) -> int:
    """Send the message's queued replies, each in the parts its channel
    takes, the choices with the last part; returns how many were sent. A web
    chat's wait in its outbox."""
    message, session = received.message, db.session
    if message.channel == Channel.WEBCHAT:
        return 0
    notifier = notifier_for(message.channel)
    sent = 0
    replies = inbound.replies_of(session, message)
    for i, row in enumerate(replies):
        token = inbound.claim_reply(session, row.id, lease_seconds=lease_seconds())
        session.commit()
        if token is None:
            continue
        buttons = (row.payload or {}).get("buttons") or []
        parts = notifier.parts(message.channel, row.text) or [""]
        done = row.parts_sent
        try:
            for j in range(done, len(parts)):
                receipt = notifier.send(
                    Outgoing(
                        channel=message.channel,
                        to=received.sender,
                        body=parts[j],
                        key=f"reply:{message.id}:{i}:{j}",
                        since=row.created_at,
                        options=tuple((b["title"], b["payload"]) for b in buttons)
                        if j == len(parts) - 1
                        else (),
                    )
                )
                inbound.record_delivery(session, row, token, parts_sent=j + 1)
                session.commit()
        except DeliveryError as exc:
            log.warning("reply %s to message %s: %s", i, message.id, exc)
            _send_failed(row, token, exc, exc.code)
            continue
        _sent(row, token, receipt)
        sent += 1
    return sent


def _status_of(message: Message) -> str:
    """What became of an outbound message: its channel's word once sent."""
    return message.delivery_status or message.status


def send_console_reply(message_id: int) -> str:
    """Send a reply an admin wrote in the console on its conversation's
    channel; returns what became of it (:func:`_status_of`). Sent once: only
    a "queued" message is sent, under a claim and a key of its own. A web
    chat's waits in the visitor's outbox (the page fetches it) and stays
    "queued" until then."""
    session = db.session
    message = session.get(Message, message_id)
    if message is None or message.direction != Direction.OUT:
        return "missing"
    if message.status != "queued" or message.channel == Channel.WEBCHAT:
        return _status_of(message)
    to = reply_address(session, message)
    if not to:
        message.status, message.error_code = "failed", "no_address"
        session.commit()
        return _status_of(message)
    channel = message.channel
    tag = (
        messenger_tag(session, message.conversation.customer_id, now=utcnow())
        if channel == Channel.MESSENGER
        else None
    )
    outgoing = Outgoing(
        channel=channel,
        to=to,
        body=message.text,
        key=f"console:{message.id}",
        since=message.created_at,
        tag=tag,
    )
    notifier = notifier_for(channel)
    token = inbound.claim_reply(session, message.id, lease_seconds=lease_seconds())
    session.commit()
    if token is None:
        return _status_of(message)
    retried = message.attempts > 1
    try:
        # an earlier attempt may have got through before its worker died
        receipt = (retried and notifier.find_sent(outgoing)) or notifier.send(outgoing)
    except DeliveryError as exc:
        fallback = "failed" if exc.permanent else "queued"
        _send_failed(message, token, exc, exc.code or fallback)
        return _status_of(message)
    _sent(message, token, receipt)
    return _status_of(message)


def fetch_outbox(channel: Channel, sender: str, *, after: int = 0) -> list[Message]:
    """The replies waiting for a person whose channel fetches them (web
    chat), marked delivered (committed); see ``inbound.outbox``."""
    waiting = inbound.outbox(db.session, channel, sender, after=after)
    db.session.commit()
    return waiting


def note_delivery_status(
    external_id: str,
    status: str,
    *,
    error_code: str | None = None,
    message_id: int | None = None,
) -> Message | None:
    """A channel's report on a message we sent (committed); the message, or
    None when it is not one of ours."""
    message = delivery.apply_delivery_status(
        db.session, external_id, status, error_code=error_code, message_id=message_id
    )
    db.session.commit()
    return message
