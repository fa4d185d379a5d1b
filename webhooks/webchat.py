"""Web chat: a small page at ``/chat`` that talks to the assistant in Rasa's
REST shape through ``POST /webhooks/webchat``, on the same inbound path as
every other channel.

The page carries a signed visitor token (``itsdangerous``, keyed by
SECRET_KEY): a post without a token this server issued is refused, and the
token is the visitor's identity, so a reload keeps the conversation.
"""

from __future__ import annotations

import secrets

from flask import current_app, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from backend.api.errors import error_response
from backend.models import Channel
from webhooks import webhooks_bp
from webhooks.relay import converse

TOKEN_DAYS = 30
MAX_TEXT = 2000


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="webchat")


def visitor_token(visitor: str | None = None) -> str:
    """A signed token naming a web chat visitor (a new one by default)."""
    return _serializer().dumps(visitor or "web-" + secrets.token_hex(12))


def visitor_of(token: str) -> str | None:
    try:
        return _serializer().loads(token, max_age=TOKEN_DAYS * 86400)
    except BadSignature:
        return None


def chat_page():
    """The embeddable chat page (plain HTML and JavaScript)."""
    return render_template("chat.html", token=visitor_token())


@webhooks_bp.post("/webchat")
def webchat_message():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400, "bad_body", "send JSON: {sender, message}")
    visitor = visitor_of(str(body.get("sender") or ""))
    if visitor is None:
        return error_response(
            403, "bad_visitor_token", "sender must be a token from /chat"
        )
    text = str(body.get("message") or "").strip()
    if not text:
        return error_response(400, "missing_field", "message is required")
    if len(text) > MAX_TEXT:
        return error_response(
            422, "too_long", f"a message has at most {MAX_TEXT} characters"
        )
    message_id = str(body.get("message_id") or "") or None
    replies = converse(
        Channel.WEBCHAT,
        visitor,
        text,
        message_id=f"{visitor}:{message_id}" if message_id else None,
        locale=(request.accept_languages.best or None),
    )
    return [
        {"recipient_id": visitor, "text": r.text, "buttons": r.buttons}
        if r.buttons
        else {"recipient_id": visitor, "text": r.text}
        for r in replies
    ]
