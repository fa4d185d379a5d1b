"""Providers: create, update, deactivate, verify, list, and import from JSONL."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.catalogue import DEFAULT_CATEGORIES
from backend.db import utcnow
from backend.models import (
    Category,
    CategoryKind,
    Provider,
    Service,
    ServiceMode,
    VerificationState,
    WorkingException,
)
from backend.schemas import (
    ProviderCreate,
    ProviderFields,
    ProviderUpdate,
    VerifyInput,
    error_message,
    reading,
    slugify,
)
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.geo import bounding_box
from backend.services.places import Served, place_from

VERIFICATION_CHECKS = ("licence", "insurance", "identity")
#: a place is served when a provider who comes to people is this near it (a
#: metro area's width: namesakes are hundreds of kilometres apart)
SERVED_KM = 60.0
#: providers who reach further than this (or work remotely) serve no one place
LOCAL_KM = 150.0


def ensure_default_categories(session: Session) -> list[Category]:
    """Create the catalogue's categories that are missing; return them all."""
    existing = {c.slug: c for c in session.scalars(select(Category))}
    for spec in DEFAULT_CATEGORIES:
        if spec.slug not in existing:
            category = Category(
                slug=spec.slug,
                name=spec.name,
                kind=CategoryKind(spec.kind),
                description=spec.description,
                synonyms=list(spec.synonyms),
            )
            session.add(category)
            existing[spec.slug] = category
    session.flush()
    return list(existing.values())


def find_category(session: Session, ref: str) -> Category | None:
    """A category by slug or by name, case-insensitively."""
    slug = slugify(ref)
    return session.scalar(
        select(Category).where(
            or_(Category.slug == slug, func.lower(Category.name) == ref.strip().lower())
        )
    )


def _categories_for(
    session: Session, refs: list[str], services: list[Any] | None
) -> list[Category]:
    """Resolve category references, creating ones the marketplace does not have yet."""
    found: list[Category] = []
    for ref in refs:
        category = find_category(session, ref)
        if category is None:
            remote = bool(services) and all(s.mode == "remote" for s in services)
            category = Category(
                slug=slugify(ref),
                name=ref.strip().capitalize(),
                kind=CategoryKind.READING if remote else CategoryKind.TRADE,
                description="",
                synonyms=[],
            )
            session.add(category)
            session.flush()
        if category not in found:
            found.append(category)
    return found


def served_by(session: Session) -> Served:
    """Whether the marketplace serves a point: an active provider who comes to
    people is within ``SERVED_KM`` of it (of a town's namesakes, the one our
    providers are near is the one meant)."""

    def served(lat: float, lon: float) -> bool:
        south, north, west, east = bounding_box(lat, lon, SERVED_KM)
        nearby = (
            select(Provider.id)
            .where(
                Provider.active,
                Provider.radius_km <= LOCAL_KM,
                Provider.lat.between(south, north),
                Provider.lon.between(west, east),
            )
            .limit(1)
        )
        # a provider being placed is not flushed half-made to answer this
        with session.no_autoflush:
            return session.scalar(nearby) is not None

    return served


def get_provider(session: Session, provider_id: int) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound(f"provider {provider_id} not found")
    return provider


# optional contact fields a partial update clears when it gives them as null
CLEARABLE = ("phone", "email")


def _apply(session: Session, provider: Provider, data: ProviderFields) -> None:
    """Copy the fields that ``data`` sets onto ``provider``."""
    given = data.model_fields_set
    for name in (
        "external_id",
        "name",
        "description",
        "radius_km",
        "phone",
        "email",
        "rating",
        "review_count",
        "languages",
    ):
        if name in given and getattr(data, name) is not None:
            setattr(provider, name, getattr(data, name))
    for name in CLEARABLE:  # given as null: the provider no longer has one
        if name in given and getattr(data, name) is None:
            setattr(provider, name, None)
    if "city" in given or "lat" in given:
        place = place_from(data.city, data.lat, data.lon, served=served_by(session))
        provider.city = data.city or place.name
        provider.lat, provider.lon = place.lat, place.lon
        if data.timezone is None and place.timezone and "timezone" not in given:
            provider.timezone = provider.timezone or place.timezone
    if data.timezone:
        provider.timezone = data.timezone
    if data.hours is not None:
        provider.weekly_hours = data.hours
    if data.categories is not None:
        provider.categories = _categories_for(session, data.categories, data.services)
    if data.services is not None:
        _replace_services(session, provider, data)
    if data.exceptions is not None:
        # Old rows must be gone before new ones for the same days are inserted.
        provider.exceptions.clear()
        session.flush()
        provider.exceptions = [
            WorkingException(
                day=e.date, intervals=[list(i) for i in e.hours], note=e.note
            )
            for e in data.exceptions
        ]
    extra = data.free_form()
    if extra or "attributes" in given:
        provider.attributes = {**(provider.attributes or {}), **extra}
    if data.verified is not None:
        provider.verification_state = (
            VerificationState.VERIFIED
            if data.verified
            else VerificationState.UNVERIFIED
        )
        provider.verified_at = utcnow() if data.verified else None


def _replace_services(
    session: Session, provider: Provider, data: ProviderFields
) -> None:
    default_category = provider.categories[0] if provider.categories else None
    services = []
    for item in data.services or []:
        category = default_category
        if item.category:
            category = find_category(session, item.category)
            if category is None or category not in provider.categories:
                raise Invalid(
                    f"service '{item.name}' names category '{item.category}', "
                    "which is not one of the provider's categories",
                    field="services",
                )
        services.append(
            Service(
                name=item.name,
                category=category,
                mode=ServiceMode(item.mode),
                duration_minutes=item.duration_minutes,
                price_cents=item.price_cents,
                currency=item.currency,
            )
        )
    provider.services = services


def create_provider(session: Session, data: ProviderCreate) -> Provider:
    """Add a provider; ``external_id`` must be new."""
    if data.external_id and session.scalar(
        select(Provider.id).where(Provider.external_id == data.external_id)
    ):
        raise Conflict(f"a provider with external_id '{data.external_id}' exists")
    provider = Provider(name=data.name, timezone="", weekly_hours={}, languages=["en"])
    session.add(provider)
    _apply(session, provider, data)
    if not provider.timezone:
        raise Invalid("give the provider's timezone (an IANA name)", field="timezone")
    if not data.model_fields_set & {"radius_km"}:
        provider.radius_km = 25.0
    session.flush()
    return provider


def update_provider(
    session: Session, provider_id: int, data: ProviderUpdate
) -> Provider:
    """Change the fields given in ``data``; the rest stay as they are."""
    provider = get_provider(session, provider_id)
    if data.external_id and data.external_id != provider.external_id:
        clash = session.scalar(
            select(Provider.id).where(Provider.external_id == data.external_id)
        )
        if clash:
            raise Conflict(f"a provider with external_id '{data.external_id}' exists")
    _apply(session, provider, data)
    provider.updated_at = utcnow()
    session.flush()
    return provider


def deactivate_provider(session: Session, provider_id: int) -> Provider:
    """Take a provider off the marketplace; their bookings stay as they are."""
    provider = get_provider(session, provider_id)
    provider.active = False
    provider.updated_at = utcnow()
    session.flush()
    return provider


def reactivate_provider(session: Session, provider_id: int) -> Provider:
    """Put a deactivated provider back on the marketplace."""
    provider = get_provider(session, provider_id)
    provider.active = True
    provider.updated_at = utcnow()
    session.flush()
    return provider


def verify_provider(
    session: Session,
    provider_id: int,
    check: VerifyInput,
    *,
    now: datetime | None = None,
) -> Provider:
    """Record the verification checklist; approval needs licence, insurance and identity
    for trades, identity for readers."""
    provider = get_provider(session, provider_id)
    now = now or utcnow()
    needs = VERIFICATION_CHECKS
    if provider.categories and all(
        c.kind == CategoryKind.READING for c in provider.categories
    ):
        needs = ("identity",)
    missing = [name for name in needs if not getattr(check, name)]
    if check.approve and missing:
        raise Invalid(
            "cannot verify: these checks are not ticked: " + ", ".join(missing),
            details=[
                {"field": name, "message": "required to verify"} for name in missing
            ],
        )
    provider.verification_notes = {
        "licence": check.licence,
        "insurance": check.insurance,
        "identity": check.identity,
        "notes": check.notes,
        "by": check.verified_by,
        "at": now.isoformat(),
    }
    if check.approve:
        provider.verification_state = VerificationState.VERIFIED
        provider.verified_at = now
    else:
        provider.verification_state = VerificationState.REJECTED
        provider.verified_at = None
    provider.updated_at = now
    session.flush()
    return provider


@dataclass
class ProviderFilter:
    category: str | None = None
    city: str | None = None
    verified: bool | None = None
    active: bool | None = True
    min_rating: float | None = None
    query: str | None = None
    offset: int = 0
    limit: int = 50


def list_providers(session: Session, f: ProviderFilter) -> tuple[list[Provider], int]:
    """A page of providers matching ``f``, and how many match in all."""
    stmt = select(Provider)
    if f.category:
        category = find_category(session, f.category)
        if category is None:
            raise Invalid(f"unknown category '{f.category}'", field="category")
        stmt = stmt.where(Provider.categories.contains(category))
    if f.city:
        stmt = stmt.where(func.lower(Provider.city) == f.city.strip().lower())
    if f.verified is not None:
        op = (
            Provider.verification_state.__eq__
            if f.verified
            else Provider.verification_state.__ne__
        )
        stmt = stmt.where(op(VerificationState.VERIFIED))
    if f.active is not None:
        stmt = stmt.where(Provider.active.is_(f.active))
    if f.min_rating is not None:
        stmt = stmt.where(Provider.rating >= f.min_rating)
    if f.query:
        like = f"%{f.query.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Provider.name).like(like),
                func.lower(Provider.description).like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Provider.id).offset(f.offset).limit(f.limit))
    return list(rows), total


# ---------------------------------------------------------------- JSONL import


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _parse_line(number: int, line: str, region: str) -> ProviderCreate | dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"line": number, "message": f"not JSON: {exc.msg}"}
    if not isinstance(record, dict):
        return {"line": number, "message": "each line must be a JSON object"}
    if not record.get("external_id"):
        return {
            "line": number,
            "field": "external_id",
            "message": "external_id is required",
        }
    try:
        return ProviderCreate.model_validate(record, context=reading(region))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        return {
            "line": number,
            "field": where,
            "message": error_message(first),
            "external_id": record.get("external_id"),
        }


def import_providers(
    session: Session,
    lines: Iterable[str],
    *,
    region: str,
    skip_invalid: bool = False,
) -> ImportReport:
    """Import providers from JSONL lines; an existing ``external_id`` is updated.

    Phone numbers without a country code are ``region``'s. All or nothing by
    default: if any line is bad, nothing is written and every bad line is
    reported. With ``skip_invalid`` the good lines are imported.
    """
    report = ImportReport()
    parsed: list[ProviderCreate] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        result = _parse_line(number, line, region)
        if isinstance(result, dict):
            report.errors.append(result)
            continue
        if result.external_id in seen:
            report.errors.append(
                {
                    "line": number,
                    "field": "external_id",
                    "message": f"external_id repeats line {seen[result.external_id]}",
                }
            )
            continue
        seen[result.external_id] = number
        parsed.append(result)
    if report.errors and not skip_invalid:
        return report
    existing = (
        {
            ext: pid
            for ext, pid in session.execute(
                select(Provider.external_id, Provider.id).where(
                    Provider.external_id.in_(list(seen))
                )
            )
        }
        if seen
        else {}
    )
    outer = session.begin_nested()
    for data in parsed:
        line_no = seen[data.external_id]
        try:
            with session.begin_nested():
                if data.external_id in existing:
                    update_provider(
                        session,
                        existing[data.external_id],
                        ProviderUpdate.model_validate(
                            data.model_dump(exclude_unset=True),
                            context=reading(region),
                        ),
                    )
                    report.updated += 1
                else:
                    create_provider(session, data)
                    report.created += 1
        except (Invalid, Conflict) as exc:
            report.errors.append(
                {
                    "line": line_no,
                    "field": getattr(exc, "field", None),
                    "message": exc.message,
                    "external_id": data.external_id,
                }
            )
    if report.errors and not skip_invalid:
        outer.rollback()
        report.created = report.updated = 0
        return report
    outer.commit()
    report.applied = True
    return report
