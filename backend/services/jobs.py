"""Jobs: a customer's request in their own words, with where and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import Job
from backend.schemas import JobCreate
from backend.services.customers import get_customer
from backend.services.errors import Invalid, NotFound
from backend.services.places import place_from
from backend.services.providers import find_category, served_by


def create_job(
    session: Session, data: JobCreate, *, now: datetime | None = None
) -> Job:
    """Record a request; the place is resolved so matching can use coordinates."""
    now = now or utcnow()
    if data.customer_id is not None:
        get_customer(session, data.customer_id)
    category = None
    if data.category:
        category = find_category(session, data.category)
        if category is None:
            raise Invalid(f"unknown category '{data.category}'", field="category")
    lat, lon, city = data.lat, data.lon, data.city
    if data.city or data.lat is not None:
        place = place_from(data.city, data.lat, data.lon, served=served_by(session))
        lat, lon, city = place.lat, place.lon, city or place.name
    window_start = window_end = None
    if data.when is not None:
        window_start, window_end = data.when.from_, data.when.to
        if window_end <= now:
            raise Invalid("the wanted time window is already over", field="when.to")
    job = Job(
        customer_id=data.customer_id,
        text=data.text,
        category=category,
        address=data.address,
        city=city,
        lat=lat,
        lon=lon,
        window_start=window_start,
        window_end=window_end,
        channel=data.channel,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job
