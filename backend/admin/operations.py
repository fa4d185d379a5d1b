"""Reviews to moderate, follow-ups to watch and retry, API keys, and the
console's accounts (a locked one unlocked)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import func, select

from backend.admin.auth import admin_only
from backend.admin.blueprint import admin_bp
from backend.admin.common import (
    as_id,
    booking_or_people,
    customers_by_id,
    fail,
    press,
    provider_names,
)
from backend.admin.forms import ActionForm, ApiKeyForm, ModerateForm
from backend.admin.paging import PAGING_ARGS, list_args, paginate
from backend.db import utcnow
from backend.extensions import db
from backend.models import (
    AdminUser,
    ApiKey,
    FollowUp,
    FollowUpState,
    ModerationState,
    Provider,
    Review,
)
from backend.services import access, followups
from backend.services import reviews as review_service
from backend.services.errors import DomainError

# ---------------------------------------------------------------- reviews

#: The review list's filters, kept by its links (and a moderation's way back).
REVIEW_FILTERS = ("state", "provider", "stars", "q")


@admin_bp.get("/reviews")
@login_required
def reviews():
    return _reviews_page()


def _reviews_page(failed: tuple[int, ModerateForm] | None = None, status: int = 200):
    """The list as ``request.args`` select it; ``failed``: a review's form
    that did not validate, shown with its errors."""
    stmt = select(Review)
    state = request.args.get("state", "")
    if state in {s.value for s in ModerationState}:
        stmt = stmt.where(Review.moderation == ModerationState(state))
    if as_id(request.args.get("provider")) is not None:
        stmt = stmt.where(Review.provider_id == as_id(request.args["provider"]))
    if as_id(request.args.get("stars")) is not None:
        stmt = stmt.where(Review.stars == as_id(request.args["stars"]))
    q = (request.args.get("q") or "").strip()
    if q:
        stmt = stmt.where(func.lower(Review.text).contains(q.lower(), autoescape=True))
    page = paginate(
        db.session,
        stmt,
        {"created": Review.created_at, "stars": Review.stars},
        "created",
        filters=REVIEW_FILTERS,
    )
    names = provider_names(r.provider_id for r in page.items)
    forms = {
        r.id: ModerateForm(
            prefix=f"r{r.id}",
            data={
                "state": "hidden" if r.moderation.value == "published" else "published",
                "reason": r.moderation_reason or "",
            },
        )
        for r in page.items
    }
    if failed is not None:
        forms[failed[0]] = failed[1]
    providers = db.session.execute(
        select(Provider.id, Provider.name).order_by(Provider.name)
    ).all()
    return render_template(
        "reviews.html",
        page=page,
        names=names,
        providers=providers,
        states=list(ModerationState),
        state=state,
        forms=forms,
    ), status


@admin_bp.post("/reviews/<int:review_id>/moderate")
@login_required
def review_moderate(review_id: int):
    form = ModerateForm(prefix=f"r{review_id}")
    back = url_for("admin.reviews", **list_args(REVIEW_FILTERS + PAGING_ARGS))
    if not form.validate_on_submit():
        return _reviews_page((review_id, form), 400)
    try:
        review_service.moderate_review(
            db.session,
            review_id,
            ModerationState(form.state.data),
            (form.reason.data or "").strip(),
        )
        db.session.commit()
    except DomainError as exc:
        fail(None, exc)
    else:
        flash(f"Review {review_id} is {form.state.data}.", "success")
    return redirect(back)


# ---------------------------------------------------------------- follow-ups

QUEUES = {
    "pending": ("Queue", [FollowUpState.PENDING, FollowUpState.CLAIMED]),
    "failed": ("Failed", [FollowUpState.FAILED]),
    "sent": ("Sent", [FollowUpState.SENT]),
    "skipped": ("Skipped", [FollowUpState.SKIPPED, FollowUpState.CANCELLED]),
}


#: The follow-up list's filters, kept by its links (and a retry's way back).
FOLLOW_UP_FILTERS = ("queue", "q", "kind")


@admin_bp.get("/follow-ups")
@login_required
def follow_ups():
    queue = request.args.get("queue", "pending")
    if queue not in QUEUES:
        queue = "pending"
    stmt = select(FollowUp).where(FollowUp.state.in_(QUEUES[queue][1]))
    kinds = sorted({name for name, _ in followups.KINDS})
    if request.args.get("kind") in kinds:
        stmt = stmt.where(FollowUp.kind == request.args["kind"])
    q = (request.args.get("q") or "").strip()
    if q:  # booking 123 (or #123), or to someone whose name or number has q
        stmt = stmt.where(
            booking_or_people(
                q, FollowUp.booking_id, FollowUp.provider_id, FollowUp.customer_id
            )
        )
    page = paginate(
        db.session,
        stmt,
        {"due": FollowUp.due_at, "attempts": FollowUp.attempts},
        "due",
        default_direction="asc" if queue == "pending" else "desc",
        filters=FOLLOW_UP_FILTERS,
    )
    counts = dict(
        db.session.execute(
            select(FollowUp.state, func.count()).group_by(FollowUp.state)
        ).all()
    )
    totals = {
        key: sum(counts.get(s, 0) for s in states)
        for key, (_, states) in QUEUES.items()
    }
    customers = customers_by_id(f.customer_id for f in page.items)
    providers = provider_names(f.provider_id for f in page.items)
    return render_template(
        "follow_ups.html",
        page=page,
        queue=queue,
        queues=QUEUES,
        totals=totals,
        kinds=kinds,
        customers=customers,
        providers=providers,
        action_form=ActionForm(),
    )


@admin_bp.post("/follow-ups/<int:follow_up_id>/retry")
@login_required
def follow_up_retry(follow_up_id: int):
    press(
        lambda: followups.retry_failed(db.session, follow_up_id),
        lambda _: f"Follow-up {follow_up_id} is back in the queue.",
    )
    # back to the list it came from (its filters are in the form's address)
    kept = list_args(FOLLOW_UP_FILTERS + PAGING_ARGS)
    return redirect(url_for("admin.follow_ups", **{"queue": "failed", **kept}))


# ---------------------------------------------------------------- API keys


def _keys_page(form: ApiKeyForm, token: str | None = None, status: int = 200):
    page = paginate(
        db.session,
        select(ApiKey),
        {
            "created": ApiKey.created_at,
            "name": ApiKey.name,
            "used": ApiKey.last_used_at,
        },
        "created",
    )
    return render_template(
        "api_keys.html", page=page, form=form, token=token, action_form=ActionForm()
    ), status


@admin_bp.get("/api-keys")
@admin_only
def api_keys():
    return _keys_page(ApiKeyForm())


@admin_bp.post("/api-keys")
@admin_only
def api_key_create():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _keys_page(form, status=400)
    try:
        key, token = access.create_api_key(db.session, form.name.data, form.scopes.data)
        db.session.commit()
    except DomainError as exc:
        fail(form, exc)
        return _keys_page(form, status=400)
    # shown once, in this answer only (never in the session cookie)
    flash(f"Key “{key.name}” created. Copy it now: it is not shown again.", "success")
    return _keys_page(ApiKeyForm(formdata=None), token=token, status=201)


@admin_bp.post("/api-keys/<int:key_id>/revoke")
@admin_only
def api_key_revoke(key_id: int):
    press(
        lambda: access.revoke_api_key(db.session, key_id),
        lambda key: f"Key “{key.name}” is revoked.",
    )
    return redirect(url_for("admin.api_keys"))


# ---------------------------------------------------------------- accounts


@admin_bp.get("/admins")
@admin_only
def admins():
    """The console's accounts: who is locked by failed logins, until when."""
    users = db.session.scalars(select(AdminUser).order_by(AdminUser.email)).all()
    return render_template(
        "admins.html",
        users=users,
        locked={u.id for u in users if access.is_locked(u, utcnow())},
        failures=access.FAILED_LOGINS_BEFORE_LOCK,
        minutes=access.LOCK_MINUTES,
    )


@admin_bp.post("/admins/<int:admin_id>/unlock")
@admin_only
def admin_unlock(admin_id: int):
    press(
        lambda: access.unlock_admin(db.session, admin_id),
        lambda user: f"{user.email} can log in again.",
    )
    return redirect(url_for("admin.admins"))
