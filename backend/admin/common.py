"""Helpers the console's views share."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import current_app, flash
from flask_wtf import FlaskForm
from pydantic import ValidationError
from sqlalchemy import ColumnElement, false, func, or_, select

from backend.admin.blueprint import admin_bp
from backend.admin.forms import ActionForm
from backend.extensions import db
from backend.models import Conversation, Customer, Provider
from backend.schemas import error_message
from backend.services import phones
from backend.services.errors import DomainError, Invalid

T = TypeVar("T")

# what a phone number typed into a search box may hold besides its digits
_PHONE_WRITING = re.compile(r"^[\d\s().+\-/]+$")
# fewer digits than this are more likely part of a name, a street or an id
_PHONE_DIGITS = 3


def press(change: Callable[[], T], done: Callable[[T], str]) -> None:
    """A console button's POST: with its CSRF token, ``change`` is made and
    committed and ``done`` of what it returned is shown; a refusal is shown
    instead (:func:`fail`) and nothing is kept."""
    if not ActionForm().validate_on_submit():
        return
    try:
        result = change()
        db.session.commit()
    except DomainError as exc:
        fail(None, exc)
    else:
        flash(done(result), "success")


def fail(form: FlaskForm | None, exc: DomainError) -> None:
    """Show a service's refusal: next to its fields when it names them."""
    db.session.rollback()
    placed = False
    if form is not None and isinstance(exc, Invalid):
        for detail in exc.details or []:
            name = detail.get("field") if isinstance(detail, dict) else None
            if name and name in form._fields:
                form._fields[name].errors = [
                    *form._fields[name].errors,
                    detail.get("message", exc.message),
                ]
                placed = True
    if not placed:
        flash(exc.message[:1].upper() + exc.message[1:], "error")


def place_errors(form: FlaskForm, error: ValidationError) -> None:
    """A schema's (pydantic's) errors next to the form's fields they name;
    a field that has an error of the form's own keeps that one alone."""
    fields = form._fields
    unplaced = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        message = error_message(problem)
        if name in fields:
            if not fields[name].errors:
                fields[name].errors = [message]
        else:
            unplaced.append(message)
    if unplaced:
        flash("; ".join(unplaced), "error")


def reach_index() -> None:
    """Provider changes reach this process's matching index now (the others
    catch up on their next sync)."""
    index = current_app.extensions.get("beckon.matching")
    if index is not None and getattr(index, "_ready", False):
        index.sync(db.session)
        index.save_if_due()


@admin_bp.app_template_filter("when")
def when(moment: Any, fmt: str = "%b %-d, %Y %H:%M") -> str:
    """An instant in UTC, as the console shows it."""
    if moment is None:
        return "—"
    return moment.strftime(fmt)


@admin_bp.app_template_filter("money")
def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return "—"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    return f"{symbol}{cents / 100:,.2f}"


@admin_bp.context_processor
def console_context() -> dict[str, Any]:
    from flask_login import current_user

    if not current_user.is_authenticated:
        return {}
    flagged = db.session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.flagged.is_(True))
    )
    return {"flagged_count": flagged or 0}


@admin_bp.app_template_filter("tz")
def tz(name: str) -> ZoneInfo:
    return ZoneInfo(name)


#: How channels are written for people.
CHANNEL_NAMES = {
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "voice": "Phone call",
    "messenger": "Messenger",
    "telegram": "Telegram",
    "webchat": "Web chat",
    "alexa": "Alexa",
    "google": "Google",
    "api": "API",
    "console": "Console",
}


@admin_bp.app_template_filter("channel")
def channel_name(channel: Any) -> str:
    value = getattr(channel, "value", channel)
    return CHANNEL_NAMES.get(value, str(value))


#: The largest id a database integer column holds.
MAX_ID = 2**31 - 1


def as_id(text: str | None) -> int | None:
    """``text`` as a row id, or None when it cannot be one (a query with a
    number too big for the column would fail in the database)."""
    text = (text or "").strip()
    if text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID:
        return int(text)
    return None


def booking_or_people(
    q: str, booking_id: Any, provider_id: Any, customer_id: Any
) -> ColumnElement[bool]:
    """Rows of booking ``#q``; for ``q`` alone, also of the providers and
    customers whose name or number has ``q`` in it."""
    number = as_id(q.lstrip("#"))
    by_number = booking_id == number if number is not None else false()
    if q.startswith("#"):
        return by_number
    return or_(
        by_number,
        provider_id.in_(people_matching(Provider, q)),
        customer_id.in_(people_matching(Customer, q)),
    )


def people_matching(model: Any, q: str) -> Any:
    """The ids of customers or providers (``model``) whose name or phone
    number has ``q`` in it (any case)."""
    name = model.display_name if hasattr(model, "display_name") else model.name
    return select(model.id).where(
        or_(
            func.lower(name).contains(q.lower(), autoescape=True),
            phone_matching(model.phone, q),
        )
    )


def phone_matching(column: Any, q: str) -> ColumnElement[bool]:
    """Phone numbers (stored in E.164) that ``q`` is, or is part of, however
    it is written: "(415) 286-4371" and "415.286.4371" find +14152864371
    (read in the default region), "286-4371" finds it too."""
    found = [column.contains(q, autoescape=True)]
    if _PHONE_WRITING.match(q):
        digits = re.sub(r"\D", "", q)
        if len(digits) >= _PHONE_DIGITS:
            found.append(column.contains(digits, autoescape=True))
        try:
            number = phones.to_e164(q, current_app.config["BECKON"].DEFAULT_REGION)
        except Invalid:
            pass
        else:
            found.append(column == number)
    return or_(*found)


def latest_bookings(where: Any, limit: int) -> tuple[list[Any], int]:
    """The latest bookings matching ``where`` (newest start first) and how many
    there are in all: what a customer's or a provider's page shows."""
    from backend.models import Booking

    rows = db.session.scalars(
        select(Booking).where(where).order_by(Booking.starts_at.desc()).limit(limit)
    ).all()
    total = db.session.scalar(select(func.count()).select_from(Booking).where(where))
    return list(rows), total


def provider_names(ids: Iterable[int | None]) -> dict[int, str]:
    """The names of the providers a page's rows name, by id, in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(
        db.session.execute(
            select(Provider.id, Provider.name).where(Provider.id.in_(wanted))
        ).all()
    )


def customers_by_id(ids: Iterable[int | None]) -> dict[int, Customer]:
    """The customers a page's rows name, by id, in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    found = db.session.scalars(select(Customer).where(Customer.id.in_(wanted)))
    return {c.id: c for c in found}
