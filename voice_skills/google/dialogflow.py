"""Dialogflow's webhook formats: requests read into a :class:`Turn`, answers
shaped as each edition expects.

- ES v2 ``WebhookRequest``: ``responseId``, ``session``, ``queryResult``
  (``queryText``, ``parameters``, ``outputContexts``, ``intent.displayName``,
  ``languageCode``), ``originalDetectIntentRequest.payload``. The answer has
  ``fulfillmentText``, ``fulfillmentMessages`` and ``outputContexts``; the
  state rides in the ``beckon-offers`` context.
- CX v3 ``WebhookRequest``: ``detectIntentResponseId``, ``fulfillmentInfo.tag``,
  ``sessionInfo`` (``session``, ``parameters``), ``intentInfo.parameters``,
  ``text``/``transcript``, ``languageCode``. The answer has
  ``fulfillmentResponse.messages`` and ``sessionInfo.parameters``; the state
  rides in session parameters under its own keys, the only ones the answer
  sets or clears (a page's form keeps its parameters). What the caller said
  this turn is read from ``intentInfo.parameters`` and the form's
  ``pageInfo.formInfo.parameterInfo`` just collected, never from older
  session parameters
  (https://cloud.google.com/dialogflow/cx/docs/reference/rest/v3/WebhookRequest,
  https://cloud.google.com/dialogflow/cx/docs/reference/rest/v3/WebhookResponse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.schemas import is_time_zone
from backend.services.phones import is_e164
from backend.shapes import as_dict
from voice_skills.google.conversation import (
    PARAMETERS,
    STATE_KEYS,
    Answer,
    Turn,
)

#: A parameter (CX session, or the query's payload) an integration may set to
#: say who the caller is. Like the phone gateway's caller id and the
#: Assistant's user id it is only a claim (whoever calls detectIntent sets
#: it): it is recorded, never used to pick the customer.
USER_ID_PARAMETER = "beckon-user-id"
#: The ES output context that carries the state between turns.
CONTEXT = "beckon-offers"
#: Turns the context outlives the last answer that set it.
CONTEXT_LIFESPAN = 5


class BadRequest(ValueError):
    """A body that is not the edition's WebhookRequest."""


@dataclass
class Call:
    """One webhook request, read."""

    edition: str  # "es" | "cx"
    request_id: str
    session: str
    locale: str | None
    turn: Turn
    #: the caller's own time zone, when the request carries one
    zone: str | None = None
    #: who the request says is calling (caller id, Assistant user id, an
    #: integration's id): nothing Google attests, so only kept in the record
    claimed: dict[str, str] | None = None

    @property
    def user_id(self) -> str:
        """Who is calling, as far as we can tell: this session. Nothing in
        the request proves more (Dialogflow's header proves only that it came
        through our agent), so, like a Twilio call whose number is not
        attested, the caller is a person of their own for the session, who
        can book but reach an existing customer's bookings only after saying
        the code texted to that customer's phone in this session."""
        return self.session

    @property
    def details(self) -> dict[str, Any]:
        """What the conversation record keeps of the request."""
        details = {
            "edition": self.edition,
            "operation": self.turn.operation,
            "parameters": self.turn.params,
            "session": self.session,
        }
        if self.claimed:
            details["unverified_caller"] = self.claimed
        return details


def _object(body: dict[str, Any], key: str, *, required: bool = True) -> dict:
    value = body.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{key} must be an object")
    return value


def _text(value: Any) -> str | None:
    """A non-empty string, or None (for anything else a request may carry)."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def caller_id(payload: dict[str, Any]) -> str | None:
    """The phone gateway's caller id (``payload.telephony.caller_id``, E.164;
    redacted on a trial agent, then not a number and not kept)."""
    number = _text(as_dict(payload.get("telephony")).get("caller_id"))
    return number if is_e164(number) else None


def claims(**claimed: str | None) -> dict[str, str] | None:
    """The ids a request claims for its caller, for the record (None if none)."""
    kept = {name: value[:255] for name, value in claimed.items() if value}
    return kept or None


def zone_of(payload: dict[str, Any]) -> str | None:
    """The caller's time zone, if the integration's payload names one: the
    Assistant's ``device.timeZone.id``, or ``timeZone`` / ``time_zone``."""
    named = as_dict(as_dict(payload.get("device")).get("timeZone")).get("id")
    for value in (named, payload.get("timeZone"), payload.get("time_zone")):
        if isinstance(value, dict):
            value = value.get("id")
        if (zone := _text(value)) and is_time_zone(zone):
            return zone
    return None


def _string(body: dict[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{where}{key} is missing")
    return value


# ---------------------------------------------------------------- ES v2


def read_es(body: Any) -> Call:
    """An ES v2 WebhookRequest; :class:`BadRequest` if it is not one."""
    if not isinstance(body, dict):
        raise BadRequest("expected a Dialogflow ES WebhookRequest object")
    request_id = _string(body, "responseId", "")
    session = _string(body, "session", "")
    result = _object(body, "queryResult")
    intent = _object(result, "intent")
    operation = _string(intent, "displayName", "queryResult.intent.")
    parameters = result.get("parameters")
    parameters = {} if parameters is None else parameters
    if not isinstance(parameters, dict):
        raise BadRequest("queryResult.parameters must be an object")
    state: dict[str, Any] = {}
    contexts = result.get("outputContexts")
    for context in contexts if isinstance(contexts, list) else []:
        if isinstance(context, dict) and str(context.get("name", "")).endswith(
            f"/contexts/{CONTEXT}"
        ):
            kept = context.get("parameters")
            kept = kept if isinstance(kept, dict) else {}
            state = {k: kept[k] for k in STATE_KEYS if k in kept}
    payload = _object(
        _object(body, "originalDetectIntentRequest", required=False),
        "payload",
        required=False,
    )
    user = as_dict(payload.get("user"))
    return Call(
        edition="es",
        request_id=request_id,
        session=session,
        claimed=claims(
            caller_id=caller_id(payload),
            user_id=_text(user.get("userId")),
            beckon_user_id=_text(payload.get(USER_ID_PARAMETER)),
        ),
        zone=zone_of(payload),
        locale=_text(user.get("locale")) or _text(result.get("languageCode")),
        turn=Turn(
            operation=operation,
            params={k: parameters[k] for k in PARAMETERS if k in parameters},
            state=state,
            heard=str(result.get("queryText") or ""),
        ),
    )


def es_response(call: Call, answer: Answer) -> dict[str, Any]:
    """The ES WebhookResponse: the text, and the state in its context (a
    lifespan of 0 ends the context when nothing is left to keep)."""
    return {
        "fulfillmentText": answer.text,
        "fulfillmentMessages": [{"text": {"text": [answer.text]}}],
        "outputContexts": [
            {
                "name": f"{call.session}/contexts/{CONTEXT}",
                "lifespanCount": CONTEXT_LIFESPAN if answer.state else 0,
                "parameters": answer.state,
            }
        ],
    }


# ---------------------------------------------------------------- CX v3


def read_cx(body: Any) -> Call:
    """A CX v3 WebhookRequest; :class:`BadRequest` if it is not one."""
    if not isinstance(body, dict):
        raise BadRequest("expected a Dialogflow CX WebhookRequest object")
    request_id = _string(body, "detectIntentResponseId", "")
    operation = _string(_object(body, "fulfillmentInfo"), "tag", "fulfillmentInfo.")
    info = _object(body, "sessionInfo")
    session = _string(info, "session", "sessionInfo.")
    kept = info.get("parameters")
    kept = {} if kept is None else kept
    if not isinstance(kept, dict):
        raise BadRequest("sessionInfo.parameters must be an object")
    params = said_this_turn(body)
    heard = body.get("text") or body.get("transcript") or body.get("triggerEvent")
    payload = _object(body, "payload", required=False)
    return Call(
        edition="cx",
        request_id=request_id,
        session=session,
        claimed=claims(
            caller_id=caller_id(payload),
            beckon_user_id=_text(kept.get(USER_ID_PARAMETER))
            or _text(payload.get(USER_ID_PARAMETER)),
        ),
        zone=zone_of(payload),
        locale=_text(body.get("languageCode")),
        turn=Turn(
            operation=operation,
            params=params,
            state={k: kept[k] for k in STATE_KEYS if kept.get(k) is not None},
            heard=str(heard or ""),
        ),
    )


def said_this_turn(body: dict[str, Any]) -> dict[str, Any]:
    """The agent's parameters the caller gave this turn: the matched intent's
    (``intentInfo.parameters[].resolvedValue``) and those a page's form has
    just collected (``pageInfo.formInfo.parameterInfo[]`` with
    ``justCollected``)."""
    params: dict[str, Any] = {}
    page = _object(body, "pageInfo", required=False)
    form = page.get("formInfo") if isinstance(page.get("formInfo"), dict) else {}
    infos = form.get("parameterInfo")
    for info in infos if isinstance(infos, list) else []:
        if not isinstance(info, dict) or not info.get("justCollected"):
            continue
        name = info.get("displayName")
        if name in PARAMETERS and info.get("value") not in (None, ""):
            params[name] = info["value"]
    matched = _object(body, "intentInfo", required=False).get("parameters")
    for name, value in (matched if isinstance(matched, dict) else {}).items():
        if name not in PARAMETERS or not isinstance(value, dict):
            continue
        if value.get("resolvedValue") not in (None, ""):
            params[name] = value["resolvedValue"]
    return params


def cx_response(call: Call, answer: Answer) -> dict[str, Any]:
    """The CX WebhookResponse: the text, and the state in session parameters
    (a null removes one of ours; no other parameter is touched)."""
    parameters = {key: answer.state.get(key) for key in STATE_KEYS}
    return {
        "fulfillmentResponse": {
            "messages": [{"text": {"text": [answer.text]}}],
            "mergeBehavior": "REPLACE",
        },
        "sessionInfo": {"parameters": parameters},
    }


EDITIONS = {"es": (read_es, es_response), "cx": (read_cx, cx_response)}
