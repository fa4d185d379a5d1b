"""API keys and admin users."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from backend.db import utcnow
from backend.models import AdminRole, AdminUser, ApiKey
from backend.schemas import _email
from backend.services.errors import Conflict, Invalid, NotFound, Unauthorized

KEY_PREFIX = "bk"
MIN_PASSWORD_LENGTH = 12
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """A new key; the plain token is returned once and only its hash is stored."""
    name = name.strip()
    if not name or len(name) > 120:
        raise Invalid("an API key needs a name of 1-120 characters", field="name")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=prefix, key_hash=_hash_secret(secret))
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


def authenticate_admin(
    session: Session, email: str, password: str, *, now: datetime | None = None
) -> AdminUser:
    """The active admin with this email and password, or :class:`Unauthorized`
    (one message for every reason). A session token is made if missing."""
    user = session.scalar(
        select(AdminUser).where(AdminUser.email == email.strip().lower())
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise Unauthorized("wrong email or password")
    if not check_password_hash(user.password_hash, password) or not user.active:
        raise Unauthorized("wrong email or password")
    user.last_login_at = now or utcnow()
    if not user.session_token:
        user.session_token = secrets.token_urlsafe(24)
    session.flush()
    return user


def end_sessions(session: Session, admin_id: int) -> None:
    """Log an admin out everywhere: sessions signed with the old token end."""
    user = session.get(AdminUser, admin_id)
    if user is None:
        raise NotFound(f"admin {admin_id} not found")
    user.session_token = secrets.token_urlsafe(24)
    session.flush()
