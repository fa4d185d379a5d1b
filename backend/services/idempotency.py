"""Idempotency keys: a side-effecting request made twice is carried out once.

A caller (an API key) names a request with a key of its own choosing (the
assistant's actions: the inbound message that caused the call). The first
request with a key is carried out, and its response is kept with the key in
the same transaction as its work, so either both are committed or neither:
a process that dies at any point leaves the work done and its response kept,
or nothing at all. A repeat (the same caller, key and request) is answered
with the kept response; the same key for another request is refused.

A repeat that comes while the first is still at work waits for it (on
PostgreSQL on the key's unique index, on SQLite on the write lock), then is
answered with its response; or, when the first kept nothing (it failed and
rolled back), is carried out itself.

Keys are kept at least ``Config.IDEMPOTENCY_KEY_HOURS`` (beat forgets older
ones: :func:`forget_expired`); a key seen again after that is a new request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import IdempotencyKey
from backend.services.errors import Conflict, Invalid

#: The longest key a caller may give (the column's size).
MAX_KEY = 255


def fingerprint(method: str, path: str, query: str, body: Any) -> str:
    """What makes two requests the same one: method, path, query and body (a
    JSON body as its content, whatever its spacing and order of keys)."""
    if isinstance(body, bytes):
        content = body.hex()
    else:
        content = json.dumps(body, sort_keys=True, separators=(",", ":"))
    request = "\n".join((method.upper(), path, query, content))
    return hashlib.sha256(request.encode()).hexdigest()


@dataclass(frozen=True)
class Kept:
    """The response an earlier request with the key got."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def claim(
    session: Session,
    caller_id: int,
    key: str,
    request_fingerprint: str,
    *,
    now: datetime | None = None,
) -> IdempotencyKey | Kept:
    """The row to keep a new request's response in (added in the caller's
    transaction, which must go on to carry it out and :func:`keep`), or the
    :class:`Kept` response of the request made earlier with ``key``.

    :class:`Invalid` (``idempotency_key_reused``) when ``key`` named another
    request. A request with the key still at work is waited for.
    """
    row = IdempotencyKey(
        api_key_id=caller_id,
        key=key,
        fingerprint=request_fingerprint,
        headers={},
        created_at=now or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # made before (committed; one at work was waited for on the index)
        seen = session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.api_key_id == caller_id, IdempotencyKey.key == key
            )
        )
        if seen is None:  # forgotten meanwhile: not ours to guess
            raise Conflict(
                "a request with this Idempotency-Key was just forgotten; send it again",
                code="idempotency_key_in_flux",
            ) from None
        return _kept(seen, request_fingerprint)
    return row


def _kept(seen: IdempotencyKey, request_fingerprint: str) -> Kept:
    if seen.fingerprint != request_fingerprint:
        raise Invalid(
            "this Idempotency-Key was used for another request (a different "
            "method, path or body); use a new key for a new request",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    if seen.status is None:  # never committed so; kept for safety's sake
        raise Conflict(
            "the request with this Idempotency-Key is still being carried out",
            code="idempotency_key_in_progress",
        )
    return Kept(seen.status, seen.body, dict(seen.headers or {}))


def keep(
    session: Session,
    row: IdempotencyKey,
    status: int,
    body: Any,
    headers: dict[str, str] | None = None,
) -> None:
    """Keep the response a claimed request got; the caller commits it with
    the request's work."""
    row.status, row.body, row.headers = status, body, dict(headers or {})
    session.flush()


def forget_expired(session: Session, *, older_than: datetime) -> int:
    """Forget the keys made before ``older_than``; returns how many."""
    return session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at < older_than)
        .execution_options(synchronize_session=False)
    ).rowcount
