"""The API's views. Each parses its input, calls one service and commits."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, url_for
from pydantic import BaseModel, ConfigDict, Field

from backend.api import acting, idempotency
from backend.api.blueprint import PREFIX, api_bp
from backend.api.registry import endpoint, openapi_document
from backend.api.serializers import (
    area_availability_json,
    booking_json,
    customer_json,
    iso,
    job_json,
    match_json,
    place_json,
    provider_json,
    review_json,
    slot_json,
)
from backend.extensions import db
from backend.models import ApiScope, Category, Channel, Service
from backend.notifiers import (
    DeliveryError,
    code_not_sent,
    send_phone_code,
    send_phone_notice,
)
from backend.schemas import (
    AreaAvailabilityQuery,
    AvailabilityQuery,
    BookingAction,
    BookingCreate,
    IdentityInput,
    JobCreate,
    MatchCreate,
    PhoneLinkConfirm,
    PhoneLinkStart,
    ProviderCreate,
    ProviderUpdate,
    RescheduleInput,
    ReviewCreate,
    VerifyInput,
)
from backend.services import (
    availability,
    bookings,
    conversations,
    customers,
    jobs,
    matching,
    matchlog,
    providers,
    reviews,
)
from backend.services.errors import Invalid
from backend.services.places import place_from
from backend.services.rules import BookingRules, FollowUpRules, TextRules

READ, BOOK, ADMIN = ApiScope.READ, ApiScope.BOOK, ApiScope.ADMIN
NOT_FOUND = {404: "not found"}
CONFLICT = {404: "not found", 409: "conflicts with the current state"}


def rules() -> BookingRules:
    return current_app.extensions["beckon.rules"]


def follow_up_rules() -> FollowUpRules:
    return current_app.extensions["beckon.follow_up_rules"]


def text_rules() -> TextRules:
    return current_app.extensions["beckon.text_rules"]


def created(payload: dict[str, Any], location: str | None = None):
    response = jsonify(payload)
    response.status_code = 201
    if location:
        response.headers["Location"] = location
    return response


def commit() -> None:
    """The view's work is done (in a request with an Idempotency-Key, it is
    committed with its response: ``idempotency.commit``)."""
    idempotency.commit()


# ---------------------------------------------------------------- meta


@endpoint(
    api_bp,
    "/openapi.json",
    "GET",
    "This API's OpenAPI description",
    auth=False,
    tag="meta",
)
def openapi():
    return jsonify(openapi_document(PREFIX, "Beckon API", "1.0.0"))


@endpoint(
    api_bp,
    "/categories",
    "GET",
    "The marketplace's categories",
    tag="catalogue",
    scope=READ,
    assistant=acting.anyone,
)
def list_categories():
    rows = db.session.query(Category).order_by(Category.kind, Category.name)
    return jsonify(
        items=[
            {
                "slug": c.slug,
                "name": c.name,
                "kind": c.kind.value,
                "description": c.description,
                "synonyms": c.synonyms,
            }
            for c in rows
        ]
    )


# ---------------------------------------------------------------- providers


class ProviderListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str | None = None
    city: str | None = None
    verified: bool | None = None
    active: bool | None = True
    min_rating: float | None = Field(None, ge=0, le=5)
    q: str | None = Field(None, max_length=200)
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=200)


@endpoint(
    api_bp,
    "/providers",
    "GET",
    "Search providers",
    query=ProviderListQuery,
    tag="providers",
    scope=READ,
)
def list_providers(query: ProviderListQuery):
    rows, total = providers.list_providers(
        db.session,
        providers.ProviderFilter(
            category=query.category,
            city=query.city,
            verified=query.verified,
            active=query.active,
            min_rating=query.min_rating,
            query=query.q,
            offset=(query.page - 1) * query.per_page,
            limit=query.per_page,
        ),
    )
    return jsonify(
        items=[provider_json(p, full=False) for p in rows],
        total=total,
        page=query.page,
        per_page=query.per_page,
    )


@endpoint(
    api_bp,
    "/providers",
    "POST",
    "Add a provider",
    body=ProviderCreate,
    status=201,
    tag="providers",
    responses={409: "external_id exists"},
    scope=ADMIN,
)
def create_provider(body: ProviderCreate):
    provider = providers.create_provider(db.session, body)
    commit()
    return created(
        provider_json(provider), url_for("api.get_provider", provider_id=provider.id)
    )


@endpoint(
    api_bp,
    "/providers/<int:provider_id>",
    "GET",
    "One provider",
    tag="providers",
    responses=NOT_FOUND,
    scope=READ,
    assistant=acting.anyone,
)
def get_provider(provider_id: int):
    return jsonify(provider_json(providers.get_provider(db.session, provider_id)))


@endpoint(
    api_bp,
    "/providers/<int:provider_id>",
    "PATCH",
    "Change a provider",
    body=ProviderUpdate,
    tag="providers",
    responses=CONFLICT,
    scope=ADMIN,
)
def update_provider(provider_id: int, body: ProviderUpdate):
    provider = providers.update_provider(db.session, provider_id, body)
    commit()
    return jsonify(provider_json(provider))


@endpoint(
    api_bp,
    "/providers/<int:provider_id>/deactivate",
    "POST",
    "Take a provider off the marketplace",
    tag="providers",
    responses=NOT_FOUND,
    scope=ADMIN,
)
def deactivate_provider(provider_id: int):
    provider = providers.deactivate_provider(db.session, provider_id)
    commit()
    return jsonify(provider_json(provider))


@endpoint(
    api_bp,
    "/providers/<int:provider_id>/verify",
    "POST",
    "Record a provider's verification checklist",
    body=VerifyInput,
    tag="providers",
    responses=NOT_FOUND,
    scope=ADMIN,
)
def verify_provider(provider_id: int, body: VerifyInput):
    provider = providers.verify_provider(db.session, provider_id, body)
    commit()
    return jsonify(provider_json(provider))


@endpoint(
    api_bp,
    "/providers/<int:provider_id>/availability",
    "GET",
    "Free slots of a provider",
    query=AvailabilityQuery,
    tag="availability",
    responses=NOT_FOUND,
    scope=READ,
    assistant=acting.anyone,
)
def provider_availability(provider_id: int, query: AvailabilityQuery):
    provider = providers.get_provider(db.session, provider_id)
    service = None
    if query.service_id is not None:
        service = db.session.get(Service, query.service_id)
        if service is None or service.provider_id != provider.id:
            raise Invalid(
                f"service {query.service_id} is not offered by this provider",
                field="service_id",
            )
    slots = availability.provider_free_slots(
        db.session,
        provider,
        query.from_,
        query.to,
        rules(),
        service=service,
        duration_minutes=query.duration_minutes,
    )
    return jsonify(
        provider_id=provider.id,
        timezone=provider.timezone,
        slots=[slot_json(s, provider.timezone) for s in slots],
    )


@endpoint(
    api_bp,
    "/availability",
    "GET",
    "Free slots of the providers of a category near a place",
    query=AreaAvailabilityQuery,
    tag="availability",
    scope=READ,
)
def area_availability(query: AreaAvailabilityQuery):
    place = place_from(
        query.city, query.lat, query.lon, served=providers.served_by(db.session)
    )
    found = availability.free_slots_near(
        db.session,
        query.category,
        place,
        query.from_,
        query.to,
        rules(),
        limit=query.limit,
    )
    return jsonify(
        place=place_json(place),
        items=[area_availability_json(item) for item in found],
    )


# ---------------------------------------------------------------- places


class PlaceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str = Field(..., min_length=1, max_length=120)


@endpoint(
    api_bp,
    "/places",
    "GET",
    "Resolve a city name to coordinates and a time zone",
    query=PlaceQuery,
    tag="catalogue",
    responses={422: "unknown place"},
    scope=READ,
    assistant=acting.anyone,
)
def resolve_place(query: PlaceQuery):
    return jsonify(
        place_json(place_from(query.city, served=providers.served_by(db.session)))
    )


# ---------------------------------------------------------------- customers


@endpoint(
    api_bp,
    "/customers/identify",
    "POST",
    "Find or create the customer behind a channel identity",
    body=IdentityInput,
    tag="customers",
    scope=BOOK,
    assistant=acting.themselves,
)
def identify_customer(body: IdentityInput):
    customer, is_new = customers.find_or_create_by_identity(db.session, body)
    commit()
    payload = customer_json(customer) | {"created": is_new}
    return created(payload) if is_new else jsonify(payload)


@endpoint(
    api_bp,
    "/customers/<int:customer_id>",
    "GET",
    "One customer",
    tag="customers",
    responses=NOT_FOUND,
    scope=READ,
)
def get_customer(customer_id: int):
    return jsonify(customer_json(customers.get_customer(db.session, customer_id)))


@endpoint(
    api_bp,
    "/customers/<int:customer_id>/phone-link",
    "POST",
    "Send a code by SMS to link a phone number",
    body=PhoneLinkStart,
    status=202,
    tag="customers",
    responses={
        **NOT_FOUND,
        409: "too many codes asked for lately (too_many_codes), this hour's "
        "texts spent (texts_budget_spent), or the number locked after too many "
        "wrong codes (phone_locked)",
        422: "not a phone number, or one of a country codes are not texted to "
        "(phone_country_not_served)",
        502: "the SMS provider refused the number (code_not_sent)",
        503: "the SMS provider is out of reach: ask again later (code_not_sent)",
    },
    scope=BOOK,
    assistant=acting.their_record,
)
def start_phone_link(customer_id: int, body: PhoneLinkStart):
    link = customers.start_phone_link(
        db.session,
        customer_id,
        body.phone,
        code_minutes=rules().phone_code_minutes,
        text_rules=text_rules(),
    )
    commit()
    try:
        send_phone_code(current_app.extensions["beckon.notifiers"], link)
    except DeliveryError as exc:
        customers.phone_code_not_sent(db.session, link.verification.id)
        commit()
        raise code_not_sent(link, exc) from exc
    response = jsonify(
        status="code_sent", expires_at=link.verification.expires_at.isoformat()
    )
    response.status_code = 202
    return response


@endpoint(
    api_bp,
    "/customers/<int:customer_id>/phone-link/confirm",
    "POST",
    "Confirm a phone code; identities join the phone's customer",
    body=PhoneLinkConfirm,
    tag="customers",
    responses={
        **CONFLICT,
        409: "no code waiting (code_expired), too many wrong tries of this code "
        "(too_many_attempts), or the number locked (phone_locked)",
        422: "the code is not right",
    },
    scope=BOOK,
    assistant=acting.their_record,
)
def confirm_phone_link(customer_id: int, body: PhoneLinkConfirm):
    try:
        customer = customers.confirm_phone_link(
            db.session, customer_id, body.phone, body.code
        )
    except customers.WrongCode as wrong:
        commit()  # keep the counted wrong attempt
        if wrong.notice is not None:
            send_phone_notice(current_app.extensions["beckon.notifiers"], wrong.notice)
        raise
    commit()
    return jsonify(customer_json(customer))


class HandoffInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    reason: str = Field("", max_length=300)


@endpoint(
    api_bp,
    "/customers/<int:customer_id>/handoff",
    "POST",
    "Ask for a person: the customer's conversation is flagged for the console",
    body=HandoffInput,
    tag="customers",
    responses=NOT_FOUND,
    scope=BOOK,
    assistant=acting.their_record,
)
def request_handoff(customer_id: int, body: HandoffInput):
    conversation = conversations.request_human(db.session, customer_id, body.channel)
    commit()
    return jsonify(
        conversation_id=conversation.id,
        channel=conversation.channel.value,
        flagged=conversation.flagged,
        status=conversation.status.value,
    )


class CustomerBookingsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = None
    limit: int = Field(50, ge=1, le=200)


@endpoint(
    api_bp,
    "/customers/<int:customer_id>/bookings",
    "GET",
    "A customer's bookings, newest first",
    query=CustomerBookingsQuery,
    tag="bookings",
    responses=NOT_FOUND,
    scope=READ,
    assistant=acting.their_record,
)
def list_customer_bookings(customer_id: int, query: CustomerBookingsQuery):
    rows = bookings.customer_bookings(
        db.session, customer_id, status=query.status, limit=query.limit
    )
    return jsonify(items=[booking_json(b) for b in rows])


# ---------------------------------------------------------------- jobs


def matching_index() -> matching.MatchingIndex:
    return current_app.extensions["beckon.matching"]


def matches_json(request: matching.MatchRequest) -> dict[str, Any]:
    """Run a match and shape it: the one path every request for a provider takes."""
    results = matching_index().match(db.session, request, rules())
    matchlog.record_match(  # the console's funnel and match acceptance
        db.session,
        request.text,
        [r.provider.id for r in results],
        customer_id=request.customer_id,
        category=request.category,
        city=request.place.name if request.place else None,
    )
    commit()
    return {
        "place": None if request.place is None else place_json(request.place),
        "window": {"from": iso(request.start), "to": iso(request.end)},
        "matches": [match_json(r) for r in results],
        "note": None
        if request.place
        else "no place given: only providers who work by phone or video are shown",
    }


@endpoint(
    api_bp,
    "/matches",
    "POST",
    "Providers for a request in a person's own words, ranked and explained",
    body=MatchCreate,
    tag="matching",
    responses={404: "customer not found"},
    scope=READ,
    assistant=acting.as_their_customer,
)
def create_match(body: MatchCreate):
    request = matching.match_request(
        body.text,
        city=body.city,
        lat=body.lat,
        lon=body.lon,
        start=body.when.from_ if body.when else None,
        end=body.when.to if body.when else None,
        served=providers.served_by(db.session),
        category=body.category,
        customer_id=body.customer_id,
        limit=body.limit,
        verified_only=body.verified_only,
        language=body.language,
    )
    return jsonify(matches_json(request))


@endpoint(
    api_bp,
    "/jobs",
    "POST",
    "Record a job from a customer's words",
    body=JobCreate,
    status=201,
    tag="jobs",
    responses=NOT_FOUND,
    scope=BOOK,
)
def create_job(body: JobCreate):
    job = jobs.create_job(db.session, body)
    commit()
    # by its town when it names one (the town's own providers come first)
    request = matching.match_request(
        job.text,
        city=job.city,
        lat=None if job.city else job.lat,
        lon=None if job.city else job.lon,
        served=providers.served_by(db.session),
        start=job.window_start,
        end=job.window_end,
        category=job.category.slug if job.category else None,
        customer_id=job.customer_id,
    )
    payload = job_json(job) | {"matches": matches_json(request)["matches"]}
    return created(payload, url_for("api.get_job", job_id=job.id))


@endpoint(
    api_bp,
    "/jobs/<int:job_id>",
    "GET",
    "One job",
    tag="jobs",
    responses=NOT_FOUND,
    scope=READ,
)
def get_job(job_id: int):
    return jsonify(job_json(jobs.get_job(db.session, job_id)))


# ---------------------------------------------------------------- bookings


@endpoint(
    api_bp,
    "/bookings",
    "POST",
    "Hold or confirm a provider's slot",
    body=BookingCreate,
    status=201,
    tag="bookings",
    responses=CONFLICT,
    scope=BOOK,
    assistant=acting.as_their_customer,
)
def create_booking(body: BookingCreate):
    booking = bookings.create_booking(
        db.session, body, rules(), follow_ups=follow_up_rules()
    )
    commit()
    return created(
        booking_json(booking), url_for("api.get_booking", booking_id=booking.id)
    )


@endpoint(
    api_bp,
    "/bookings/<int:booking_id>",
    "GET",
    "One booking with its history",
    tag="bookings",
    responses=NOT_FOUND,
    scope=READ,
    assistant=acting.booking_party,
)
def get_booking(booking_id: int):
    return jsonify(booking_json(bookings.get_booking(db.session, booking_id)))


def _transition_view(action: str, summary: str, assistant: acting.Rule | None) -> None:
    path = action.replace("_", "-")

    def view(booking_id: int, body: BookingAction):
        booking = bookings.transition(
            db.session,
            booking_id,
            action,
            actor=body.actor,
            reason=body.reason,
            follow_ups=follow_up_rules(),
        )
        commit()
        return jsonify(booking_json(booking))

    view.__name__ = f"{action}_booking"
    endpoint(
        api_bp,
        f"/bookings/<int:booking_id>/{path}",
        "POST",
        summary,
        body=BookingAction,
        tag="bookings",
        responses=CONFLICT,
        scope=BOOK,
        assistant=assistant,
    )(view)


for _action, _summary, _assistant in (
    ("confirm", "Confirm a held booking", None),
    ("cancel", "Cancel a booking", acting.booking_customer),
    ("check_in", "The provider has arrived or started", acting.booking_provider),
    ("complete", "The job or session is done", acting.booking_provider),
    ("no_show", "The customer did not show up", None),
):
    _transition_view(_action, _summary, _assistant)


@endpoint(
    api_bp,
    "/bookings/<int:booking_id>/reschedule",
    "POST",
    "Move a booking to a new time",
    body=RescheduleInput,
    tag="bookings",
    responses=CONFLICT,
    scope=BOOK,
    assistant=acting.booking_customer,
)
def reschedule_booking(booking_id: int, body: RescheduleInput):
    booking = bookings.reschedule(
        db.session,
        booking_id,
        body.start,
        rules(),
        end=body.end,
        actor=body.actor,
        reason=body.reason,
        follow_ups=follow_up_rules(),
    )
    commit()
    return jsonify(booking_json(booking))


@endpoint(
    api_bp,
    "/bookings/<int:booking_id>/review",
    "POST",
    "Review a completed booking",
    body=ReviewCreate,
    status=201,
    tag="reviews",
    responses=CONFLICT,
    scope=BOOK,
    assistant=acting.booking_customer,
)
def review_booking(booking_id: int, body: ReviewCreate):
    review = reviews.leave_review(db.session, booking_id, body)
    commit()
    return created(review_json(review))
