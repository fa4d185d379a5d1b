"""The one way the assistant's actions reach Beckon: its REST API (``/api/v1``).

Every call has a timeout and ends in a value or a typed error carrying a
sentence a person can be told (:attr:`BackendError.say`): the backend being
down, slow or refusing never reaches a customer as a stack trace or silence.
Nothing connects at import time; settings come from the environment
(``BECKON_API_URL``, ``BECKON_API_KEY``, ``BECKON_API_TIMEOUT``).

A call that changes something takes the ``key`` of the message that caused it
(:func:`message_key`) and sends it as an ``Idempotency-Key``, one per call
(the key, the method and the path): the same message processed twice (its
first answer lost to a crash, or still finishing after the holding reply)
books, cancels or texts a code once; the API answers the repeat with the first
response. Finding a customer (``identify``) and a search (``matches``) carry
none: they are safe to repeat, and what they answer must be current.

The key is the assistant's (its ``assistant`` scope): it may call only what
the actions call, for the person whose message they answer, so a client
acting for someone (:meth:`Backend.acting_for`) names them in every call's
:data:`IDENTITY_HEADER`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import requests

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 8.0
IDEMPOTENCY_HEADER = "Idempotency-Key"


def message_key(metadata: Any) -> str | None:
    """The key of the calls one inbound message causes: Beckon's id of the
    message (``beckon_id``, in the metadata the conversation layer sends with
    it); None for a message that did not come through Beckon (``rasa shell``)."""
    beckon_id = metadata.get("beckon_id") if isinstance(metadata, dict) else None
    if isinstance(beckon_id, bool) or not isinstance(beckon_id, (int, str)):
        return None
    if not str(beckon_id).isdigit():
        return None
    return f"beckon-message-{int(beckon_id)}"


#: The header naming the person the assistant acts for: "<channel>:<sender id>".
IDENTITY_HEADER = "Beckon-Identity"


class BackendError(Exception):
    """A call that did not succeed; ``say`` is what to tell the person."""

    say = "Sorry, something went wrong on our side. Please try again in a minute."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.code, self.details = (
            message,
            status,
            code,
            details,
        )


class BackendUnavailable(BackendError):
    say = (
        "Sorry, I can't reach our booking system right now. "
        "Please try again in a few minutes; nothing has been booked or changed."
    )


class NotFound(BackendError):
    @property
    def say(self) -> str:  # type: ignore[override]
        return f"I couldn't find that: {self.message}."


class Conflict(BackendError):
    @property
    def say(self) -> str:  # type: ignore[override]
        return f"That didn't work: {self.message}."


class Invalid(BackendError):
    @property
    def say(self) -> str:  # type: ignore[override]
        return f"Hmm, {self.message}."


ERROR_OF_STATUS = {404: NotFound, 409: Conflict, 422: Invalid, 400: Invalid}


@dataclass
class Backend:
    """A client of Beckon's API with an API key."""

    url: str = field(
        default_factory=lambda: os.environ.get("BECKON_API_URL", DEFAULT_URL)
    )
    key: str = field(default_factory=lambda: os.environ.get("BECKON_API_KEY", ""))
    timeout: float = field(
        default_factory=lambda: float(
            os.environ.get("BECKON_API_TIMEOUT", DEFAULT_TIMEOUT)
        )
    )
    session: requests.Session = field(default_factory=requests.Session)
    #: the person this client acts for ("<channel>:<sender id>"), if anyone
    identity: str = ""

    def acting_for(self, channel: str, sender_id: str) -> Backend:
        """This client (its settings and connections) acting for the person
        who writes on ``channel`` as ``sender_id``."""
        return dataclasses.replace(self, identity=f"{channel}:{sender_id}")

    def _call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        params=None,
        *,
        key: str | None = None,
    ) -> Any:
        """The API's answer; ``key``: the message's (:func:`message_key`), sent
        as this call's Idempotency-Key."""
        headers = self._headers()
        if key:
            headers[IDEMPOTENCY_HEADER] = f"{key}:{method}:{path}"
        try:
            response = self.session.request(
                method,
                f"{self.url.rstrip('/')}/api/v1{path}",
                json=body,
                params=params,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise BackendUnavailable(
                f"{method} {path}: {exc.__class__.__name__}"
            ) from exc
        if response.status_code >= 500 or response.status_code in (401, 403):
            # a server fault or our own bad key: the person can do nothing about it
            raise BackendUnavailable(f"{method} {path}: HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise BackendUnavailable(f"{method} {path}: not JSON") from exc
        if response.status_code >= 400:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            kind = ERROR_OF_STATUS.get(response.status_code, BackendError)
            raise kind(
                error.get("message", f"HTTP {response.status_code}"),
                status=response.status_code,
                code=error.get("code"),
                details=error.get("details"),
            )
        return payload

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"}
        if self.identity:
            headers[IDENTITY_HEADER] = self.identity
        return headers

    # ------------------------------------------------------------ customers

    def identify(self, channel: str, external_id: str, **extra: Any) -> dict:
        """The customer behind a channel identity (created on first contact)."""
        return self._call(
            "POST",
            "/customers/identify",
            {"channel": channel, "external_id": external_id, **extra},
        )

    def start_phone_link(
        self, customer_id: int, phone: str, *, key: str | None = None
    ) -> dict:
        """Text a one-time code to ``phone``."""
        return self._call(
            "POST", f"/customers/{customer_id}/phone-link", {"phone": phone}, key=key
        )

    def confirm_phone_link(
        self, customer_id: int, phone: str, code: str, *, key: str | None = None
    ) -> dict:
        """The customer, now joined with the phone's customer."""
        return self._call(
            "POST",
            f"/customers/{customer_id}/phone-link/confirm",
            {"phone": phone, "code": code},
            key=key,
        )

    def handoff(
        self,
        customer_id: int,
        channel: str,
        reason: str = "",
        *,
        key: str | None = None,
    ) -> dict:
        """Flag the conversation for a person in the console."""
        return self._call(
            "POST",
            f"/customers/{customer_id}/handoff",
            {"channel": channel, "reason": reason},
            key=key,
        )

    def bookings_of(self, customer_id: int, status: str | None = None) -> list[dict]:
        params = {"status": status} if status else None
        return self._call("GET", f"/customers/{customer_id}/bookings", params=params)[
            "items"
        ]

    # ------------------------------------------------------------ catalogue

    def categories(self) -> list[dict]:
        return self._call("GET", "/categories")["items"]

    def place(self, city: str) -> dict:
        """A city resolved to coordinates and its time zone (Invalid if unknown)."""
        return self._call("GET", "/places", params={"city": city})

    def provider(self, provider_id: int) -> dict:
        return self._call("GET", f"/providers/{provider_id}")

    def provider_slots(self, provider_id: int, start: str, end: str) -> list[dict]:
        """A provider's free slots between two ISO times."""
        return self._call(
            "GET",
            f"/providers/{provider_id}/availability",
            params={"from": start, "to": end},
        )["slots"]

    # ------------------------------------------------------------ matching and booking

    def matches(
        self,
        text: str,
        *,
        city: str | None = None,
        window: tuple[str, str] | None = None,
        customer_id: int | None = None,
        category: str | None = None,
        limit: int = 9,
    ) -> dict:
        """Ranked providers for a request in the person's words."""
        body: dict[str, Any] = {"text": text, "limit": limit}
        if category:
            body["category"] = category
        if city:
            body["city"] = city
        if window:
            body["when"] = {"from": window[0], "to": window[1]}
        if customer_id:
            body["customer_id"] = customer_id
        return self._call("POST", "/matches", body)

    def book(
        self,
        provider_id: int,
        customer_id: int,
        start: str,
        *,
        channel: str = "api",
        confirm: bool = True,
        key: str | None = None,
    ) -> dict:
        return self._call(
            "POST",
            "/bookings",
            {
                "provider_id": provider_id,
                "customer_id": customer_id,
                "start": start,
                "confirm": confirm,
                "channel": channel,
            },
            key=key,
        )

    def booking(self, booking_id: int) -> dict:
        return self._call("GET", f"/bookings/{booking_id}")

    def act(
        self,
        booking_id: int,
        action: str,
        *,
        actor: str,
        reason: str = "",
        key: str | None = None,
    ) -> dict:
        """confirm, cancel, check-in, complete or no-show."""
        return self._call(
            "POST",
            f"/bookings/{booking_id}/{action}",
            {"actor": actor, "reason": reason},
            key=key,
        )

    def reschedule(
        self, booking_id: int, start: str, *, actor: str, key: str | None = None
    ) -> dict:
        return self._call(
            "POST",
            f"/bookings/{booking_id}/reschedule",
            {"start": start, "actor": actor},
            key=key,
        )

    def review(
        self, booking_id: int, stars: int, text: str = "", *, key: str | None = None
    ) -> dict:
        return self._call(
            "POST",
            f"/bookings/{booking_id}/review",
            {"stars": stars, "text": text},
            key=key,
        )
