"""Domain objects as JSON: instants in UTC ISO 8601, with local time where it helps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.models import (
    Booking,
    Customer,
    Job,
    Provider,
    Review,
    Service,
    ServiceMode,
)
from backend.services.availability import ProviderAvailability, Slot
from backend.services.matching import MatchResult, provider_is_remote
from backend.services.places import Place


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_iso(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).isoformat()


def service_json(service: Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "category": service.category.slug if service.category else None,
        "mode": service.mode.value,
        "duration_minutes": service.duration_minutes,
        "price_cents": service.price_cents,
        "currency": service.currency,
    }


def provider_json(provider: Provider, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": provider.id,
        "external_id": provider.external_id,
        "name": provider.name,
        "categories": [c.slug for c in provider.categories],
        "city": provider.city,
        "lat": provider.lat,
        "lon": provider.lon,
        "radius_km": provider.radius_km,
        "timezone": provider.timezone,
        "rating": provider.rating,
        "review_count": provider.review_count,
        "verification_state": provider.verification_state.value,
        "active": provider.active,
    }
    if full:
        out.update(
            description=provider.description,
            services=[service_json(s) for s in provider.services if s.active],
            hours=provider.weekly_hours,
            languages=provider.languages,
            phone=provider.phone,
            email=provider.email,
            attributes=provider.attributes,
            verification=provider.verification_notes or None,
            verified_at=iso(provider.verified_at),
            updated_at=iso(provider.updated_at),
        )
    return out


def place_json(place: Place) -> dict[str, Any]:
    return {
        "name": place.label,
        "lat": place.lat,
        "lon": place.lon,
        "timezone": place.timezone,
    }


def slot_json(slot: Slot, zone: str) -> dict[str, Any]:
    return {
        "start": iso(slot.start),
        "end": iso(slot.end),
        "local_start": local_iso(slot.start, zone),
        "local_end": local_iso(slot.end, zone),
    }


def area_availability_json(item: ProviderAvailability) -> dict[str, Any]:
    return {
        "provider": provider_json(item.provider, full=False),
        "distance_km": item.distance_km,
        "slots": [slot_json(s, item.provider.timezone) for s in item.slots],
    }


def booking_json(booking: Booking) -> dict[str, Any]:
    zone = booking.provider.timezone
    remote = (
        booking.service.mode == ServiceMode.REMOTE
        if booking.service
        else provider_is_remote(booking.provider)
    )
    customer_zone = booking.customer.timezone if booking.customer else None
    return {
        "id": booking.id,
        "status": booking.status.value,
        "provider_id": booking.provider_id,
        "provider_name": booking.provider.name,
        "customer_id": booking.customer_id,
        "job_id": booking.job_id,
        "service_id": booking.service_id,
        "start": iso(booking.starts_at),
        "end": iso(booking.ends_at),
        "local_start": local_iso(booking.starts_at, zone),
        "local_end": local_iso(booking.ends_at, zone),
        "timezone": zone,
        # a session by phone or video happens on the customer's clock
        "remote": remote,
        "customer_local_start": local_iso(booking.starts_at, customer_zone)
        if customer_zone
        else None,
        "hold_expires_at": iso(booking.hold_expires_at),
        "price_cents": booking.price_cents,
        "channel": booking.channel.value,
        "cancel_reason": booking.cancel_reason,
        "history": [
            {
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "old_start": iso(e.old_starts_at),
                "old_end": iso(e.old_ends_at),
                "start": iso(e.new_starts_at),
                "end": iso(e.new_ends_at),
                "actor": e.actor,
                "note": e.note,
                "at": iso(e.at),
            }
            for e in booking.events
        ],
    }


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "display_name": customer.display_name,
        "phone": customer.phone,
        "email": customer.email,
        "locale": customer.locale,
        "timezone": customer.timezone,
        "opt_outs": list(customer.opt_outs or []),
        "identities": [
            {
                "channel": i.channel.value,
                "external_id": i.external_id,
                "verified": i.verified_at is not None,
            }
            for i in customer.identities
        ],
    }


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "customer_id": job.customer_id,
        "text": job.text,
        "category": job.category.slug if job.category else None,
        "address": job.address,
        "city": job.city,
        "lat": job.lat,
        "lon": job.lon,
        "when": {"from": iso(job.window_start), "to": iso(job.window_end)}
        if job.window_start
        else None,
        "status": job.status.value,
        "created_at": iso(job.created_at),
    }


def review_json(review: Review) -> dict[str, Any]:
    return {
        "id": review.id,
        "booking_id": review.booking_id,
        "provider_id": review.provider_id,
        "stars": review.stars,
        "text": review.text,
        "moderation": review.moderation.value,
        "created_at": iso(review.created_at),
    }


def match_json(result: MatchResult) -> dict[str, Any]:
    provider, match = result.provider, result.match
    return {
        "provider": provider_json(provider, full=False)
        | {"services": [service_json(s) for s in provider.services if s.active]},
        "score": round(match.score, 4),
        "similarity": round(match.similarity, 4),
        "distance_km": None if match.remote else match.distance_km,
        "remote": match.remote,
        "reasons": match.reasons,
        "features": {k: round(v, 4) for k, v in match.features.items()},
        "next_slots": [slot_json(s, provider.timezone) for s in result.slots],
    }
