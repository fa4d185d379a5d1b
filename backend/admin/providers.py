"""Providers: find, read, edit, verify, deactivate."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from pydantic import ValidationError
from sqlalchemy import func, or_, select

from backend.admin.auth import admin_only
from backend.admin.blueprint import admin_bp
from backend.admin.common import (
    fail,
    latest_bookings,
    phone_matching,
    place_errors,
    reach_index,
)
from backend.admin.forms import ActionForm, ProviderForm, VerifyForm
from backend.admin.paging import paginate
from backend.extensions import db
from backend.models import (
    Booking,
    Category,
    Provider,
    Review,
    VerificationState,
    provider_categories,
)
from backend.schemas import ProviderUpdate, VerifyInput, reading
from backend.services import providers as provider_service
from backend.services.errors import DomainError

#: The list's filters, kept by its links.
FILTERS = ("q", "category", "city", "verified", "status", "rating")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SORTS = {
    "name": Provider.name,
    "city": Provider.city,
    "rating": Provider.rating,
    "reviews": Provider.review_count,
    "updated": Provider.updated_at,
    "id": Provider.id,
}


@admin_bp.get("/providers")
@login_required
def providers():
    args = request.args
    stmt = select(Provider)
    q = args.get("q", "").strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Provider.name).like(like),
                func.lower(Provider.description).like(like),
                phone_matching(Provider.phone, q),
            )
        )
    if args.get("category"):
        stmt = stmt.where(
            Provider.id.in_(
                select(provider_categories.c.provider_id)
                .join(Category, Category.id == provider_categories.c.category_id)
                .where(Category.slug == args["category"])
            )
        )
    if args.get("city"):
        stmt = stmt.where(func.lower(Provider.city) == args["city"].strip().lower())
    verified = args.get("verified")
    if verified in {s.value for s in VerificationState}:
        stmt = stmt.where(Provider.verification_state == VerificationState(verified))
    status = args.get("status", "active")
    if status == "active":
        stmt = stmt.where(Provider.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(Provider.active.is_(False))
    try:
        min_rating = float(args.get("rating") or 0)
    except ValueError:
        min_rating = 0
    if min_rating:
        stmt = stmt.where(Provider.rating >= min_rating)
    page = paginate(
        db.session, stmt, SORTS, "name", default_direction="asc", filters=FILTERS
    )
    categories = db.session.scalars(select(Category).order_by(Category.name)).all()
    cities = db.session.scalars(
        select(Provider.city)
        .where(Provider.city.is_not(None))
        .distinct()
        .order_by(Provider.city)
    ).all()
    return render_template(
        "providers/list.html",
        page=page,
        categories=categories,
        cities=cities,
        states=list(VerificationState),
        status=status,
    )


def _provider(provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        abort(404)
    return provider


def _detail(provider: Provider, **forms):  # noqa: ANN003, ANN202
    notes = provider.verification_notes or {}
    verify = forms.get("verify_form") or VerifyForm(
        data={
            "licence": notes.get("licence", False),
            "insurance": notes.get("insurance", False),
            "identity": notes.get("identity", False),
            "notes": notes.get("notes", ""),
        }
    )
    bookings, booking_count = latest_bookings(Booking.provider_id == provider.id, 10)
    reviews = db.session.scalars(
        select(Review)
        .where(Review.provider_id == provider.id)
        .order_by(Review.created_at.desc())
        .limit(10)
    ).all()
    return render_template(
        "providers/detail.html",
        provider=provider,
        notes=notes,
        verify_form=verify,
        action_form=ActionForm(),
        bookings=bookings,
        booking_count=booking_count,
        reviews=reviews,
        days=DAYS,
        reading_only=bool(provider.categories)
        and all(c.kind.value == "reading" for c in provider.categories),
    ), (400 if forms.get("verify_form") else 200)


@admin_bp.get("/providers/<int:provider_id>")
@login_required
def provider(provider_id: int):
    return _detail(_provider(provider_id))


@admin_bp.route("/providers/<int:provider_id>/edit", methods=["GET", "POST"])
@admin_only
def provider_edit(provider_id: int):
    provider = _provider(provider_id)
    form = ProviderForm(
        data={
            "name": provider.name,
            "description": provider.description,
            "city": provider.city,
            "radius_km": provider.radius_km,
            "timezone": provider.timezone,
            "phone": provider.phone,
            "email": provider.email,
            "languages": ", ".join(provider.languages or []),
        }
    )
    if form.is_submitted():
        valid = form.validate()
        update = None
        try:
            update = ProviderUpdate.model_validate(
                _changes(form, provider),
                context=reading(current_app.config["BECKON"].DEFAULT_REGION),
            )
        except ValidationError as exc:  # the schema's own rules, per field
            valid = False
            place_errors(form, exc)
        if valid and update is not None:
            try:
                provider_service.update_provider(db.session, provider.id, update)
                db.session.commit()
            except DomainError as exc:
                fail(form, exc)
            else:
                reach_index()
                flash(f"{provider.name} saved.", "success")
                return redirect(url_for("admin.provider", provider_id=provider.id))
    status = 400 if request.method == "POST" else 200
    return render_template("providers/edit.html", provider=provider, form=form), status


def _changes(form: ProviderForm, provider: Provider) -> dict[str, Any]:
    """What the edit form changes, as the service's update takes it."""
    data: dict[str, Any] = {
        "name": (form.name.data or "").strip(),
        "description": form.description.data or "",
        "radius_km": form.radius_km.data,
        "timezone": (form.timezone.data or "").strip() or None,
        "languages": [
            x.strip() for x in (form.languages.data or "").split(",") if x.strip()
        ]
        or None,
    }
    if (form.city.data or "").strip() != (provider.city or ""):
        data["city"] = (form.city.data or "").strip() or None
    for name in provider_service.CLEARABLE:
        value = (getattr(form, name).data or "").strip()
        if value or getattr(provider, name):  # emptied: cleared
            data[name] = value or None
    return data


@admin_bp.post("/providers/<int:provider_id>/verify")
@admin_only
def provider_verify(provider_id: int):
    provider = _provider(provider_id)
    form = VerifyForm()
    if not form.validate_on_submit():
        return _detail(provider, verify_form=form)
    try:
        provider_service.verify_provider(
            db.session,
            provider.id,
            VerifyInput(
                licence=form.licence.data,
                insurance=form.insurance.data,
                identity=form.identity.data,
                notes=form.notes.data or "",
                verified_by=current_user.email,
                approve=form.decision.data == "approve",
            ),
        )
        db.session.commit()
    except DomainError as exc:
        fail(form, exc)
        provider = _provider(provider_id)
        return _detail(provider, verify_form=form)
    reach_index()
    verb = "verified" if form.decision.data == "approve" else "rejected"
    flash(f"{provider.name} is {verb}.", "success")
    return redirect(url_for("admin.provider", provider_id=provider.id))


@admin_bp.post("/providers/<int:provider_id>/deactivate")
@admin_only
def provider_deactivate(provider_id: int):
    provider = _provider(provider_id)
    if ActionForm().validate_on_submit():
        try:
            if provider.active:
                provider_service.deactivate_provider(db.session, provider.id)
                message = f"{provider.name} no longer takes bookings."
            else:
                provider_service.reactivate_provider(db.session, provider.id)
                message = f"{provider.name} takes bookings again."
            db.session.commit()
        except DomainError as exc:
            fail(None, exc)
        else:
            reach_index()
            flash(message, "success")
    return redirect(url_for("admin.provider", provider_id=provider_id))
