"""API keys and admin users."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from backend.db import utcnow
from backend.models import (
    AdminRole,
    AdminUser,
    ApiKey,
    ApiScope,
    Booking,
    Channel,
    ChannelIdentity,
    Customer,
    Provider,
)
from backend.schemas import _email
from backend.services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)

KEY_PREFIX = "bk"
MIN_PASSWORD_LENGTH = 12
LAST_USED_RESOLUTION = timedelta(minutes=5)
#: Failed logins in a row an account may have: the last of them locks it.
FAILED_LOGINS_BEFORE_LOCK = 10
#: How long a locked account stays locked (another admin may unlock it sooner).
LOCK_MINUTES = 15
#: The one answer to a login that did not work, whatever the reason (unknown
#: email, wrong password, inactive or locked account): it tells nobody which.
LOGIN_REFUSED = (
    "wrong email or password (after "
    f"{FAILED_LOGINS_BEFORE_LOCK} failed tries in a row an account is locked "
    f"for {LOCK_MINUTES} minutes, or until another admin unlocks it)"
)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scopes_of(values: Iterable[str]) -> list[str]:
    """The scopes named in ``values`` ("read", "read,book", ...), in
    :class:`ApiScope`'s order; :class:`Invalid` for an unknown one or none."""
    named = {part.strip().lower() for value in values for part in value.split(",")}
    named.discard("")
    known = {scope.value for scope in ApiScope}
    if unknown := sorted(named - known):
        raise Invalid(
            f"unknown scope {', '.join(unknown)}: a key's scopes are "
            + ", ".join(known_scope.value for known_scope in ApiScope),
            field="scopes",
        )
    if not named:
        raise Invalid(
            "an API key needs at least one scope: "
            + ", ".join(scope.value for scope in ApiScope),
            field="scopes",
        )
    return [scope.value for scope in ApiScope if scope.value in named]


def create_api_key(
    session: Session, name: str, scopes: Iterable[str]
) -> tuple[ApiKey, str]:
    """A new key with ``scopes``; the plain token is returned once and only
    its hash is stored."""
    name = name.strip()
    if not name or len(name) > 120:
        raise Invalid("an API key needs a name of 1-120 characters", field="name")
    granted = scopes_of(scopes)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=name, prefix=prefix, key_hash=_hash_secret(secret), scopes=granted
    )
    session.add(key)
    session.flush()
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def authenticate_api_key(
    session: Session, token: str, *, now: datetime | None = None
) -> ApiKey:
    """The live key behind ``token``, or :class:`Unauthorized`."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthorized("malformed API key")
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if key is None or not hmac.compare_digest(key.key_hash, _hash_secret(parts[2])):
        raise Unauthorized("unknown API key")
    if key.revoked_at is not None:
        raise Unauthorized("this API key was revoked")
    now = now or utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now  # written at most every few minutes, not per request
    return key


def has_scope(key: ApiKey, scope: ApiScope | str) -> bool:
    return ApiScope(scope).value in (key.scopes or [])


# ---------------------------------------------------------------- acting for someone

#: Channels a person writes or speaks on: what an assistant key may act for.
PERSON_CHANNELS = frozenset(Channel) - {Channel.API, Channel.CONSOLE}


@dataclass(frozen=True)
class Acting:
    """The one person an ``assistant`` key acts for in a request: the channel
    identity whose message the assistant is answering."""

    channel: Channel
    external_id: str

    @classmethod
    def parse(cls, value: str) -> Acting:
        """``<channel>:<external id>`` ("sms:+13125550101", "webchat:web-3f...");
        :class:`Forbidden` if it is not one."""
        channel, _, external_id = value.strip().partition(":")
        try:
            parsed = Channel(channel.lower())
        except ValueError:
            parsed = None
        if parsed not in PERSON_CHANNELS or not external_id or len(external_id) > 255:
            raise Forbidden(
                "an assistant key acts for the person it answers: name them as "
                "'<channel>:<id>' (channel one of "
                + ", ".join(sorted(c.value for c in PERSON_CHANNELS))
                + ")",
                code="identity_required",
            )
        return cls(parsed, external_id)

    def customer(self, session: Session) -> Customer | None:
        """The customer behind this identity, if there is one yet."""
        return session.scalar(
            select(Customer)
            .join(ChannelIdentity, ChannelIdentity.customer_id == Customer.id)
            .where(
                ChannelIdentity.channel == self.channel,
                ChannelIdentity.external_id == self.external_id,
                Customer.erased_at.is_(None),
            )
        )


def speaks_for_provider(person: Customer | None, provider: Provider) -> bool:
    """Whether ``person`` is the provider: they have the provider's phone
    number, proved (a text from it, an attested call, or a texted code)."""
    return bool(person and person.phone and person.phone == provider.phone)


def acting_as(acting: Acting, channel: str, external_id: str) -> None:
    """The identity a request names is the one acted for, or :class:`Forbidden`."""
    if (channel, external_id) != (acting.channel.value, acting.external_id):
        raise Forbidden(
            "an assistant key may identify only the person it acts for",
            code="not_acting_for",
        )


def acting_for_customer(session: Session, acting: Acting, customer_id: int) -> None:
    """``customer_id`` is the person acted for; anyone else is not found."""
    person = acting.customer(session)
    if person is None or person.id != customer_id:
        raise NotFound(f"customer {customer_id} not found")


def acting_on_booking(
    session: Session,
    acting: Acting,
    booking_id: int,
    *,
    customer: bool = True,
    provider: bool = False,
) -> None:
    """The booking is the acted-for person's: as its customer (``customer``)
    or as its provider (``provider``); anyone else's is not found."""
    booking = session.get(Booking, booking_id)
    person = acting.customer(session)
    if booking is not None and person is not None:
        if customer and booking.customer_id == person.id:
            return
        if provider and speaks_for_provider(person, booking.provider):
            return
    raise NotFound(f"booking {booking_id} not found")


def revoke_api_key(
    session: Session, key_id: int, *, now: datetime | None = None
) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    key.revoked_at = key.revoked_at or now or utcnow()
    session.flush()
    return key


def create_admin(
    session: Session, email: str, password: str, role: str = "admin"
) -> AdminUser:
    """An admin console user; the password is hashed with scrypt."""
    try:
        email = _email(email.strip())
    except ValueError as exc:
        raise Invalid(str(exc), field="email") from exc
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
        )
    try:
        admin_role = AdminRole(role)
    except ValueError as exc:
        raise Invalid("role must be admin or support", field="role") from exc
    if session.scalar(select(AdminUser.id).where(AdminUser.email == email)):
        raise Conflict(f"an admin with email {email} exists")
    user = AdminUser(
        email=email,
        password_hash=generate_password_hash(password, method="scrypt"),
        role=admin_role,
    )
    session.add(user)
    session.flush()
    return user


#: A hash checked when the email is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("not a password of anyone", method="scrypt")


def is_locked(user: AdminUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def authenticate_admin(
    session: Session, email: str, password: str, *, now: datetime | None = None
) -> AdminUser:
    """The active, unlocked admin with this email and password, or
    :class:`Unauthorized` (one message for every reason; the caller counts
    the failure with :func:`note_failed_login`). A session token is made if
    missing."""
    now = now or utcnow()
    user = session.scalar(
        select(AdminUser).where(AdminUser.email == email.strip().lower())
    )
    if user is None or is_locked(user, now):
        # as long as a wrong password takes, and the password is not tried
        check_password_hash(_DUMMY_HASH, password)
        raise Unauthorized(LOGIN_REFUSED)
    if not check_password_hash(user.password_hash, password) or not user.active:
        raise Unauthorized(LOGIN_REFUSED)
    user.last_login_at = now
    user.failed_logins, user.locked_until = 0, None
    if not user.session_token:
        user.session_token = secrets.token_urlsafe(24)
    session.flush()
    return user


def note_failed_login(
    session: Session, email: str, *, now: datetime | None = None
) -> bool:
    """Count a failed login of the account with ``email`` (none: nothing to
    count), locking it at the limit; True if this failure locked it. Counted
    in one UPDATE, so failures at once are all counted; a locked account's
    are not (they cannot prolong the lock)."""
    now = now or utcnow()
    counted = session.execute(
        update(AdminUser)
        .where(
            AdminUser.email == email.strip().lower(),
            or_(AdminUser.locked_until.is_(None), AdminUser.locked_until <= now),
        )
        .values(failed_logins=AdminUser.failed_logins + 1)
        .returning(AdminUser.id, AdminUser.failed_logins)
        .execution_options(synchronize_session=False)
    ).first()
    if counted is None or counted.failed_logins < FAILED_LOGINS_BEFORE_LOCK:
        return False
    session.execute(
        update(AdminUser)
        .where(AdminUser.id == counted.id)
        .values(failed_logins=0, locked_until=now + timedelta(minutes=LOCK_MINUTES))
        .execution_options(synchronize_session=False)
    )
    return True


def unlock_admin(session: Session, admin_id: int) -> AdminUser:
    """Lift an account's lock (another admin's act), and forget its failures."""
    user = session.get(AdminUser, admin_id)
    if user is None:
        raise NotFound(f"admin {admin_id} not found")
    user.failed_logins, user.locked_until = 0, None
    session.flush()
    return user


def end_sessions(session: Session, admin_id: int) -> None:
    """Log an admin out everywhere: sessions signed with the old token end."""
    user = session.get(AdminUser, admin_id)
    if user is None:
        raise NotFound(f"admin {admin_id} not found")
    user.session_token = secrets.token_urlsafe(24)
    session.flush()
