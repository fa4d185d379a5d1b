"""What a key with the ``assistant`` scope may do, and for whom.

The assistant's actions (``bot/actions``) handle untrusted chat input, so
their key is not a key to everything: it may call only the routes the
actions call, each for the one person whose message is being answered. Every
call names that person in the :data:`IDENTITY_HEADER` header as
``<channel>:<sender id>``, the channel identity the webhook verified and
handed to the assistant (Rasa's ``sender_id``). A route open to the
assistant declares one rule beside its scope (``endpoint(..., assistant=)``);
the rule is given the person and the view's arguments (path values and the
validated body) and raises when the call is not that person's to make. What
is not theirs is answered as not found, as it is to a voice caller.

What the actions call (``bot/actions/beckon_api.py``), and the rule of each:

- identify (``customer_of``): the person themselves, :func:`themselves`
- their bookings, a phone link and its code, a hand-off to a person (status,
  picking, phone, human): :func:`their_record`
- categories, places, a provider and their free times, matches (booking,
  reschedule, check-in): :func:`anyone`, and for matches and a new booking
  :func:`as_their_customer`
- a booking read (picking, status, reschedule, check-in): :func:`booking_party`
- cancel, reschedule, review: :func:`booking_customer`
- check-in and complete (a provider texting "job 42 done"):
  :func:`booking_provider`

Nothing else: not the customer records by id, jobs, confirming a hold, a
no-show, the area search, or any provider change or verification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.extensions import db
from backend.services import access
from backend.services.access import Acting

#: The request header naming the person an assistant key acts for.
IDENTITY_HEADER = "Beckon-Identity"

#: A route's rule for the assistant: the person, the view's arguments.
Rule = Callable[[Acting, dict[str, Any]], None]


def anyone(acting: Acting, args: dict[str, Any]) -> None:
    """Open for any person: nothing in it is theirs or anyone else's (no
    :data:`IDENTITY_HEADER` needed)."""


def themselves(acting: Acting, args: dict[str, Any]) -> None:
    """Only the identity the assistant acts for."""
    body = args["body"]
    access.acting_as(acting, body.channel, body.external_id)


def their_record(acting: Acting, args: dict[str, Any]) -> None:
    """Only the customer record of the person acted for."""
    access.acting_for_customer(db.session, acting, args["customer_id"])


def as_their_customer(acting: Acting, args: dict[str, Any]) -> None:
    """For the person acted for: a ``customer_id`` in the body must be theirs."""
    customer_id = getattr(args["body"], "customer_id", None)
    if customer_id is not None:
        access.acting_for_customer(db.session, acting, customer_id)


def booking_customer(acting: Acting, args: dict[str, Any]) -> None:
    """Only a booking of the person acted for, as its customer."""
    access.acting_on_booking(db.session, acting, args["booking_id"])


def booking_provider(acting: Acting, args: dict[str, Any]) -> None:
    """Only a booking of the person acted for, as its provider (their
    proved phone number is the provider's)."""
    access.acting_on_booking(
        db.session, acting, args["booking_id"], customer=False, provider=True
    )


def booking_party(acting: Acting, args: dict[str, Any]) -> None:
    """Only a booking of the person acted for, as its customer or its provider."""
    access.acting_on_booking(
        db.session, acting, args["booking_id"], customer=True, provider=True
    )
