"""Web chat: a small page at ``/chat`` that talks to the assistant in Rasa's
REST shape through ``POST /webhooks/webchat``, on the same inbound path as
every other channel.

The page carries a signed visitor token (``itsdangerous``, keyed by
SECRET_KEY): a post without a token this server issued is refused, and the
token is the visitor's identity, so a reload keeps the conversation. The
page sends it in the ``X-Visitor-Token`` header, checked before the body is
read (Rasa's REST shape, the body's ``sender``, is taken too); a body has at
most :data:`MAX_BODY` bytes. Each answer brings the token renewed (the same
header), so an active visitor's never expires; a page whose token did expire
gets a new one from ``POST /webhooks/webchat/token``. Minting tokens and posting are
rate-limited per address, so a script cannot make customers without end, and
posting per visitor too: counted on the visitor the token names, which every
renewal keeps, not on the token itself.

Replies that do not come in a post's answer (a person's, from the console,
when they have taken the conversation over; one the sweep answered after a
failure) wait in the visitor's outbox: the page polls
``POST /webhooks/webchat/outbox`` and they are marked delivered as it takes
them.
"""

from __future__ import annotations

import secrets

from flask import current_app, render_template, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer

from backend.api.errors import error_response
from backend.bodies import limit_body
from backend.conversation import Inbound
from backend.conversation.outbox import fetch_outbox
from backend.conversation.turn import converse
from backend.db import MAX_INTEGER
from backend.extensions import limiter
from backend.models import Channel
from backend.services import inbound
from webhooks.blueprint import webhooks_bp

TOKEN_DAYS = 30
MAX_TEXT = 2000
MAX_MESSAGE_ID = 64
#: New visitor tokens an address may take (the page, or a renewal).
TOKENS_PER_ADDRESS = "30 per hour"
#: Messages a visitor may send, and an address (many visitors behind one NAT).
POSTS_PER_VISITOR = "20 per minute"
POSTS_PER_ADDRESS = "120 per minute"
POLLS_PER_ADDRESS = "300 per minute"
TOKEN_HEADER = "X-Visitor-Token"
#: The most bytes a post's body may have: a message of MAX_TEXT characters,
#: however it is written (JSON escapes included), with its token and id.
MAX_BODY = 32 * 1024

minting = limiter.shared_limit(
    TOKENS_PER_ADDRESS, scope="webchat-token", key_func=get_remote_address
)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="webchat")


def visitor_token(visitor: str | None = None) -> str:
    """A signed token naming a web chat visitor (a new one by default)."""
    return _serializer().dumps(visitor or "web-" + secrets.token_hex(12))


def visitor_of(token: str) -> str | None:
    """The visitor a token names; None if it is forged or expired."""
    try:
        visitor = _serializer().loads(token, max_age=TOKEN_DAYS * 86400)
    except (BadSignature, UnicodeError):  # forged, expired, or not even text
        return None
    return visitor if isinstance(visitor, str) else None


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _sender() -> str:
    """The visitor's token: the header's (the body unread), else the body's
    ``sender``."""
    header = request.headers.get(TOKEN_HEADER)
    if header is not None:
        return header
    sender = _body().get("sender")
    return sender if isinstance(sender, str) else ""


def _refused():
    return error_response(
        403,
        "bad_visitor_token",
        "sender must be a live token from /chat; "
        "POST /webhooks/webchat/token gives a new one",
    )


@minting
def chat_page():
    """The embeddable chat page (plain HTML and JavaScript)."""
    locale = inbound.clean_locale(request.accept_languages.best)
    return render_template(
        "chat.html",
        token=visitor_token(),
        greeting=inbound.text("webchat_greeting", locale),
        not_sent=inbound.text("webchat_not_sent", locale),
    )


@webhooks_bp.post("/webchat/token")
@limit_body(MAX_BODY)
@minting
def webchat_token():
    """A new visitor token, for a page whose token expired."""
    return {"token": visitor_token()}


def _visitor_key() -> str:
    """What the per-visitor limit counts on: the visitor the token names,
    not the token (each answer re-signs it, so a new token every second); a
    post with no live token counts on its address."""
    visitor = visitor_of(_sender())
    if visitor is None:
        return "no-visitor:" + (get_remote_address() or "")
    return "visitor:" + visitor


@webhooks_bp.post("/webchat")
@limit_body(MAX_BODY)
@limiter.limit(POSTS_PER_ADDRESS, key_func=get_remote_address)
@limiter.limit(POSTS_PER_VISITOR, key_func=_visitor_key)
def webchat_message():
    if TOKEN_HEADER in request.headers and visitor_of(_sender()) is None:
        return _refused()  # before the body is read
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400, "bad_body", "send JSON: {sender, message}")
    visitor = visitor_of(_sender())
    if visitor is None:
        return _refused()
    message = body.get("message")
    text = (message if isinstance(message, str) else "").strip()
    if not text:
        return error_response(400, "missing_field", "message is required")
    if len(text) > MAX_TEXT:
        return error_response(
            422, "too_long", f"a message has at most {MAX_TEXT} characters"
        )
    message_id = body.get("message_id")
    if message_id is not None and not isinstance(message_id, str | int):
        return error_response(422, "bad_message_id", "message_id is a string")
    message_id = str(message_id) if message_id not in (None, "") else None
    if message_id and len(message_id) > MAX_MESSAGE_ID:
        return error_response(
            422,
            "bad_message_id",
            f"a message_id has at most {MAX_MESSAGE_ID} characters",
        )
    result = converse(
        Inbound(
            Channel.WEBCHAT,
            visitor,
            text,
            message_id=f"{visitor}:{message_id}" if message_id else None,
            locale=request.accept_languages.best or None,
        )
    )
    answer = [
        {"recipient_id": visitor, "text": r.text, "buttons": r.buttons}
        if r.buttons
        else {"recipient_id": visitor, "text": r.text}
        for r in result.replies
    ]
    return answer, 200, {TOKEN_HEADER: visitor_token(visitor)}


@webhooks_bp.post("/webchat/outbox")
@limit_body(MAX_BODY)
@limiter.limit(POLLS_PER_ADDRESS, key_func=get_remote_address)
def webchat_outbox():
    """Replies for the visitor that no post's answer carried, after the
    ``after`` id the page has: ``{"messages": [{id, text, buttons}]}``."""
    visitor = visitor_of(_sender())
    if visitor is None:
        return _refused()
    after = _body().get("after", 0)
    if type(after) is not int or not 0 <= after <= MAX_INTEGER:
        return error_response(422, "bad_after", "after is a message id (>= 0)")
    waiting = fetch_outbox(Channel.WEBCHAT, visitor, after=after)
    return {
        "messages": [
            {
                "id": m.id,
                "text": m.text,
                "buttons": (m.payload or {}).get("buttons") or [],
            }
            for m in waiting
        ]
    }
