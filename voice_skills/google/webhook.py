"""The two fulfillment endpoints: check the header, read the request, and
answer it as one voice turn (``records.run_turn``)."""

from __future__ import annotations

import hmac
import logging

from flask import current_app, jsonify, request

from backend.api.errors import error_response
from backend.extensions import db
from backend.models import Channel
from backend.services.inbound import Received
from voice_skills import records
from voice_skills.google.blueprint import google_bp
from voice_skills.google.conversation import Answer, Dialog
from voice_skills.google.dialogflow import EDITIONS, BadRequest, Call
from voice_skills.records import Heard, Said
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

    def turn(received: Received) -> Said:
        try:
            dialog = Dialog(desk_for(Channel.GOOGLE), received.customer, call.locale)
            answer, failed = dialog.handle(call.turn), False
        except Exception:
            log.exception("Dialogflow %s request %s failed", edition, call.request_id)
            answer, failed = _sorry(call), True
        return Said(
            shape(call, answer),
            spoken=answer.text,
            intent=answer.operation,
            end=answer.end,
            failed=failed,
        )

    heard = Heard(
        Channel.GOOGLE,
        call.user_id,
        call.turn.heard or call.turn.operation,
        request_id=call.request_id,
        locale=call.locale,
        details=call.details,
        zone=call.zone,
    )
    try:
        response = records.run_turn(
            db.session, heard, turn, sorry=lambda: shape(call, _sorry(call))
        )
    except records.Refused as exc:
        return error_response(400, "bad_request", exc.message)
    except records.InProgress:  # the first delivery is still being answered
        response = shape(call, _sorry(call))
    return jsonify(response)
