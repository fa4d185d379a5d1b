"""Behind a TLS proxy (BECKON_TRUSTED_PROXIES=1, no BECKON_PUBLIC_URL): the
URL Twilio signed is the one the proxy forwarded, not the proxy's own hop."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from tests.helpers import config_for_test

TOKEN = "proxy-test-token"


@pytest.fixture
def config(database_url, tmp_path, model_cache, rasa):
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        TWILIO_AUTH_TOKEN=TOKEN,
        TRUSTED_PROXIES=1,
        RASA_URL=rasa.url,
    )


def _post(client, headers):
    params = {"From": "+13125550101", "Body": "hi", "MessageSid": "SM" + "d" * 32}
    signature = RequestValidator(TOKEN).compute_signature(
        "https://beckon.example.com/webhooks/twilio/sms", params
    )
    return client.post(
        "/webhooks/twilio/sms",
        data=params,
        headers={"X-Twilio-Signature": signature, **headers},
    )


def test_the_forwarded_https_address_is_what_is_checked(client, rasa):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "beckon.example.com"}
    assert _post(client, forwarded).status_code == 200
    assert len(rasa.received) == 1


def test_without_the_proxy_s_headers_the_signature_does_not_match(client, rasa):
    assert _post(client, {}).status_code == 403
    spoofed = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.com"}
    assert _post(client, spoofed).status_code == 403
    assert rasa.received == []
