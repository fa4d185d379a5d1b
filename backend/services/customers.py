"""Customers: one record however they reach us, linked across channels by phone."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import Base, utcnow
from backend.models import (
    PHONE_CHANNELS,
    Channel,
    ChannelIdentity,
    Customer,
    PhoneVerification,
)
from backend.schemas import IdentityInput, is_time_zone
from backend.services import texting, texts
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.phones import is_e164
from backend.services.rules import TextRules

#: Wrong tries one code takes; the number's lifetime cap is
#: ``texting.MAX_CONSECUTIVE_FAILURES`` (wrong codes in a row, of every code).
MAX_CODE_ATTEMPTS = 5
#: Codes one customer, or one phone number, may be sent in CODE_WINDOW: each
#: is a text to someone's phone, which anyone can ask for by naming a number.
#: The number's count leaves out the codes its owner asked for, and its owner
#: is not held back by it: strangers asking cannot lock the owner out.
MAX_CODES_PER_WINDOW = 5
CODE_WINDOW = timedelta(hours=1)
#: Tries at a first contact that loses a race to a concurrent one.
IDENTITY_RETRIES = 3


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.erased_at is not None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


def _phone_of(channel: Channel, external_id: str) -> str | None:
    """The phone number a phone channel's identity is (None for anything
    else, e.g. a call's own id when the caller's number cannot be trusted)."""
    if channel in PHONE_CHANNELS:
        phone = external_id.removeprefix("whatsapp:")
        return phone if is_e164(phone) else None
    return None


def find_or_create_by_identity(
    session: Session, data: IdentityInput, *, verified: bool | None = None
) -> tuple[Customer, bool]:
    """The customer behind a channel identity, created on first contact.

    A phone-based identity (SMS, WhatsApp, a call) joins the customer who already
    has that phone number, so one person texting and calling is one customer.
    A text's sender is the carrier's word for the number, so its identity is
    verified; a call's caller ID can be forged, so a call's identity is
    verified only when ``verified`` says the number was attested.
    Two first contacts at once make one customer: the loser of the race on
    the unique constraints finds the winner's rows.
    """
    channel = Channel(data.channel)
    if verified is None:
        verified = channel != Channel.VOICE
    for attempt in range(IDENTITY_RETRIES):
        found = _identity_customer(session, channel, data.external_id)
        if found is not None:
            return found, False
        try:
            with session.begin_nested():
                return _create_identity(session, channel, data, verified)
        except IntegrityError:
            if attempt == IDENTITY_RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _identity_customer(
    session: Session, channel: Channel, external_id: str
) -> Customer | None:
    # one query for the identity and its customer (every message asks)
    return session.scalar(
        select(Customer)
        .join(ChannelIdentity, ChannelIdentity.customer_id == Customer.id)
        .where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.external_id == external_id,
        )
    )


def _create_identity(
    session: Session, channel: Channel, data: IdentityInput, verified: bool
) -> tuple[Customer, bool]:
    phone = _phone_of(channel, data.external_id)
    customer = None
    if phone:
        customer = session.scalar(select(Customer).where(Customer.phone == phone))
    created = customer is None
    if customer is None:
        customer = Customer(
            display_name=data.display_name,
            phone=phone,
            locale=data.locale or "en-US",
            timezone=data.timezone or "America/New_York",
        )
        session.add(customer)
    customer.identities.append(
        ChannelIdentity(
            channel=channel,
            external_id=data.external_id,
            verified_at=utcnow() if phone and verified else None,
        )
    )
    session.flush()
    return customer, created


def _code_hash(customer_id: int, phone: str, code: str) -> str:
    return hashlib.sha256(f"{customer_id}:{phone}:{code}".encode()).hexdigest()


@dataclass
class PhoneLink:
    """A code waiting to be said back, and the text that carries it."""

    verification: PhoneVerification
    code: str  # to be sent by SMS, never returned to the API caller
    #: the customer's, for the text that carries the code
    locale: str = "en-US"
    #: the text to send (``notifiers.send_phone_code``), in ``locale``
    text: str = ""

    @property
    def phone(self) -> str:
        return self.verification.phone

    @property
    def key(self) -> str:
        """The unique send key of the text (one per code)."""
        return f"phone-code:{self.verification.id}"


@dataclass
class PhoneNotice:
    """A text to a number's owner (its linking was locked by wrong codes)."""

    phone: str
    text: str
    key: str


class WrongCode(Invalid):
    """The code said is not the one sent. The wrong try is counted: the
    caller commits before it answers. ``notice``, when this try locked the
    number, is the text to send its owner after the commit (once a lockout)."""

    def __init__(self, notice: PhoneNotice | None = None) -> None:
        super().__init__("that code is not right", field="code")
        self.notice = notice


def _owner_of(session: Session, phone: str) -> Customer | None:
    """The customer who has ``phone`` already (texted from it, or linked it)."""
    return session.scalar(select(Customer).where(Customer.phone == phone))


def _codes_sent(session: Session, asked: Any, now: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(PhoneVerification)
        .where(asked, PhoneVerification.created_at > now - CODE_WINDOW)
    )


def start_phone_link(
    session: Session,
    customer_id: int,
    phone: str,
    *,
    code_minutes: int = 10,
    text_rules: TextRules | None = None,
    now: datetime | None = None,
) -> PhoneLink:
    """Create a six-digit code that proves the customer owns ``phone``, with
    the text to send it in (the caller commits first, then sends it).

    Refused before anything is written or counted: a number of a country
    codes are not texted to (:class:`Invalid` ``phone_country_not_served``),
    a number whose linking is locked (``phone_locked``), too many codes lately
    for this customer or this number (``too_many_codes``), and this hour's
    text budgets spent (``texts_budget_spent``). If the text then cannot be
    sent, :func:`phone_code_not_sent` undoes what it counted.
    """
    now = now or utcnow()
    rules = text_rules or TextRules()
    customer = get_customer(session, customer_id)
    region = texting.destination(phone, rules, customer.locale)
    owner = _owner_of(session, phone)
    by_owner = owner is not None and owner.id == customer_id
    if not by_owner and texting.is_locked(session, phone):
        raise texting.locked_error()
    limits = [PhoneVerification.customer_id == customer_id]
    if not by_owner:
        others = PhoneVerification.phone == phone
        if owner is not None:  # the owner's own asks are theirs alone
            others = others & (PhoneVerification.customer_id != owner.id)
        limits.append(others)
    for asked in limits:
        if _codes_sent(session, asked, now) >= MAX_CODES_PER_WINDOW:
            raise Conflict(
                "too many codes were asked for; try again in an hour",
                code="too_many_codes",
            )
    texting.take_text(session, rules, region, now=now)
    session.execute(
        update(PhoneVerification)
        .where(
            PhoneVerification.customer_id == customer_id,
            PhoneVerification.consumed_at.is_(None),
        )
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    verification = PhoneVerification(
        customer_id=customer_id,
        phone=phone,
        code_hash=_code_hash(customer_id, phone, code),
        expires_at=now + timedelta(minutes=code_minutes),
        created_at=now,
    )
    session.add(verification)
    session.flush()
    text = texts.render(
        "phone_code", "channel", customer.locale, code=code, minutes=code_minutes
    )
    return PhoneLink(verification, code, customer.locale, text)


def phone_code_not_sent(
    session: Session, verification_id: int, *, now: datetime | None = None
) -> bool:
    """The text of a code (committed) could not be sent: the code can no
    longer be used and its place in the hour's text budgets is given back,
    so asking again counts once. False if the code was used or undone
    already (then nothing changes)."""
    verification = session.get(PhoneVerification, verification_id)
    if verification is None:
        return False
    undone = session.execute(
        update(PhoneVerification)
        .where(
            PhoneVerification.id == verification_id,
            PhoneVerification.consumed_at.is_(None),
        )
        .values(consumed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if undone.rowcount != 1:
        return False
    texting.give_back_text(session, verification.phone, verification.created_at)
    session.flush()
    return True


def confirm_phone_link(
    session: Session,
    customer_id: int,
    phone: str,
    code: str,
    *,
    now: datetime | None = None,
) -> Customer:
    """Check the code; tie this customer's identities to the phone's owner.

    If someone else already owns the number (they texted us before), this
    customer is merged into them and the surviving customer is returned.

    Each try is counted before the code is compared, by one atomic UPDATE
    (never read, add one, write): on the code (at most MAX_CODE_ATTEMPTS)
    and on the number (wrong codes in a row, every asker's but its owner's:
    at ``texting.MAX_CONSECUTIVE_FAILURES`` linking it is locked), so however
    many try at once, no more guesses than that are ever checked. A wrong
    code raises :class:`WrongCode` (the caller commits, to keep the count).
    """
    now = now or utcnow()
    customer = get_customer(session, customer_id)
    verification = session.scalar(
        select(PhoneVerification)
        .where(
            PhoneVerification.customer_id == customer_id,
            PhoneVerification.phone == phone,
            PhoneVerification.consumed_at.is_(None),
        )
        .order_by(PhoneVerification.id.desc())
    )
    if verification is None or verification.expires_at <= now:
        raise Conflict(
            "no code is waiting for that phone; ask for a new one", code="code_expired"
        )
    owner = _owner_of(session, phone)
    by_owner = owner is not None and owner.id == customer_id
    with session.begin_nested():  # both counted, or neither
        tried = session.execute(
            update(PhoneVerification)
            .where(
                PhoneVerification.id == verification.id,
                PhoneVerification.consumed_at.is_(None),
                PhoneVerification.attempts < MAX_CODE_ATTEMPTS,
            )
            .values(attempts=PhoneVerification.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if tried.rowcount != 1:
            raise Conflict(
                "too many wrong codes; ask for a new one", code="too_many_attempts"
            )
        in_a_row = 0 if by_owner else texting.count_failure(session, phone, now=now)
    expected = _code_hash(customer_id, phone, code)
    if not hmac.compare_digest(expected, verification.code_hash):
        session.flush()
        notice = None
        if in_a_row == texting.MAX_CONSECUTIVE_FAILURES:
            notice = _locked_notice(owner, phone, now)
        raise WrongCode(notice)
    used = session.execute(
        update(PhoneVerification)
        .where(
            PhoneVerification.id == verification.id,
            PhoneVerification.consumed_at.is_(None),
        )
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # said right twice at once: the other one won
        raise Conflict(
            "no code is waiting for that phone; ask for a new one", code="code_expired"
        )
    session.expire(verification)
    if not by_owner:
        texting.clear_failures(session, phone, now=now)
    owner = session.scalar(
        select(Customer).where(Customer.phone == phone, Customer.id != customer.id)
    )
    if owner is None:
        customer.phone = phone
        _ensure_identity(session, customer, Channel.SMS, phone, now)
        session.flush()
        return customer
    merge_customers(session, source=customer, target=owner)
    _ensure_identity(session, owner, Channel.SMS, phone, now)
    session.flush()
    return owner


def _locked_notice(
    owner: Customer | None, phone: str, now: datetime
) -> PhoneNotice | None:
    """The text telling ``phone``'s owner that its linking was locked (none
    to an owner who said STOP to texts)."""
    if owner is not None and Channel.SMS.value in (owner.opt_outs or []):
        return None
    locale = owner.locale if owner is not None else "en-US"
    text = texts.render(
        "phone_locked", "channel", locale, attempts=texting.MAX_CONSECUTIVE_FAILURES
    )
    return PhoneNotice(phone, text, key=f"phone-locked:{phone}:{now.timestamp():.0f}")


def _ensure_identity(
    session: Session,
    customer: Customer,
    channel: Channel,
    external_id: str,
    now: datetime,
) -> None:
    exists = session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.external_id == external_id,
        )
    )
    if exists is None:
        customer.identities.append(
            ChannelIdentity(channel=channel, external_id=external_id, verified_at=now)
        )
    else:
        exists.customer_id = customer.id
        exists.verified_at = now


def references_to_customers() -> list[Column[Any]]:
    """Every column that names a customer (a foreign key to ``customers.id``),
    read from the models, so a table added later is counted too."""
    return [
        fk.parent
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column is Customer.__table__.c.id
    ]


def merge_customers(session: Session, *, source: Customer, target: Customer) -> None:
    """Move everything of ``source`` to ``target`` and delete ``source``: every
    row that names it (bookings, follow-ups, match logs, identities...), and
    its opt-outs (a STOP said on either stays said)."""
    for column in references_to_customers():
        session.execute(
            update(column.table)
            .where(column == source.id)
            .values({column.name: target.id})
            .execution_options(synchronize_session=False)
        )
    target.display_name = target.display_name or source.display_name
    target.email = target.email or source.email
    target.opt_outs = sorted(set(target.opt_outs or []) | set(source.opt_outs or []))
    session.flush()
    session.expire(source)
    session.delete(source)
    session.flush()
    session.expire(target, ["identities", "bookings"])


def set_opt_out(
    session: Session, customer_id: int, channel: Channel, opted_out: bool
) -> Customer:
    """Record a STOP (``opted_out``) or START on ``channel`` for the customer.

    Follow-ups skip the channels a customer opted out of, and reach them on
    another channel if they have one.
    """
    customer = get_customer(session, customer_id)
    channels = set(customer.opt_outs or [])
    if opted_out:
        channels.add(channel.value)
    else:
        channels.discard(channel.value)
    customer.opt_outs = sorted(channels)
    customer.updated_at = utcnow()
    session.flush()
    return customer


def set_timezone(session: Session, customer_id: int, zone: str) -> Customer:
    """Keep the customer's own clock (an IANA zone, e.g. from their device), on
    which remote sessions and spoken times are told."""
    customer = get_customer(session, customer_id)
    if not is_time_zone(zone):
        raise Invalid(f"unknown time zone {zone!r}", field="timezone")
    if customer.timezone != zone:
        customer.timezone = zone
        customer.updated_at = utcnow()
        session.flush()
    return customer
