"""The Alexa skill: its handlers registered in one skill builder, and the
Flask endpoint Alexa posts to.

The endpoint verifies the request (the signature chain over the raw body
before it is parsed, then the timestamp, see ``verification``) and the skill
id before anything is written, records the
request once by its ``requestId`` (a redelivery gets the same answer and acts
no second time), runs the skill, and commits what the handlers did together
with the answer (``records.run_turn``). A handler that failed leaves nothing
but the record of the request and the apology. What the handlers need of the
turn (the desk, the caller) comes to them as the invocation's context, kept
in the request attributes (``handlers.base.TurnContext``).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from ask_sdk_core.api_client import DefaultApiClient
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_model import RequestEnvelope, SessionEndedRequest
from ask_sdk_model.canfulfill import CanFulfillIntentRequest
from ask_sdk_model.services import ApiConfiguration, ServiceClientFactory
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from backend import bodies
from backend.api.errors import handle_http_error
from backend.db import utcnow
from backend.extensions import db
from backend.models import Channel
from backend.schemas import is_time_zone
from backend.services.inbound import Received
from backend.shapes import as_dict
from voice_skills import records
from voice_skills.alexa.handlers import (
    EXCEPTION_HANDLERS,
    REQUEST_HANDLERS,
    REQUEST_INTERCEPTORS,
)
from voice_skills.alexa.handlers.base import TurnContext
from voice_skills.alexa.verification import (
    VerificationFailed,
    verifier_from_config,
    warn_if_checks_are_off,
)
from voice_skills.records import Heard, Said
from voice_skills.web import close_reader, desk_for

log = logging.getLogger(__name__)

alexa_bp = Blueprint("alexa", __name__)
# said when the app starts, not at the first request
alexa_bp.record_once(lambda state: warn_if_checks_are_off(state.app.config["BECKON"]))
alexa_bp.teardown_app_request(close_reader)
# a body past the webhooks' cap (413) or nested too deep (400): a JSON error
bodies.limit_bodies(alexa_bp, bodies.WEBHOOK)
alexa_bp.register_error_handler(HTTPException, handle_http_error)
#: Seconds a call to Alexa's APIs (the progressive response) may take.
ALEXA_API_TIMEOUT = 2.0
#: Seconds the Settings API may take to tell the device's time zone (asked on
#: a session's first request; without an answer the zone we have is kept).
SETTINGS_API_TIMEOUT = 1.0
#: The session attribute saying the device's zone was asked for already.
ZONE_ASKED = "zone_asked"


class TimeoutApiClient(DefaultApiClient):
    """The SDK's API client, with a timeout on every call."""

    def __init__(self, timeout: float = ALEXA_API_TIMEOUT) -> None:
        super().__init__()
        self.timeout = timeout

    def _resolve_method(self, request):  # noqa: ANN001 - the SDK's signature
        method = super()._resolve_method(request)
        return functools.partial(method, timeout=self.timeout)


def wants_zone(envelope: RequestEnvelope) -> bool:
    """Whether to ask the device's zone now: once a session, for a request
    that is answered (not the session's end, not a can-fulfill query)."""
    if envelope.session is None or isinstance(
        envelope.request, SessionEndedRequest | CanFulfillIntentRequest
    ):
        return False
    return not (envelope.session.attributes or {}).get(ZONE_ASKED)


def device_zone(skill: CustomSkill, envelope: RequestEnvelope) -> str | None:
    """The time zone the caller set for their device (Alexa Settings API,
    ``GET {apiEndpoint}/v2/devices/{deviceId}/settings/System.timeZone`` with
    the request's ``apiAccessToken``), or None when it cannot be had."""
    system = envelope.context.system if envelope.context else None
    device = system.device if system else None
    if not (system and system.api_endpoint and system.api_access_token):
        return None
    if device is None or not device.device_id:
        return None
    settings = ServiceClientFactory(
        ApiConfiguration(
            serializer=skill.serializer,
            api_client=TimeoutApiClient(SETTINGS_API_TIMEOUT),
            authorization_value=system.api_access_token,
            api_endpoint=system.api_endpoint,
        )
    ).get_ups_service()
    try:
        zone = settings.get_system_time_zone(device.device_id)
    except Exception:  # noqa: BLE001 - a courtesy: the zone we have stays
        log.info("the device's time zone could not be had", exc_info=True)
        return None
    if isinstance(zone, str) and is_time_zone(zone):
        return zone
    log.info("the Settings API gave no time zone: %r", zone)
    return None


def build_skill(skill_id: str) -> CustomSkill:
    """Every handler in one builder; the SDK also refuses other skill ids."""
    builder = CustomSkillBuilder(api_client=TimeoutApiClient())
    builder.skill_id = skill_id
    for handler in REQUEST_HANDLERS:
        builder.add_request_handler(handler())
    for handler in EXCEPTION_HANDLERS:
        builder.add_exception_handler(handler())
    for interceptor in REQUEST_INTERCEPTORS:
        builder.add_global_request_interceptor(interceptor())
    return builder.create()


def _skill_and_verifier():
    extensions = current_app.extensions
    if "beckon.alexa" not in extensions:
        config = current_app.config["BECKON"]
        extensions["beckon.alexa"] = (
            build_skill(config.ALEXA_SKILL_ID),
            verifier_from_config(config),
        )
    return extensions["beckon.alexa"]


def _refuse(status: int, code: str, message: str):
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


def _system(envelope: dict[str, Any]) -> dict:
    return as_dict(as_dict(envelope.get("context")).get("System"))


def skill_id_of(envelope: dict[str, Any]) -> str | None:
    application = _system(envelope).get("application") or as_dict(
        envelope.get("session")
    ).get("application")
    skill_id = as_dict(application).get("applicationId")
    return skill_id if isinstance(skill_id, str) else None


def user_id_of(envelope: dict[str, Any]) -> str | None:
    user = _system(envelope).get("user") or as_dict(envelope.get("session")).get("user")
    user_id = as_dict(user).get("userId")
    return user_id if isinstance(user_id, str) and user_id.strip() else None


def heard_of(envelope: dict[str, Any]) -> str:
    """The request in a line for the conversation record."""
    req = as_dict(envelope.get("request"))
    intent = as_dict(req.get("intent"))
    if not intent:
        return str(req.get("type", "?"))
    slots = " ".join(
        f"{name}={slot['value']}"
        for name, slot in sorted(as_dict(intent.get("slots")).items())
        if isinstance(slot, dict) and slot.get("value")
    )
    return f"{intent.get('name', '?')} {slots}".strip()


def spoken_of(response: dict[str, Any]) -> str:
    speech = ((response.get("response") or {}).get("outputSpeech")) or {}
    return speech.get("ssml") or speech.get("text") or ""


@alexa_bp.post("/webhooks/alexa")
def alexa_webhook():
    """Alexa's requests for the skill (HTTPS endpoint of the skill manifest)."""
    config = current_app.config["BECKON"]
    if not config.ALEXA_SKILL_ID:
        return _refuse(404, "not_configured", "the Alexa skill is not configured")
    body = request.get_data()  # at most the webhooks' cap, else 413 unread
    skill, verifier = _skill_and_verifier()
    now = utcnow()
    try:
        # the signature covers the raw bytes: nothing is parsed before it holds
        verifier.verify_body(request.headers, body, now=now)
        try:
            envelope = bodies.loads(body)
        except ValueError:  # UnicodeDecodeError too
            return _refuse(400, "bad_request", "the body is not JSON")
        if not isinstance(envelope, dict) or not isinstance(
            envelope.get("request"), dict
        ):
            return _refuse(400, "bad_request", "not an Alexa request envelope")
        verifier.verify_envelope(envelope, now=now)
    except VerificationFailed as error:
        log.warning("Alexa request refused: %s", error)
        return _refuse(400, "verification_failed", str(error))
    if skill_id_of(envelope) != config.ALEXA_SKILL_ID:
        return _refuse(400, "wrong_skill", "the request is for another skill")
    user_id = user_id_of(envelope)
    if not user_id:
        return _refuse(400, "bad_request", "the request names no user")
    try:
        request_envelope = skill.serializer.deserialize(
            payload=body.decode("utf-8"), obj_type=RequestEnvelope
        )
    except Exception as error:  # noqa: BLE001 - the SDK raises its own kinds
        return _refuse(400, "bad_request", f"not an Alexa request: {error}")

    if isinstance(request_envelope.request, CanFulfillIntentRequest):
        # a query, not a turn: answered without recording anything
        return jsonify(skill.serializer.serialize(skill.invoke(request_envelope, None)))
    req = envelope["request"]
    locale = req.get("locale")
    # asked before anything is written: no transaction waits on Amazon
    zone = (
        device_zone(skill, request_envelope) if wants_zone(request_envelope) else None
    )

    if wants_zone(request_envelope):
        request_envelope.session.attributes = {
            **(request_envelope.session.attributes or {}),
            ZONE_ASKED: True,
        }
    intent = ((req.get("intent") or {}).get("name")) or req.get("type")

    def turn(received: Received) -> Said:
        context = TurnContext(desk_for(Channel.ALEXA), received.customer)
        response = skill.serializer.serialize(
            skill.invoke(request_envelope=request_envelope, context=context)
        )
        return Said(
            response,
            spoken=spoken_of(response),
            intent=f"alexa:{intent}",
            end=bool((response.get("response") or {}).get("shouldEndSession")),
            failed=context.failed,
        )

    heard = Heard(
        Channel.ALEXA,
        user_id,
        heard_of(envelope),
        request_id=str(req.get("requestId") or "") or None,
        locale=locale if isinstance(locale, str) else None,
        details={"type": req.get("type")},
        zone=zone,
    )
    try:
        return jsonify(records.run_turn(db.session, heard, turn))
    except records.Refused as error:  # e.g. an id longer than we keep
        return _refuse(400, "bad_request", error.message)
    except records.InProgress:
        return _refuse(409, "in_progress", "this request is being answered")
