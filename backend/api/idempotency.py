"""``Idempotency-Key`` on the API's side-effecting routes (every authenticated
route but a GET): the request is carried out once, a repeat is answered with
the response it got (``backend.services.idempotency``).

A request with a key is one transaction, the key's row and the response in
it: the views' :func:`commit` only flushes then, and :func:`carry_out` commits
once the response is made. A view that commits before refusing (a wrong phone
code is counted) keeps its refusal too; one that refuses without committing
leaves nothing, so a repeat is carried out afresh; so does a 5xx. What a
view does after its commit (texting a phone code) happens before the
transaction ends then: a send that fails leaves nothing kept, and a commit
that fails after a send has the repeat send again. Header syntax and
semantics follow draft-ietf-httpapi-idempotency-key-header: a key used for
another request is 422; a replayed response says ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, g, jsonify, make_response, request

from backend.api.errors import BadRequest, handle_domain_error
from backend.extensions import db
from backend.models import IdempotencyKey
from backend.services import idempotency
from backend.services.errors import DomainError

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
#: The response headers kept with the key and given again on a repeat.
KEPT_HEADERS = ("Location",)
_ACTIVE = "beckon_idempotency"


@dataclass
class _Active:
    """The claim of the request being carried out."""

    row: IdempotencyKey
    #: the view asked to commit: what it did is to be kept, refusal or not
    committed: bool = False


def key_of_request() -> str | None:
    """The request's key, None without one; a malformed one is a 400."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not 0 < len(key) <= idempotency.MAX_KEY or not all(" " <= c <= "~" for c in key):
        raise BadRequest(
            f"an {HEADER} has 1 to {idempotency.MAX_KEY} printable ASCII characters",
            details=[{"field": HEADER, "message": "malformed"}],
            code="bad_idempotency_key",
        )
    return key


def carry_out(key: str, view: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """The view's response to a request with ``key``: made now and kept, or
    the one kept from the first request with it."""
    session = db.session
    body: Any = request.get_json(silent=True)
    if body is None:
        body = request.get_data(cache=True)
    claimed = idempotency.claim(
        session,
        g.api_key_id,
        key,
        idempotency.fingerprint(
            request.method,
            request.path,
            request.query_string.decode("latin-1"),
            body,
        ),
    )
    if isinstance(claimed, idempotency.Kept):
        session.rollback()
        return _replayed(claimed)
    active = _Active(claimed)
    setattr(g, _ACTIVE, active)
    try:
        try:
            response = make_response(view(**kwargs))
        except DomainError as exc:
            if not active.committed:
                raise
            response = handle_domain_error(exc)
    except BaseException:
        session.rollback()
        raise
    finally:
        g.pop(_ACTIVE, None)
    if response.status_code >= 500:
        session.rollback()
        return response
    idempotency.keep(
        session,
        claimed,
        response.status_code,
        response.get_json(silent=True),
        {
            name: response.headers[name]
            for name in KEPT_HEADERS
            if name in response.headers
        },
    )
    session.commit()
    return response


def commit() -> None:
    """A view's commit: the transaction's end; in a request with a key, a
    flush (:func:`carry_out` commits, with the response)."""
    active: _Active | None = g.get(_ACTIVE)
    if active is None:
        db.session.commit()
        return
    db.session.flush()
    active.committed = True


def _replayed(kept: idempotency.Kept) -> Response:
    response = jsonify(kept.body)
    response.status_code = kept.status
    for name, value in kept.headers.items():
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response
