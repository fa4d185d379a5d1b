"""Customers: one person across channels; their data exported or erased."""

from __future__ import annotations

import json

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
from sqlalchemy import func, or_, select

from backend.admin.auth import admin_only
from backend.admin.blueprint import admin_bp
from backend.admin.common import fail, latest_bookings, phone_matching
from backend.admin.forms import EraseForm
from backend.admin.paging import paginate
from backend.admin.tracker import TrackerError, erase_trackers
from backend.extensions import db
from backend.models import (
    Booking,
    ChannelIdentity,
    Conversation,
    Customer,
    Review,
)
from backend.services import privacy
from backend.services.errors import DomainError

#: The list's filters, kept by its links.
FILTERS = ("q", "erased")
SORTS = {
    "created": Customer.created_at,
    "name": Customer.display_name,
    "id": Customer.id,
}


@admin_bp.get("/customers")
@login_required
def customers():
    stmt = select(Customer)
    q = (request.args.get("q") or "").strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Customer.display_name).like(like),
                phone_matching(Customer.phone, q),
                func.lower(Customer.email).like(like),
                Customer.id.in_(
                    select(ChannelIdentity.customer_id).where(
                        ChannelIdentity.external_id == q
                    )
                ),
            )
        )
    if request.args.get("erased") != "1":
        stmt = stmt.where(Customer.erased_at.is_(None))
    page = paginate(db.session, stmt, SORTS, "created", filters=FILTERS)
    ids = [c.id for c in page.items]
    bookings = (
        dict(
            db.session.execute(
                select(Booking.customer_id, func.count())
                .where(Booking.customer_id.in_(ids))
                .group_by(Booking.customer_id)
            ).all()
        )
        if ids
        else {}
    )
    return render_template("customers/list.html", page=page, bookings=bookings)


def _customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    return customer


def _render(customer: Customer, erase_form: EraseForm | None = None, status: int = 200):  # noqa: E501
    bookings, booking_count = latest_bookings(Booking.customer_id == customer.id, 25)
    conversations = db.session.scalars(
        select(Conversation)
        .where(Conversation.customer_id == customer.id)
        .order_by(Conversation.last_message_at.desc())
    ).all()
    reviews = db.session.scalars(
        select(Review)
        .where(Review.customer_id == customer.id)
        .order_by(Review.id.desc())
    ).all()
    return render_template(
        "customers/detail.html",
        customer=customer,
        bookings=bookings,
        booking_count=booking_count,
        conversations=conversations,
        reviews=reviews,
        erase_form=erase_form or EraseForm(),
    ), status


@admin_bp.get("/customers/<int:customer_id>")
@login_required
def customer(customer_id: int):
    return _render(_customer(customer_id))


@admin_bp.get("/customers/<int:customer_id>/export.json")
@login_required
def customer_export(customer_id: int):
    """The GDPR export: one JSON document of everything we hold."""
    _customer(customer_id)
    document = privacy.export_customer(db.session, customer_id)
    document["exported_by"] = current_user.email
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={
            "Content-Disposition": (
                f'attachment; filename="customer-{customer_id}.json"'
            ),
            "Cache-Control": "no-store",
        },
    )


@admin_bp.post("/customers/<int:customer_id>/erase")
@admin_only
def customer_erase(customer_id: int):
    customer = _customer(customer_id)
    form = EraseForm()
    if not form.validate_on_submit():
        return _render(customer, form, 400)
    if customer.erased_at is not None:
        flash("This customer was erased already.", "info")
        return redirect(url_for("admin.customer", customer_id=customer_id))
    senders = privacy.tracker_senders(db.session, customer_id)
    try:
        # the assistant's record first: if it fails, nothing here has changed
        erase_trackers(current_app.config["BECKON"], senders)
        privacy.erase_customer(db.session, customer_id)
        db.session.commit()
    except TrackerError as exc:
        db.session.rollback()
        flash(f"Not erased: {exc}. Try again when the assistant is up.", "error")
        return redirect(url_for("admin.customer", customer_id=customer_id))
    except DomainError as exc:
        fail(None, exc)
        return redirect(url_for("admin.customer", customer_id=customer_id))
    flash(
        f"Customer {customer_id} is erased: personal data removed here and in "
        "the assistant; bookings kept, anonymised.",
        "success",
    )
    return redirect(url_for("admin.customer", customer_id=customer_id))
