"""Choosing the recipient of a follow-up: the channel that reaches them now,
its address, their clock and language, and Messenger's tag outside its window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend.models import (
    SKIP_OPTED_OUT,
    SKIP_UNREACHABLE,
    Channel,
    Customer,
    FollowUp,
    Provider,
)
from backend.services.conversations import (
    EVENT_UPDATE_TAG,
    address_on,
    messenger_tag,
)
from backend.services.followups.kinds import PROVIDER, Kind, Skip

#: Channels a message can be pushed on, in the order tried for a customer.
PUSH_CHANNELS = (Channel.SMS, Channel.WHATSAPP, Channel.MESSENGER, Channel.TELEGRAM)


def recipient_of(
    session: Session, row: FollowUp, kind: Kind, now: datetime
) -> tuple[Channel, str, str, str, str | None] | Skip:
    """(channel, address, time zone, locale, Messenger tag), or why nobody can
    be reached: an opt-out when the customer opted out of a channel that
    would have reached them."""
    if row.recipient == PROVIDER:
        provider = session.get(Provider, row.provider_id)
        if provider is None or not provider.phone:
            return Skip(SKIP_UNREACHABLE, "the provider has no phone number")
        return Channel.SMS, provider.phone, provider.timezone, "en-US", None
    customer = session.get(Customer, row.customer_id)
    if customer is None or customer.erased_at is not None:
        return Skip(SKIP_UNREACHABLE, "the customer is gone")
    addresses = customer_addresses(customer)
    opted_out = set(customer.opt_outs or [])
    first = [row.channel] if row.channel in addresses else []
    reasons = []
    code = SKIP_UNREACHABLE
    for channel in dict.fromkeys(first + [c for c in PUSH_CHANNELS if c in addresses]):
        if channel.value in opted_out:
            reasons.append(f"opted out of {channel.value}")
            code = SKIP_OPTED_OUT
            continue
        tag = None
        if channel == Channel.MESSENGER:
            tag = messenger_tag(session, customer.id, now=now, tag=EVENT_UPDATE_TAG)
            if tag is not None and not kind.booking_update:
                reasons.append("outside Messenger's 24-hour window")
                continue
        return channel, addresses[channel], customer.timezone, customer.locale, tag
    return Skip(code, "; ".join(reasons) or "no channel to reach the customer on")


def customer_addresses(customer: Customer) -> dict[Channel, str]:
    out: dict[Channel, str] = {}
    if customer.phone:
        out[Channel.SMS] = customer.phone
    for identity in customer.identities:
        if identity.channel in PUSH_CHANNELS:
            out.setdefault(identity.channel, identity.external_id)
    return {channel: address_on(channel, address) for channel, address in out.items()}
