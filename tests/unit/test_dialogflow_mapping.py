"""Reading Dialogflow requests and shaping answers, without a database.

ES requests are the real ones of tests/fixtures/google/dialogflow_es_v2
(actions-on-google-java and dialogflow-fulfillment-nodejs test bodies). CX
shapes follow Google's published reference:
https://cloud.google.com/dialogflow/cx/docs/reference/rest/v3/WebhookRequest and
https://cloud.google.com/dialogflow/cx/docs/reference/rest/v3/WebhookResponse.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.helpers import fixture_path
from voice_skills.google.conversation import (
    CANCEL,
    CHECK_IN,
    CHOOSE,
    CONFIRM,
    FALLBACK,
    FIND,
    LINK,
    RATE,
    RESCHEDULE,
    Answer,
    Dialog,
    Turn,
    answer_of,
    code_of,
    int_of,
    text_of,
    when_in,
    when_of,
)
from voice_skills.google.dialogflow import (
    BadRequest,
    cx_response,
    es_response,
    read_cx,
    read_es,
)
from voice_skills.when import dialogflow_window


def _es(name: str) -> dict:
    path = fixture_path("google", "dialogflow_es_v2", "requests", name)
    return json.loads(path.read_text())


def _es_answer(name: str) -> dict:
    path = fixture_path("google", "dialogflow_es_v2", "responses", name)
    return json.loads(path.read_text())


def _cx(**changes) -> dict:
    body = {
        "detectIntentResponseId": "6b1a8b56-0c4a-4d7e-9e0b-1f2a3b4c5d6e",
        "intentInfo": {
            "lastMatchedIntent": "projects/p/locations/global/agents/a/intents/i",
            "displayName": "book.service",
            "parameters": {
                "service": {"originalValue": "a plumber", "resolvedValue": "plumbing"}
            },
            "confidence": 0.93,
        },
        "pageInfo": {
            "currentPage": "projects/p/locations/global/agents/a/flows/f/pages/p",
            "displayName": "Book",
        },
        "sessionInfo": {
            "session": "projects/p/locations/global/agents/a/sessions/s-1",
            "parameters": {
                "geo-city": "Austin",
                "service": "plumber",
                "offers": [{"provider_id": 1}],
                "words": "a plumber",
            },
        },
        "fulfillmentInfo": {"tag": "BookService"},
        "text": "book a plumber in Austin",
        "languageCode": "en",
    }
    body.update(changes)
    return body


# ---------------------------------------------------------------- ES


def test_es_welcome_fixture_is_read_with_the_session_as_caller():
    call = read_es(_es("aogjava_dialogflow_welcome.json"))
    assert call.edition == "es"
    assert call.turn.operation == "Default Welcome Intent"
    assert call.turn.heard == "hello"
    assert call.request_id == "d054eb88-f8bc-4d7b-a5c6-7462effd0f50"
    assert call.user_id == call.session == "test"  # no user in the payload
    assert call.locale == "en"
    assert call.turn.state == {} and call.turn.params == {}


def test_es_google_fixture_s_assistant_user_is_only_a_claim():
    """The Assistant's user id is not attested: the session is the caller,
    the id is kept in the record as unverified (issue 18, item 7)."""
    body = _es("dffulfillment_mockGoogleV2Request.json")
    call = read_es(body)
    user = body["originalDetectIntentRequest"]["payload"]["user"]["userId"]
    assert call.user_id == call.session
    assert call.details["unverified_caller"] == {"user_id": user}
    assert call.locale == "en-US"
    assert call.session == "projects/stagent-f2236/agent/sessions/1515017715285"


def test_es_reads_only_its_parameters_and_its_own_context():
    body = _es("aogjava_dialogflow_with_conv_data.json")
    result = body["queryResult"]
    result["intent"]["displayName"] = "ChooseOption"
    result["parameters"] = {"ordinal": 2, "number": "", "category": "history"}
    offers = [{"provider_id": 7, "name": "A", "start": "x", "zone": "UTC"}]
    result["outputContexts"].append(
        {
            "name": body["session"] + "/contexts/beckon-offers",
            "lifespanCount": 4,
            # Dialogflow copies the intent's parameters into active contexts
            "parameters": {"offers": offers, "words": "a plumber", "ordinal": 2},
        }
    )
    call = read_es(body)
    assert call.turn.params == {"ordinal": 2, "number": ""}
    assert call.turn.state == {"offers": offers, "words": "a plumber"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "expected a Dialogflow ES WebhookRequest object"),
        ({"session": "s", "queryResult": {}}, "responseId is missing"),
        ({"responseId": "r", "queryResult": {}}, "session is missing"),
        ({"responseId": "r", "session": "s"}, "queryResult must be an object"),
        (
            {"responseId": "r", "session": "s", "queryResult": {"intent": {}}},
            "queryResult.intent.displayName is missing",
        ),
        (
            {
                "responseId": "r",
                "session": "s",
                "queryResult": {"intent": {"displayName": "X"}, "parameters": [1]},
            },
            "queryResult.parameters must be an object",
        ),
    ],
)
def test_es_malformed_requests_say_what_is_wrong(body, message):
    with pytest.raises(BadRequest, match=message):
        read_es(body)


def test_es_answer_has_text_messages_and_the_context():
    call = read_es(_es("dffulfillment_mockGoogleV2Request.json"))
    state = {"offers": [{"provider_id": 1}], "pending": {"ask": "choice"}}
    answer = es_response(call, Answer("Which one?", state, CHOOSE))
    # the same keys and message shape as dialogflow-fulfillment's text answers
    like = _es_answer("dffulfillment_responseSlackV2TextAndCard.json")
    text = {k: v for k, v in like["fulfillmentMessages"][0].items() if k != "platform"}
    assert set(_es_answer("dffulfillment_responseGoogleV2Text.json")) <= set(answer)
    assert text.keys() == answer["fulfillmentMessages"][0].keys()
    assert answer["fulfillmentText"] == "Which one?"
    assert answer["fulfillmentMessages"] == [{"text": {"text": ["Which one?"]}}]
    assert answer["outputContexts"] == [
        {
            "name": call.session + "/contexts/beckon-offers",
            "lifespanCount": 5,
            "parameters": state,
        }
    ]
    ended = es_response(call, Answer("Done.", {}, CONFIRM))
    assert ended["outputContexts"][0]["lifespanCount"] == 0


# ---------------------------------------------------------------- CX


def test_cx_request_is_read_from_tag_session_and_parameters():
    call = read_cx(_cx())
    assert call.edition == "cx"
    assert call.turn.operation == "BookService"
    assert call.request_id == "6b1a8b56-0c4a-4d7e-9e0b-1f2a3b4c5d6e"
    assert call.user_id == call.session
    assert call.session.endswith("/agents/a/sessions/s-1")
    assert call.locale == "en"
    assert call.turn.heard == "book a plumber in Austin"
    # what was said this turn (the intent's resolved value); the session's
    # parameters are older turns', or the agent's own: not read
    assert call.turn.params == {"service": "plumbing"}
    assert call.turn.state == {"offers": [{"provider_id": 1}], "words": "a plumber"}


def test_cx_reads_what_a_form_just_collected():
    body = _cx(
        pageInfo={
            "currentPage": "projects/p/locations/global/agents/a/flows/f/pages/p",
            "displayName": "Where",
            "formInfo": {
                "parameterInfo": [
                    {
                        "displayName": "geo-city",
                        "required": True,
                        "state": "FILLED",
                        "value": "Austin",
                        "justCollected": True,
                    },
                    {
                        "displayName": "date-time",
                        "required": False,
                        "state": "FILLED",
                        "value": "2026-11-23T09:00:00-06:00",
                    },
                    {"displayName": "party-size", "state": "FILLED", "value": 4},
                ]
            },
        }
    )
    call = read_cx(body)
    # the city just collected; the time was filled on an earlier turn
    assert call.turn.params == {"geo-city": "Austin", "service": "plumbing"}


def test_cx_answer_replaces_messages_and_sets_only_its_own_state():
    call = read_cx(_cx())
    state = {"words": "a plumber", "pending": {"ask": "city"}}
    answer = cx_response(call, Answer("In which city?", state, FIND))
    assert answer["fulfillmentResponse"] == {
        "messages": [{"text": {"text": ["In which city?"]}}],
        "mergeBehavior": "REPLACE",
    }
    # the agent's parameters (service, geo-city: a form may own them) are
    # left alone; only the state's keys are set or cleared
    assert answer["sessionInfo"]["parameters"] == {
        "offers": None,
        "words": "a plumber",
        "search": None,
        "chosen": None,
        "pending": {"ask": "city"},
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"detectIntentResponseId": ""}, "detectIntentResponseId is missing"),
        ({"fulfillmentInfo": {}}, "fulfillmentInfo.tag is missing"),
        ({"sessionInfo": {"parameters": {}}}, "sessionInfo.session is missing"),
        (
            {"sessionInfo": {"session": "s", "parameters": []}},
            "sessionInfo.parameters must be an object",
        ),
    ],
)
def test_cx_malformed_requests_say_what_is_wrong(changes, message):
    with pytest.raises(BadRequest, match=message):
        read_cx(_cx(**changes))


# ---------------------------------------------------------------- values


def test_cx_date_structs_become_what_the_window_reads():
    assert when_of({"year": 2026.0, "month": 11.0, "day": 22.0}) == "2026-11-22"
    assert when_of(
        {"year": 2026, "month": 11, "day": 22, "hours": 9, "minutes": 30}
    ) == {"date_time": "2026-11-22T09:30:00"}
    assert when_of({"hours": 15.0, "minutes": 0.0}) == "15:00"
    period = {
        "startDateTime": {"year": 2026, "month": 11, "day": 22, "hours": 8},
        "endDateTime": {"year": 2026, "month": 11, "day": 22, "hours": 12},
    }
    assert when_of(period) == {
        "startDateTime": "2026-11-22T08:00:00",
        "endDateTime": "2026-11-22T12:00:00",
    }
    now = datetime(2026, 11, 21, 15, tzinfo=UTC)
    window = dialogflow_window(when_of(period), "America/Chicago", now)
    assert (window.start.hour, window.end.hour) == (8, 12)
    es = "2026-11-22T12:00:00-06:00"
    assert when_of(es) == es and when_of("") is None and when_of([es]) == es


def test_cx_tomorrow_at_noon_is_noon_and_tomorrow_is_the_day():
    now = datetime(2026, 11, 21, 15, tzinfo=UTC)
    zone = "America/Chicago"
    noon = when_in(
        {"date-time": {"year": 2026, "month": 11, "day": 23, "hours": 12, "minutes": 0}}
    )
    window = dialogflow_window(noon, zone, now)
    assert (window.start.hour, window.end.hour) == (12, 14)
    day = when_in({"date-time": {"year": 2026, "month": 11, "day": 23}})
    window = dialogflow_window(day, zone, now)
    assert (window.start.hour, (window.end - window.start).days) == (0, 1)


def test_es_date_and_time_parameters_are_read_by_their_entity():
    """An agent with @sys.date and @sys.time parameters: the date's noon is a
    day, the time's noon is noon, together noon of that day."""
    now = datetime(2026, 11, 21, 15, tzinfo=UTC)
    zone = "America/Chicago"
    day = "2026-11-23T12:00:00-06:00"
    at_noon = "2026-11-21T12:00:00-06:00"  # ES gives a time on today's date
    assert when_in({"date": day}) == {"date": day}
    window = dialogflow_window(when_in({"date": day, "time": at_noon}), zone, now)
    assert (window.start.day, window.start.hour) == (23, 12)
    window = dialogflow_window(when_in({"date": day}), zone, now)
    assert (window.start.day, window.start.hour, window.end.day) == (23, 0, 24)
    assert when_in({}) is None and when_in({"date-time": ""}) is None


def test_numbers_codes_texts_and_answers():
    assert int_of(2.0) == 2 and int_of("3") == 3 and int_of([4.0]) == 4
    assert int_of("") is None and int_of(2.5) is None and int_of(None) is None
    assert code_of(12345.0) == "012345" and code_of("123 456") == "123456"
    assert code_of("") is None
    assert text_of(" Austin ") == "Austin" and text_of(["Austin"]) == "Austin"
    assert text_of("") is None and text_of({"city": "Austin"}) == "Austin"
    assert answer_of({"confirmation": "yes"}, "") is True
    assert answer_of({"confirmation": "no"}, "yes") is False
    assert answer_of({}, "yeah sure") is True
    assert answer_of({}, "no thanks") is False
    assert answer_of({}, "maybe") is None


@pytest.mark.parametrize(
    ("operation", "ask", "params", "routed"),
    [
        (CHOOSE, "stars", {"number": 5}, RATE),
        (CHOOSE, "cancel_which", {"number": 12}, CANCEL),
        (CHOOSE, "reschedule_which", {"number": 12}, RESCHEDULE),
        (CHOOSE, "job", {"number": 12}, CHECK_IN),
        (CHOOSE, "code", {"number": 123456}, LINK),
        (CHOOSE, "phone", {"number": 3125550101}, LINK),
        (CHOOSE, "choice", {"ordinal": 2}, CHOOSE),
        (FIND, "reschedule_when", {"date-time": "2026-11-22"}, RESCHEDULE),
        (FIND, "reschedule_when", {"service": "plumbing"}, FIND),
        (FALLBACK, "city", {}, FIND),
        (FALLBACK, "book", {}, FALLBACK),
        ("favorite fake color", None, {}, FALLBACK),
    ],
)
def test_an_answer_goes_to_the_question_it_answers(operation, ask, params, routed):
    dialog = Dialog(desk=None, customer=None, locale="en")  # routing only
    state = {"pending": {"ask": ask}} if ask else {}
    assert dialog._route(Turn(operation, params, state)) == routed


def test_words_not_understood_repeat_the_open_question():
    dialog = Dialog(desk=None, customer=None, locale="en")
    pending = {"ask": "book", "prompt": "Shall I book it? Say yes or no."}
    state = {"pending": pending, "words": "a plumber"}
    answer = dialog.handle(Turn(FALLBACK, {}, state, heard="purple"))
    assert answer.text == "Shall I book it? Say yes or no."
    assert answer.state == state
    answer = dialog.handle(Turn(FALLBACK, {}, {}, heard="purple"))
    assert answer.text.startswith("Sorry, I didn't get that.")
    assert answer.operation == FALLBACK


def test_a_yes_to_which_one_asks_which_again():
    dialog = Dialog(desk=None, customer=None, locale="en")
    state = {"offers": [{}, {}], "pending": {"ask": "choice"}}
    answer = dialog.handle(Turn(CONFIRM, {"confirmation": "yes"}, state))
    assert answer.text == "Which one? Say the first, the second or the third."
    assert answer.state["pending"] == {"ask": "choice"}
    answer = dialog.handle(Turn(CONFIRM, {"confirmation": "yes"}, {}))
    assert answer.text.startswith("There's nothing to say yes or no to")


# ---------------------------------------------------------------- who and where


def test_es_phone_gateway_caller_id_is_only_a_claim():
    """The gateway's caller id is kept as unverified; the session is the
    caller (issue 18, item 7)."""
    body = _es("aogjava_dialogflow_welcome.json")
    body["originalDetectIntentRequest"] = {
        "source": "GOOGLE_TELEPHONY",
        "payload": {"telephony": {"caller_id": "+18558363987"}},
    }
    call = read_es(body)
    assert call.user_id == body["session"]
    assert call.details["unverified_caller"] == {"caller_id": "+18558363987"}
    # a trial agent's redacted caller id is no number: not even kept
    body["originalDetectIntentRequest"]["payload"]["telephony"]["caller_id"] = (
        "REDACTED_IN_STANDARD_TIER_AGENT"
    )
    call = read_es(body)
    assert call.user_id == body["session"]
    assert "unverified_caller" not in call.details


def test_cx_caller_is_the_session_whatever_the_request_claims():
    from voice_skills.google.dialogflow import USER_ID_PARAMETER

    body = _cx(payload={"telephony": {"caller_id": "+16505551234"}})
    call = read_cx(body)
    assert call.user_id == call.session
    assert call.details["unverified_caller"] == {"caller_id": "+16505551234"}
    body = _cx()
    body["sessionInfo"]["parameters"][USER_ID_PARAMETER] = "member-77"
    call = read_cx(body)
    assert call.user_id == call.session
    assert call.details["unverified_caller"] == {"beckon_user_id": "member-77"}
    assert read_cx(_cx()).user_id == read_cx(_cx()).session


def test_a_zone_is_read_only_when_it_is_one():
    body = _es("dffulfillment_mockGoogleV2Request.json")
    assert read_es(body).zone is None
    payload = body["originalDetectIntentRequest"]["payload"]
    payload["device"] = {"timeZone": {"id": "America/Los_Angeles"}}
    assert read_es(body).zone == "America/Los_Angeles"
    payload["device"] = {"timeZone": {"id": "Mars/Olympus_Mons"}}
    assert read_es(body).zone is None
    assert read_cx(_cx(payload={"timeZone": "Europe/Paris"})).zone == "Europe/Paris"
    assert read_cx(_cx(payload={"time_zone": 7})).zone is None
