"""Customers: one record across channels, linked by a phone code."""

import re

from sqlalchemy import func, select

from backend.models import Booking, Customer, PhoneVerification
from tests.helpers import days_ahead, local, make_provider


def _identify(api, channel, external_id):
    return api.post(
        "/api/v1/customers/identify",
        json={"channel": channel, "external_id": external_id},
    )


def _code(app):
    sms = app.extensions["beckon.notifiers"].log.sent[-1]
    return re.search(r"\b(\d{6})\b", sms["body"]).group(1)


def test_identify_creates_once_then_finds(api):
    first = _identify(api, "telegram", "777")
    assert first.status_code == 201 and first.get_json()["created"] is True
    again = _identify(api, "telegram", "777")
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]


def test_sms_and_whatsapp_of_one_phone_are_one_customer(api):
    sms = _identify(api, "sms", "+13125550111").get_json()
    wa = _identify(api, "whatsapp", "whatsapp:+13125550111").get_json()
    assert sms["id"] == wa["id"]
    assert {i["channel"] for i in wa["identities"]} == {"sms", "whatsapp"}


def test_a_phone_identity_written_nationally_is_the_number_twilio_sends(api, db):
    """An SMS identity "(312) 555-0133" is +13125550133: the customer a text
    from that number (Twilio's From, in E.164) will find."""
    sms = _identify(api, "sms", "(312) 555-0133")
    assert sms.status_code == 201
    assert sms.get_json()["phone"] == "+13125550133"
    wa = _identify(api, "whatsapp", "whatsapp:312.555.0133").get_json()
    assert wa["id"] == sms.get_json()["id"]
    assert {i["external_id"] for i in wa["identities"]} == {
        "+13125550133",
        "whatsapp:+13125550133",
    }
    assert _identify(api, "sms", "+13125550133").status_code == 200
    # a call's identity may be the call's own id, kept as it is
    call = _identify(api, "voice", "CA5f0c2b1e").get_json()
    assert call["phone"] is None


def test_an_sms_identity_that_is_no_phone_number_is_refused_and_nothing_kept(api, db):
    before = db.scalar(select(func.count()).select_from(Customer))
    response = _identify(api, "sms", "12")
    assert response.status_code == 422
    detail = response.get_json()["error"]["details"][0]
    assert detail["field"] == "external_id"
    assert "SMS identity is a phone number" in detail["message"]
    assert "too short" in detail["message"]
    assert db.scalar(select(func.count()).select_from(Customer)) == before


def test_bad_identity_is_422(api):
    response = api.post(
        "/api/v1/customers/identify",
        json={"channel": "carrier-pigeon", "external_id": "x"},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "channel"


def test_phone_code_links_alexa_to_the_sms_customer(api, app, db):
    sms_customer = _identify(api, "sms", "+13125550122").get_json()
    provider = make_provider(db)
    api.post(
        "/api/v1/bookings",
        json={
            "provider_id": provider.id,
            "customer_id": sms_customer["id"],
            "start": local(days_ahead(2), 10).isoformat(),
            "confirm": True,
        },
    )
    alexa = _identify(api, "alexa", "amzn1.ask.account.TEST").get_json()
    assert alexa["id"] != sms_customer["id"]

    started = api.post(
        f"/api/v1/customers/{alexa['id']}/phone-link",
        json={"phone": "+1 (312) 555-0122"},
    )
    assert started.status_code == 202
    assert "code" not in started.get_json()  # only ever sent by SMS
    code = _code(app)
    wrong = "000000" if code != "000000" else "111111"
    bad = api.post(
        f"/api/v1/customers/{alexa['id']}/phone-link/confirm",
        json={"phone": "+13125550122", "code": wrong},
    )
    assert bad.status_code == 422

    linked = api.post(
        f"/api/v1/customers/{alexa['id']}/phone-link/confirm",
        json={"phone": "+13125550122", "code": code},
    )
    assert linked.status_code == 200, linked.get_json()
    survivor = linked.get_json()
    assert survivor["id"] == sms_customer["id"]
    assert {i["channel"] for i in survivor["identities"]} == {"sms", "alexa"}
    # the Alexa identity now finds the customer who booked by SMS
    assert (
        _identify(api, "alexa", "amzn1.ask.account.TEST").get_json()["id"]
        == survivor["id"]
    )
    assert db.query(Booking).filter_by(customer_id=survivor["id"]).count() == 1
    assert api.get(f"/api/v1/customers/{alexa['id']}").status_code == 404
    # a used code cannot be used again
    reuse = api.post(
        f"/api/v1/customers/{survivor['id']}/phone-link/confirm",
        json={"phone": "+13125550122", "code": code},
    )
    assert reuse.status_code == 409


def test_the_phone_code_is_texted_in_the_customer_s_language(api, app):
    spanish = api.post(
        "/api/v1/customers/identify",
        json={"channel": "telegram", "external_id": "4242", "locale": "es-MX"},
    ).get_json()
    started = api.post(
        f"/api/v1/customers/{spanish['id']}/phone-link", json={"phone": "+13125550144"}
    )
    assert started.status_code == 202
    sms = app.extensions["beckon.notifiers"].log.sent[-1]
    assert sms["to"] == "+13125550144"
    assert re.fullmatch(
        r"Su código de Beckon es \d{6}\. Caduca en \d+ minutos\.", sms["body"]
    )


def test_a_web_visitor_links_a_phone_written_as_people_write_it(api, app, db):
    """The number as a visitor types it (national, spaced) is the SMS
    customer's E.164 one: the code goes there and the two become one."""
    sms_customer = _identify(api, "sms", "+14152864371").get_json()
    visitor = _identify(api, "webchat", "visitor-1").get_json()
    started = api.post(
        f"/api/v1/customers/{visitor['id']}/phone-link", json={"phone": "415 286 4371"}
    )
    assert started.status_code == 202, started.get_json()
    assert app.extensions["beckon.notifiers"].log.sent[-1]["to"] == "+14152864371"
    linked = api.post(
        f"/api/v1/customers/{visitor['id']}/phone-link/confirm",
        json={"phone": "(415) 286-4371", "code": _code(app)},
    )
    assert linked.status_code == 200, linked.get_json()
    assert linked.get_json()["id"] == sms_customer["id"]
    assert linked.get_json()["phone"] == "+14152864371"


def test_a_phone_link_to_what_is_not_a_number_is_422_and_sends_nothing(api, app, db):
    visitor = _identify(api, "webchat", "visitor-2").get_json()
    sent = len(app.extensions["beckon.notifiers"].log.sent)
    for written, reason in (
        ("555-12", "'555-12' is too short to be a phone number"),
        ("call me", "'call me' is not a phone number"),
        ("+1 200 555 0100", "'+1 200 555 0100' is not a valid number"),
        (  # a code is texted: an extension cannot receive it
            "415-286-4371 ext. 12",
            "'415-286-4371 ext. 12' has an extension (12): give the number alone, "
            "Beckon cannot dial an extension",
        ),
    ):
        response = api.post(
            f"/api/v1/customers/{visitor['id']}/phone-link", json={"phone": written}
        )
        assert response.status_code == 422
        assert response.get_json()["error"]["details"] == [
            {"field": "phone", "message": reason}
        ]
    assert len(app.extensions["beckon.notifiers"].log.sent) == sent
    assert db.scalar(select(func.count(PhoneVerification.id))) == 0


def test_too_many_wrong_codes_lock_the_code(api, app):
    customer = _identify(api, "messenger", "psid-1").get_json()
    api.post(
        f"/api/v1/customers/{customer['id']}/phone-link", json={"phone": "+13125550133"}
    )
    code = _code(app)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (
            api.post(
                f"/api/v1/customers/{customer['id']}/phone-link/confirm",
                json={"phone": "+13125550133", "code": wrong},
            ).status_code
            == 422
        )
    locked = api.post(
        f"/api/v1/customers/{customer['id']}/phone-link/confirm",
        json={"phone": "+13125550133", "code": code},
    )
    assert locked.status_code == 409
    assert locked.get_json()["error"]["code"] == "too_many_attempts"


def test_jobs_from_free_text(api):
    customer = _identify(api, "sms", "+13125550155").get_json()
    day = days_ahead(2)
    response = api.post(
        "/api/v1/jobs",
        json={
            "text": "water coming through my kitchen ceiling",
            "customer_id": customer["id"],
            "city": "chicago il",
            "when": {
                "from": local(day, 8).isoformat(),
                "to": local(day, 12).isoformat(),
            },
        },
    )
    assert response.status_code == 201, response.get_json()
    job = response.get_json()
    assert job["city"] == "chicago il" and abs(job["lat"] - 41.85) < 0.1
    assert api.get(f"/api/v1/jobs/{job['id']}").get_json()["text"].startswith("water")
    assert api.post("/api/v1/jobs", json={"text": "fix it"}).status_code == 422
    assert (
        api.post(
            "/api/v1/jobs",
            json={"text": "fix my sink", "city": "Chicago", "category": "dentistry"},
        ).status_code
        == 422
    )
    over = api.post(
        "/api/v1/jobs",
        json={
            "text": "fix my sink",
            "city": "Chicago",
            "when": {
                "from": local(days_ahead(-3), 8).isoformat(),
                "to": local(days_ahead(-3), 9).isoformat(),
            },
        },
    )
    assert over.status_code == 422
    assert over.get_json()["error"]["details"][0]["field"] == "when.to"


def test_asking_for_a_person_flags_that_channel_s_conversation_once(api, db):
    from backend.models import Conversation

    customer = _identify(api, "telegram", "4242").get_json()
    for _ in range(2):
        response = api.post(
            f"/api/v1/customers/{customer['id']}/handoff",
            json={"channel": "telegram", "reason": "I want a person"},
        )
        assert response.status_code == 200
        assert response.get_json()["flagged"] is True
    rows = db.query(Conversation).filter_by(customer_id=customer["id"]).all()
    assert [(c.channel.value, c.flagged) for c in rows] == [("telegram", True)]


def test_a_handoff_for_no_one_or_on_no_channel_is_refused(api):
    assert (
        api.post(
            "/api/v1/customers/999999/handoff", json={"channel": "sms"}
        ).status_code
        == 404
    )
    customer = _identify(api, "sms", "+13125550112").get_json()
    bad = api.post(
        f"/api/v1/customers/{customer['id']}/handoff", json={"channel": "fax"}
    )
    assert bad.status_code == 422


def test_places_resolve_with_their_clock_and_unknown_ones_say_so(api):
    found = api.get("/api/v1/places?city=Chicago").get_json()
    assert found["name"] == "Chicago, IL"
    assert found["timezone"] == "America/Chicago"
    unknown = api.get("/api/v1/places?city=Gondor")
    assert unknown.status_code == 422
    assert "Gondor" in unknown.get_json()["error"]["message"]
    assert api.get("/api/v1/places").status_code == 422


def test_small_towns_and_zip_codes_resolve(api):
    town = api.get("/api/v1/places", query_string={"city": "St. Helena, CA"})
    assert town.status_code == 200
    assert town.get_json()["name"] == "Saint Helena, CA"
    assert town.get_json()["timezone"] == "America/Los_Angeles"
    by_zip = api.get("/api/v1/places?city=94941").get_json()
    assert by_zip["name"] == "Mill Valley, CA"
    unknown = api.get("/api/v1/places?city=00000")
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["code"] == "unknown_place"


def test_of_namesakes_the_one_the_marketplace_serves_is_meant(api, db):
    """Bare "Richmond" is Virginia's; once providers work around San
    Francisco it is California's, for customers and for providers imported
    by the town's name alone."""
    assert api.get("/api/v1/places?city=Richmond").get_json()["name"] == (
        "Richmond, VA"
    )
    make_provider(
        db, city="San Francisco, CA", timezone="America/Los_Angeles", phone=None
    )
    richmond = api.get("/api/v1/places?city=Richmond").get_json()
    assert richmond["name"] == "Richmond, CA"
    assert richmond["timezone"] == "America/Los_Angeles"
    dublin = make_provider(
        db, external_id="dub", city="Dublin", timezone="America/Los_Angeles"
    )
    assert 37.6 < dublin.lat < 37.8 and -122.0 < dublin.lon < -121.8  # Dublin, CA
    # a state still says which one, served or not
    named = api.get("/api/v1/places", query_string={"city": "Richmond, VA"})
    assert named.get_json()["name"] == "Richmond, VA"


def test_codes_sent_to_a_customer_or_a_number_are_limited(api, app):
    """Anyone can name a number: a sixth code in an hour, whether asked for
    by one customer or by several for one phone, is refused and not sent."""
    log = app.extensions["beckon.notifiers"].log
    first = _identify(api, "messenger", "psid-a").get_json()
    for n in range(5):
        started = api.post(
            f"/api/v1/customers/{first['id']}/phone-link",
            json={"phone": f"+1312555016{n}"},
        )
        assert started.status_code == 202
    texts = len(log.sent)
    refused = api.post(
        f"/api/v1/customers/{first['id']}/phone-link", json={"phone": "+13125550169"}
    )
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "too_many_codes"
    assert len(log.sent) == texts  # nothing texted
    for n in range(4):  # four other customers, one number, plus the first's
        other = _identify(api, "telegram", f"tg-{n}").get_json()
        assert (
            api.post(
                f"/api/v1/customers/{other['id']}/phone-link",
                json={"phone": "+13125550160"},
            ).status_code
            == 202
        )
    stranger = _identify(api, "telegram", "tg-9").get_json()
    refused = api.post(
        f"/api/v1/customers/{stranger['id']}/phone-link",
        json={"phone": "+13125550160"},
    )
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "too_many_codes"
