"""Every field of a voice request made bad in turn: Alexa (signed as Amazon
signs), Dialogflow ES and CX (issue 18). Never a 5xx; a refusal writes
nothing. The chat and SMS webhooks have the same test in
tests/integration/test_webhook_bad_input.py.
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.fakes.alexa import SigningChain, envelope
from tests.fuzz import row_counts, variants
from tests.helpers import config_for_test, fixture_path, make_provider
from voice_skills.alexa import verification

DIALOGFLOW_AUTH = {"Authorization": "Bearer voice-fuzz-token"}
#: One bad value of each kind (a voice turn runs a search: each costs more
#: than a chat message's).
VALUES = [None, "", -1, 1.5, True, [], {}, "x" * 300, "nul\x00inside", 2**64]


@pytest.fixture(scope="module")
def chain() -> SigningChain:
    return SigningChain()


@pytest.fixture
def config(database_url, tmp_path, model_cache, chain, monkeypatch):
    monkeypatch.setattr(
        verification, "fetch_certificate_chain", lambda url: chain.chain_pem
    )
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        ALEXA_SKILL_ID="amzn1.ask.skill.c966b8cb-80bc-4482-8ddf-63af59ca07fc",
        ALEXA_EXTRA_TRUST_ROOTS=str(chain.write_root(tmp_path / "root.pem")),
        DIALOGFLOW_AUTH_VALUE=DIALOGFLOW_AUTH["Authorization"],
    )


def _answers(db, post, documents) -> int:
    """Post each variant; the number answered 2xx (the rest were refused)."""
    answered = 0
    for what, document in documents:
        before = row_counts(db)
        response = post(document)
        assert response.status_code < 500, (what, response.data[:300])
        if response.status_code >= 400:
            assert row_counts(db) == before, what
        else:
            answered += 1
    return answered


def test_every_bad_alexa_field_is_answered_or_refused_cleanly(client, db, chain):
    make_provider(db)
    booking = envelope(
        "alexaapp_dialog_started.json",
        user_id="amzn1.ask.account.FUZZ",
        intent="BookService",
        slots={"service": "plumber", "city": "Chicago", "date": "2030-01-07"},
    )

    def post(document):
        body = json.dumps(document).encode()
        return client.post("/webhooks/alexa", data=body, headers=chain.headers(body))

    assert _answers(db, post, [("as sent", booking)]) == 1
    assert _answers(db, post, variants(booking, VALUES)) > 0


def _es_request() -> dict:
    body = json.loads(
        fixture_path(
            "google",
            "dialogflow_es_v2",
            "requests",
            "dffulfillment_mockGoogleV2Request.json",
        ).read_text()
    )
    result = body["queryResult"]
    result["queryText"] = "book a plumber in Chicago"
    result["intent"]["displayName"] = "BookService"
    result["parameters"] = {"service": "plumbing", "geo-city": "Chicago"}
    return body


def _cx_request() -> dict:
    agent = "projects/beckon-test/locations/global/agents/0d5f0e5c"
    return {
        "detectIntentResponseId": "fuzz-1",
        "intentInfo": {
            "lastMatchedIntent": f"{agent}/intents/1",
            "displayName": "BookService",
            "parameters": {
                "service": {"originalValue": "plumber", "resolvedValue": "plumbing"}
            },
            "confidence": 1.0,
        },
        "sessionInfo": {
            "session": f"{agent}/sessions/fuzz",
            "parameters": {"service": "plumbing", "geo-city": "Chicago"},
        },
        "fulfillmentInfo": {"tag": "BookService"},
        "text": "book a plumber in Chicago",
        "languageCode": "en",
    }


@pytest.mark.parametrize(
    ("edition", "request_of"), [("es", _es_request), ("cx", _cx_request)]
)
def test_every_bad_dialogflow_field_is_answered_or_refused_cleanly(
    client, db, edition, request_of
):
    make_provider(db)

    def post(document):
        return client.post(
            f"/webhooks/dialogflow/{edition}",
            data=json.dumps(document),
            headers={**DIALOGFLOW_AUTH, "Content-Type": "application/json"},
        )

    document = request_of()
    assert _answers(db, post, [("as sent", copy.deepcopy(document))]) == 1
    assert _answers(db, post, variants(document, VALUES)) > 0
