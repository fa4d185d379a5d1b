"""Bookings: the list, one booking and its actions, a provider's calendar, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import and_, select
from sqlalchemy.orm import raiseload, selectinload

from backend.admin.blueprint import admin_bp
from backend.admin.common import as_id, booking_or_people
from backend.admin.forms import ActionForm, ReasonForm, RescheduleForm
from backend.admin.paging import paginate
from backend.extensions import db
from backend.models import Booking, BookingStatus, Channel, Customer, Provider
from backend.services import bookings as booking_service
from backend.services.errors import DomainError

#: The list's filters, kept by its links (and the CSV export).
FILTERS = ("q", "status", "channel", "provider", "customer", "from", "to")
SORTS = {
    "starts": Booking.starts_at,
    "created": Booking.created_at,
    "id": Booking.id,
}
ACTIONS = {
    "confirm": "Confirm",
    "cancel": "Cancel",
    "no_show": "Mark no-show",
    "check_in": "Check in",
    "complete": "Complete",
}
#: What the booking is after each.
DONE = {
    "confirm": "confirmed",
    "cancel": "cancelled",
    "no_show": "marked as a no-show",
    "check_in": "checked in",
    "complete": "completed",
}
#: Actions that ask why, and confirm first.
NEEDS_REASON = {
    "cancel": "Cancel booking",
    "no_show": "Mark as no-show",
}


#: A cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows and never runs (OWASP's
    advice against CSV injection: a leading quote)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _filtered():  # noqa: ANN202
    """Bookings as ``?status=&channel=&provider=&customer=&from=&to=`` filter them."""
    args = request.args
    conditions = []
    if args.get("status") in {s.value for s in BookingStatus}:
        conditions.append(Booking.status == BookingStatus(args["status"]))
    if args.get("channel") in {c.value for c in Channel}:
        conditions.append(Booking.channel == Channel(args["channel"]))
    for name, column in (
        ("provider", Booking.provider_id),
        ("customer", Booking.customer_id),
    ):
        if as_id(args.get(name)) is not None:
            conditions.append(column == as_id(args[name]))
    q = (args.get("q") or "").strip()
    if q:
        conditions.append(
            booking_or_people(q, Booking.id, Booking.provider_id, Booking.customer_id)
        )
    for name, op in (("from", "ge"), ("to", "lt")):
        raw = args.get(name)
        if raw:
            try:
                day = date.fromisoformat(raw) + timedelta(days=1 if op == "lt" else 0)
            except ValueError:
                continue
            moment = datetime.combine(day, time.min, ZoneInfo("UTC"))
            conditions.append(
                Booking.starts_at >= moment
                if op == "ge"
                else Booking.starts_at < moment
            )
    return and_(True, *conditions)


@admin_bp.get("/bookings")
@login_required
def bookings():
    stmt = (
        select(Booking)
        .where(_filtered())
        # the page's providers and customers in one query each, after it: a
        # join would be made for every row before the page is cut (PostgreSQL)
        .options(
            selectinload(Booking.provider).raiseload("*"),
            selectinload(Booking.customer).raiseload("*"),
            selectinload(Booking.service),
            raiseload(Booking.job),
        )
    )
    page = paginate(db.session, stmt, SORTS, "starts", filters=FILTERS)
    provider = None
    if as_id(request.args.get("provider")) is not None:
        provider = db.session.get(Provider, as_id(request.args["provider"]))
    return render_template(
        "bookings/list.html",
        page=page,
        statuses=list(BookingStatus),
        channels=list(Channel),
        provider=provider,
    )


@admin_bp.get("/bookings.csv")
@login_required
def bookings_csv():
    """Every booking the filters select, as CSV (streamed, however many)."""
    where = _filtered()
    factory = db.session_factory
    app = current_app._get_current_object()

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "id",
                "status",
                "channel",
                "provider_id",
                "provider",
                "customer_id",
                "starts_at",
                "ends_at",
                "price_cents",
                "created_at",
                "cancel_reason",
            ]
        )
        with app.app_context(), factory() as session:
            stmt = (
                select(
                    Booking.id,
                    Booking.status,
                    Booking.channel,
                    Booking.provider_id,
                    Provider.name,
                    Booking.customer_id,
                    Booking.starts_at,
                    Booking.ends_at,
                    Booking.price_cents,
                    Booking.created_at,
                    Booking.cancel_reason,
                )
                .join(Provider, Provider.id == Booking.provider_id)
                .where(where)
                .order_by(Booking.starts_at.desc(), Booking.id.desc())
                .execution_options(yield_per=2000)
            )
            for n, row in enumerate(session.execute(stmt)):
                writer.writerow(
                    [
                        row[0],
                        row[1].value,
                        row[2].value,
                        row[3],
                        spreadsheet_safe(row[4]),
                        row[5] or "",
                        row[6].isoformat(),
                        row[7].isoformat(),
                        "" if row[8] is None else row[8],
                        row[9].isoformat(),
                        spreadsheet_safe(row[10] or ""),
                    ]
                )
                if n % 500 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return Response(
        rows(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="bookings-{stamp}.csv"'},
    )


def _booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        abort(404)
    return booking


def _action_forms() -> dict[str, FlaskForm]:
    """A form for each action button; those that ask why have a reason box
    (the action's name prefixes its fields)."""
    return {
        action: ReasonForm(prefix=action, formdata=None)
        if action in NEEDS_REASON
        else ActionForm(formdata=None)
        for action in ACTIONS
    }


def _render(
    booking: Booking,
    reschedule_form: RescheduleForm | None = None,
    status: int = 200,
    *,
    failed: tuple[str, FlaskForm, str | None] | None = None,
):
    """The booking's page; ``failed``: an action whose form or service
    refused it (its form, and the service's reason), shown in place."""
    if reschedule_form is None:
        local = booking.starts_at.astimezone(ZoneInfo(booking.provider.timezone))
        reschedule_form = RescheduleForm(data={"start": local.replace(tzinfo=None)})
    allowed = [
        (action, label)
        for action, label in ACTIONS.items()
        if booking.status in booking_service.TRANSITIONS[action][0]
    ]
    customer = (
        db.session.get(Customer, booking.customer_id) if booking.customer_id else None
    )
    forms = _action_forms()
    refused = None
    if failed is not None:
        action, forms[action], refused = failed
    return render_template(
        "bookings/detail.html",
        booking=booking,
        customer=customer,
        allowed=allowed,
        forms=forms,
        confirm_labels=NEEDS_REASON,
        failed_action=failed[0] if failed else None,
        refused=refused,
        reschedule_form=reschedule_form,
        can_reschedule=booking.status in booking_service.TRANSITIONS["reschedule"][0],
    ), status


@admin_bp.get("/bookings/<int:booking_id>")
@login_required
def booking(booking_id: int):
    return _render(_booking(booking_id))


@admin_bp.post("/bookings/<int:booking_id>/<action>")
@login_required
def booking_action(booking_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    booking = _booking(booking_id)
    form = ReasonForm(prefix=action) if action in NEEDS_REASON else ActionForm()
    if not form.validate_on_submit():
        return _render(booking, status=400, failed=(action, form, None))
    try:
        booking_service.transition(
            db.session,
            booking.id,
            action,
            actor=f"console:{current_user.email}",
            reason=(form.reason.data or "").strip(),
            follow_ups=current_app.extensions["beckon.follow_up_rules"],
        )
        db.session.commit()
    except DomainError as exc:  # said next to the action, its reason kept
        db.session.rollback()
        message = exc.message[:1].upper() + exc.message[1:]
        return _render(_booking(booking_id), status=400, failed=(action, form, message))
    flash(f"Booking {booking_id} is {DONE[action]}.", "success")
    return redirect(url_for("admin.booking", booking_id=booking_id))


@admin_bp.post("/bookings/<int:booking_id>/reschedule")
@login_required
def booking_reschedule(booking_id: int):
    booking = _booking(booking_id)
    form = RescheduleForm()
    if not form.validate_on_submit():
        return _render(booking, form, 400)
    zone = ZoneInfo(booking.provider.timezone)
    start = form.start.data.replace(tzinfo=zone)
    try:
        booking_service.reschedule(
            db.session,
            booking.id,
            start,
            current_app.extensions["beckon.rules"],
            actor=f"console:{current_user.email}",
            reason=form.reason.data or "",
            follow_ups=current_app.extensions["beckon.follow_up_rules"],
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        form.start.errors = [*form.start.errors, exc.message]
        return _render(_booking(booking_id), form, 400)
    flash(
        f"Booking {booking_id} moved to {start:%a %b %-d, %H:%M} ({zone.key}).",
        "success",
    )
    return redirect(url_for("admin.booking", booking_id=booking_id))


@admin_bp.get("/providers/<int:provider_id>/calendar")
@login_required
def calendar(provider_id: int):
    """A provider's week, in their own time zone."""
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        abort(404)
    zone = ZoneInfo(provider.timezone)
    today = datetime.now(zone).date()
    try:
        start = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        start = today
    start = start - timedelta(days=start.weekday())
    since = datetime.combine(start, time.min, zone)
    until = since + timedelta(days=7)
    rows = db.session.scalars(
        select(Booking)
        .where(
            Booking.provider_id == provider.id,
            Booking.starts_at >= since,
            Booking.starts_at < until,
        )
        .order_by(Booking.starts_at)
    ).all()
    days = [start + timedelta(n) for n in range(7)]
    by_day: dict[date, list[tuple[Booking, datetime, datetime]]] = {d: [] for d in days}
    for b in rows:
        local_start = b.starts_at.astimezone(zone)
        by_day.setdefault(local_start.date(), []).append(
            (b, local_start, b.ends_at.astimezone(zone))
        )
    return render_template(
        "bookings/calendar.html",
        provider=provider,
        days=days,
        by_day=by_day,
        today=today,
        previous=(start - timedelta(days=7)).isoformat(),
        following=(start + timedelta(days=7)).isoformat(),
        hours=provider.weekly_hours or {},
        zone=zone.key,
    )
