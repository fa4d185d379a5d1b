"""Conversations: read them, take one over, reply on its channel, hand it back."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from backend.admin.blueprint import admin_bp
from backend.admin.common import (
    customers_by_id,
    fail,
    people_matching,
    press,
    provider_names,
)
from backend.admin.forms import ActionForm, ReplyForm
from backend.admin.paging import paginate
from backend.extensions import db
from backend.models import (
    AdminUser,
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Message,
    Provider,
)
from backend.services import conversations as conversation_service
from backend.services.errors import DomainError

log = logging.getLogger(__name__)
#: The list's filters, kept by its links.
FILTERS = ("view", "channel", "q")
SORTS = {"last": Conversation.last_message_at, "id": Conversation.id}
VIEWS = {
    "all": "All",
    "flagged": "Flagged",
    "human": "Taken over",
    "bot": "With the assistant",
}


@admin_bp.get("/conversations")
@login_required
def conversations():
    view = request.args.get("view", "all")
    if view not in VIEWS:
        view = "all"
    stmt = select(Conversation)
    if view == "flagged":
        stmt = stmt.where(Conversation.flagged.is_(True))
    elif view == "human":
        stmt = stmt.where(Conversation.status == ConversationStatus.HUMAN)
    elif view == "bot":
        stmt = stmt.where(Conversation.status == ConversationStatus.BOT)
    if request.args.get("channel") in {c.value for c in Channel}:
        stmt = stmt.where(Conversation.channel == Channel(request.args["channel"]))
    q = (request.args.get("q") or "").strip()
    if q:
        stmt = stmt.where(Conversation.customer_id.in_(people_matching(Customer, q)))
    page = paginate(db.session, stmt, SORTS, "last", filters=FILTERS)
    ids = [c.id for c in page.items]
    last: dict[int, Message] = {}
    counts: dict[int, int] = {}
    held: dict[int, int] = {}
    if ids:
        newest = (
            select(func.max(Message.id))
            .where(Message.conversation_id.in_(ids))
            .group_by(Message.conversation_id)
        )
        for m in db.session.scalars(select(Message).where(Message.id.in_(newest))):
            last[m.conversation_id] = m
        counts = dict(
            db.session.execute(
                select(Message.conversation_id, func.count())
                .where(Message.conversation_id.in_(ids))
                .group_by(Message.conversation_id)
            ).all()
        )
        held = dict(
            db.session.execute(
                select(Message.conversation_id, func.count())
                .where(Message.conversation_id.in_(ids), Message.status == "held")
                .group_by(Message.conversation_id)
            ).all()
        )
    customers = customers_by_id(c.customer_id for c in page.items)
    providers = provider_names(c.provider_id for c in page.items)
    return render_template(
        "conversations/list.html",
        page=page,
        view=view,
        views=VIEWS,
        last=last,
        counts=counts,
        held=held,
        customers=customers,
        providers=providers,
        channels=list(Channel),
    )


def _conversation(conversation_id: int) -> Conversation:
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None:
        abort(404)
    return conversation


def _render(
    conversation: Conversation, form: ReplyForm | None = None, status: int = 200
):  # noqa: E501
    messages = db.session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.id.desc())
        .limit(300)
    ).all()[::-1]
    customer = (
        db.session.get(Customer, conversation.customer_id)
        if conversation.customer_id
        else None
    )
    provider = (
        db.session.get(Provider, conversation.provider_id)
        if conversation.provider_id and not customer
        else None
    )
    taken_by = (
        db.session.get(AdminUser, conversation.taken_over_by_id)
        if conversation.taken_over_by_id
        else None
    )
    return render_template(
        "conversations/detail.html",
        conversation=conversation,
        messages=messages,
        customer=customer,
        provider=provider,
        taken_by=taken_by,
        mine=conversation.taken_over_by_id == current_user.admin_id
        and conversation.status == ConversationStatus.HUMAN,
        form=form or ReplyForm(),
        refusal=conversation_service.takeover_refusal(conversation),
        action_form=ActionForm(),
        IN=Direction.IN,
    ), status


@admin_bp.get("/conversations/<int:conversation_id>")
@login_required
def conversation(conversation_id: int):
    return _render(_conversation(conversation_id))


@admin_bp.post("/conversations/<int:conversation_id>/take-over")
@login_required
def conversation_take_over(conversation_id: int):
    _conversation(conversation_id)
    press(
        lambda: conversation_service.take_over(
            db.session, conversation_id, current_user.admin_id
        ),
        lambda _: "You have this conversation: the assistant stays quiet.",
    )
    return redirect(url_for("admin.conversation", conversation_id=conversation_id))


@admin_bp.post("/conversations/<int:conversation_id>/hand-back")
@login_required
def conversation_hand_back(conversation_id: int):
    _conversation(conversation_id)
    press(
        lambda: conversation_service.hand_back(db.session, conversation_id),
        lambda _: "Handed back: the assistant answers again.",
    )
    return redirect(url_for("admin.conversation", conversation_id=conversation_id))


@admin_bp.post("/conversations/<int:conversation_id>/reply")
@login_required
def conversation_reply(conversation_id: int):
    conversation = _conversation(conversation_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _render(conversation, form, 400)
    try:
        message = conversation_service.console_reply(
            db.session, conversation_id, current_user.admin_id, form.text.data
        )
        db.session.commit()
    except DomainError as exc:
        fail(form, exc)
        return _render(_conversation(conversation_id), form, 400)
    from backend.tasks import send_console_reply

    try:
        send_console_reply.delay(message.id)
    except Exception:  # noqa: BLE001 - the reply is kept; say it is not sent yet
        log.exception("reply %s could not be queued", message.id)
        flash("Your reply is saved but could not be queued for sending.", "error")
    return redirect(url_for("admin.conversation", conversation_id=conversation_id))
