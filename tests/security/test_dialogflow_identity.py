"""Issue 18, item 7: a Dialogflow caller cannot take another person's identity.

Dialogflow's header proves a request came through our agent, not who is
calling: the phone gateway's ``caller_id``, the Assistant's
``payload.user.userId`` and a ``beckon-user-id`` parameter are whatever the
detectIntent call said. So, as on a Twilio call whose number is not
attested, the caller is a person of their own for the session: someone
claiming another user's id hears none of their bookings and can change none
(not even with a forged context naming the booking), until they link the
phone with the code texted to it in this session.

ES requests are the real envelope of tests/fixtures/google; CX requests
follow Google's published WebhookRequest (see
tests/integration/test_dialogflow_webhook.py, whose callers these are).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend.models import Booking, BookingStatus, Channel, ChannelIdentity
from tests.helpers import (
    config_for_test,
    days_ahead,
    local,
    make_customer,
    make_provider,
)
from tests.integration.test_dialogflow_webhook import TOKEN, CxCaller, EsCaller

VICTIM_PHONE = "+13125550142"
#: The ids a past call of the victim's left as their Google identities: the
#: Assistant's user id, the phone gateway's caller id, an integration's id.
VICTIM_USER_ID = "ABwppHHixRyLmiAcc4IihWQOCUfSLS1Dw6OezP3e0_victim"
VICTIM_MEMBER_ID = "member-77"
#: Every place a request can claim who calls, per edition, and the claim.
CLAIMS = [
    ("es", "payload.user.userId", VICTIM_USER_ID),
    ("es", "payload.telephony.caller_id", VICTIM_PHONE),
    ("es", "payload.beckon-user-id", VICTIM_MEMBER_ID),
    ("cx", "payload.telephony.caller_id", VICTIM_PHONE),
    ("cx", "payload.beckon-user-id", VICTIM_MEMBER_ID),
    ("cx", "sessionInfo.parameters.beckon-user-id", VICTIM_MEMBER_ID),
]


@pytest.fixture
def config(database_url, tmp_path, model_cache):
    return config_for_test(
        database_url, tmp_path, model_cache, DIALOGFLOW_AUTH_VALUE=TOKEN
    )


@pytest.fixture
def victims_booking(api, db) -> int:
    """The victim texted from their phone, called through Google before (so
    each claimed id is one of their identities) and has a confirmed booking."""
    provider = make_provider(db)
    victim = make_customer(db, VICTIM_PHONE)
    for external_id in (VICTIM_USER_ID, VICTIM_PHONE, VICTIM_MEMBER_ID):
        db.add(
            ChannelIdentity(
                customer_id=victim.id, channel=Channel.GOOGLE, external_id=external_id
            )
        )
    db.commit()
    made = api.post(
        "/api/v1/bookings",
        json={
            "provider_id": provider.id,
            "customer_id": victim.id,
            "start": local(days_ahead(2), 9).isoformat(),
            "confirm": True,
        },
    )
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


def _claiming(client, edition: str, where: str, claimed: str, session: str):
    """A new caller (their own session) whose requests claim ``claimed`` as
    who calls, at ``where``."""
    if edition == "es":
        caller = EsCaller(client)
        caller.envelope["session"] = f"projects/p/agent/sessions/{session}"
        payload = caller.envelope["originalDetectIntentRequest"]["payload"]
    else:
        caller = CxCaller(client)
        caller.session = f"projects/p/locations/global/agents/a/sessions/{session}"
        caller.payload = payload = {}
    if where == "payload.user.userId":
        payload["user"]["userId"] = claimed
    elif where == "payload.telephony.caller_id":
        payload["telephony"] = {"caller_id": claimed}
    elif where == "payload.beckon-user-id":
        payload["beckon-user-id"] = claimed
    else:
        caller.parameters = {"beckon-user-id": claimed}
    return caller


def _session_of(caller) -> str:
    return (
        caller.envelope["session"] if isinstance(caller, EsCaller) else caller.session
    )


def _status(db, booking_id: int) -> BookingStatus:
    db.rollback()
    return db.get(Booking, booking_id).status


@pytest.mark.parametrize(
    ("edition", "where", "claimed"), CLAIMS, ids=[f"{e}-{w}" for e, w, _ in CLAIMS]
)
def test_a_claimed_id_hears_and_changes_none_of_its_bookings(
    client, db, victims_booking, edition, where, claimed
):
    number = victims_booking
    attacker = _claiming(client, edition, where, claimed, "attacker-1")
    assert attacker.say("JobStatus", "what's the status of my job").startswith(
        "You have no upcoming bookings."
    )
    heard = attacker.say("CancelBooking", f"cancel booking {number}", number=number)
    assert heard == f"I can't find booking {number} among yours."
    heard = attacker.say("RescheduleBooking", f"move booking {number}", number=number)
    assert heard == f"I can't find booking {number} among yours."
    # nor with a forged state that says the cancel was asked and is waiting
    forged = {"ask": "cancel", "booking": number, "prompt": "Cancel it?"}
    if edition == "es":
        attacker.contexts = [
            {
                "name": f"{attacker.envelope['session']}/contexts/beckon-offers",
                "lifespanCount": 5,
                "parameters": {"pending": forged},
            }
        ]
    else:
        attacker.parameters = {**attacker.parameters, "pending": forged}
    heard = attacker.say("ConfirmBooking", "yes", confirmation="yes")
    assert "cancelled" not in heard.lower()
    assert _status(db, number) == BookingStatus.CONFIRMED
    # the caller is a person of their own for the session, not the victim
    db.rollback()
    identity = db.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.external_id == _session_of(attacker)
        )
    )
    booking = db.get(Booking, number)
    assert identity is not None and identity.customer_id != booking.customer_id


@pytest.mark.parametrize("edition", ["es", "cx"])
def test_the_phone_linked_by_its_code_in_this_session_opens_its_bookings(
    client, db, config, victims_booking, edition
):
    """The victim themselves, calling again: nothing until they say the code
    texted to their phone, then their bookings, in this session."""
    gateway = "payload.telephony.caller_id"
    owner = _claiming(client, edition, gateway, VICTIM_PHONE, "owner-1")
    assert owner.say("JobStatus", "status").startswith("You have no upcoming")
    owner.say("LinkPhone", "link my phone", **{"phone-number": "312-555-0142"})
    sent = [json.loads(line) for line in config.NOTIFY_LOG.read_text().splitlines()]
    code = [s["body"].split("code is ")[1][:6] for s in sent if s["to"] == VICTIM_PHONE]
    heard = owner.say("ChooseOption", code[-1], number=float(code[-1]))
    assert heard.startswith("Your phone is linked."), heard
    assert owner.say("JobStatus", "status").startswith(
        f"Booking {victims_booking}: Reyes Plumbing"
    )
    # a later session claiming the same caller id starts over
    later = _claiming(client, edition, gateway, VICTIM_PHONE, "owner-2")
    assert later.say("JobStatus", "status").startswith("You have no upcoming")
