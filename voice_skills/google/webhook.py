"""The two fulfillment endpoints: check the header, read the request, record
it once (and the caller's zone, if it came) and commit, answer the turn,
record the answer with what the turn did, commit."""

from __future__ import annotations

import hmac
import logging

from flask import current_app, jsonify, request

from backend.api.errors import error_response
from backend.extensions import db
from backend.models import Channel
from backend.services import customers, inbound
from backend.services.errors import DomainError
from voice_skills import records
from voice_skills.google import google_bp
from voice_skills.google.conversation import Answer, Dialog
from voice_skills.google.dialogflow import EDITIONS, BadRequest, Call
from voice_skills.speech import say
from voice_skills.web import desk_for

log = logging.getLogger(__name__)


def refusal():
    """The error response for a request without the configured header, or None."""
    config = current_app.config["BECKON"]
    expected = config.DIALOGFLOW_AUTH_VALUE
    if not expected:
        return error_response(
            503,
            "not_configured",
            "Dialogflow fulfillment is not configured (DIALOGFLOW_AUTH_VALUE)",
        )
    given = request.headers.get(config.DIALOGFLOW_AUTH_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return error_response(
            401,
            "unauthorized",
            f"the {config.DIALOGFLOW_AUTH_HEADER} header is missing or wrong",
        )
    return None


def _sorry(call: Call) -> Answer:
    """Something went wrong: say so, and keep the state as it came."""
    return Answer(say("error", call.locale), call.turn.state, call.turn.operation)


@google_bp.post("/<any(es, cx):edition>")
def fulfil(edition: str):
    if (refused := refusal()) is not None:
        return refused
    read, shape = EDITIONS[edition]
    try:
        call = read(request.get_json(silent=True))
    except BadRequest as exc:
        return error_response(400, "bad_request", str(exc))
    session = db.session
    try:
        received = records.receive(
            session,
            Channel.GOOGLE,
            call.user_id,
            call.turn.heard or call.turn.operation,
            request_id=call.request_id,
            locale=call.locale,
            details=call.details,
        )
        if received.duplicate:
            earlier = records.earlier_response(received)
            session.rollback()
            if earlier is None:  # the first delivery is still being answered
                earlier = shape(call, _sorry(call))
            return jsonify(earlier)
        if call.zone:
            customers.set_timezone(session, received.customer.id, call.zone)
        # the request is kept first, in a transaction of its own: the turn's
        # reads (matching) then hold no write lock, and a failed turn loses
        # only its own work
        session.commit()
    except DomainError as exc:  # e.g. an id longer than we keep
        session.rollback()
        return error_response(400, "bad_request", exc.message)
    except Exception:
        session.rollback()
        log.exception("Dialogflow %s request %s not kept", edition, call.request_id)
        return jsonify(shape(call, _sorry(call)))
    message_id = received.message.id
    try:
        dialog = Dialog(desk_for(Channel.GOOGLE), received.customer, call.locale)
        answer = dialog.handle(call.turn)
    except Exception:
        session.rollback()
        log.exception("Dialogflow %s request %s failed", edition, call.request_id)
        answer = _sorry(call)
    response = shape(call, answer)
    try:
        records.answer(
            session,
            inbound.received_by_id(session, message_id, call.user_id),
            spoken=answer.text,
            intent=answer.operation,
            response=response,
            end=answer.end,
        )
        session.commit()
    except Exception:
        session.rollback()
        log.exception(
            "Dialogflow %s request %s: answer not kept", edition, call.request_id
        )
        return jsonify(shape(call, _sorry(call)))
    return jsonify(response)
