"""The domain's tables (SQLAlchemy 2.0 typed models).

Every instant is stored in UTC (:class:`backend.db.UTCDateTime`); local time
exists only at the edges, through a provider's or customer's IANA time zone.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, utcnow


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: a VARCHAR with a CHECK of the allowed values."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Channel(enum.StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    VOICE = "voice"
    MESSENGER = "messenger"
    TELEGRAM = "telegram"
    WEBCHAT = "webchat"
    ALEXA = "alexa"
    GOOGLE = "google"
    API = "api"
    CONSOLE = "console"


#: Channels whose identity is a phone number (a call's may be the call's id).
PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP, Channel.VOICE)


class CategoryKind(enum.StrEnum):
    TRADE = "trade"
    READING = "reading"


class ServiceMode(enum.StrEnum):
    ONSITE = "onsite"
    REMOTE = "remote"


class VerificationState(enum.StrEnum):
    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class JobStatus(enum.StrEnum):
    OPEN = "open"
    BOOKED = "booked"
    CLOSED = "closed"


class BookingStatus(enum.StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REVIEWED = "reviewed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


#: The live bookings: they occupy the provider's time, and a caller can ask about,
#: change or check in to them (the one list; the migrations keep their own copy).
LIVE_BOOKING_STATUSES = (
    BookingStatus.HELD,
    BookingStatus.CONFIRMED,
    BookingStatus.IN_PROGRESS,
)


class ModerationState(enum.StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    HIDDEN = "hidden"


class FollowUpState(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class ConversationStatus(enum.StrEnum):
    BOT = "bot"
    HUMAN = "human"
    CLOSED = "closed"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class AdminRole(enum.StrEnum):
    ADMIN = "admin"
    SUPPORT = "support"


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# ---------------------------------------------------------------- customers


class Customer(TimestampMixin, Base):
    __tablename__ = "customers"
    # the console's customer list, newest first (the id breaks ties)
    __table_args__ = (Index("ix_customers_created_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(10), default="en-US")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    #: Channels this customer said STOP on; follow-ups skip them.
    opt_outs: Mapped[list[str]] = mapped_column(JSON, default=list)
    erased_at: Mapped[datetime | None]

    identities: Mapped[list[ChannelIdentity]] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )
    bookings: Mapped[list[Booking]] = relationship(back_populates="customer")


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    external_id: Mapped[str] = mapped_column(String(255))
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class PhoneVerification(Base):
    """A one-time code sent by SMS that ties a channel identity to a phone number."""

    __tablename__ = "phone_verifications"
    # how many codes a number was sent lately (customers.start_phone_link)
    __table_args__ = (Index("ix_phone_verifications_phone", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TextBudget(Base):
    """Phone-code texts sent in one clock hour (UTC), to one country or to
    all (``scope`` "*"): counted, atomically, before each send, so the
    hourly budgets hold under concurrency (``backend.services.texting``)."""

    __tablename__ = "text_budgets"

    scope: Mapped[str] = mapped_column(String(3), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    sent: Mapped[int] = mapped_column(Integer, default=0)


class PhoneGuard(Base):
    """Wrong codes said in a row for one phone number, by whoever asked to
    link it (the number's owner aside): at ``texting.MAX_CONSECUTIVE_FAILURES``
    linking the number is locked until an operator lifts it."""

    __tablename__ = "phone_guards"
    # the console lists the locked numbers
    __table_args__ = (Index("ix_phone_guards_locked_at", "locked_at"),)

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: consecutive wrong codes; a right one sets it back to 0
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None]
    #: the last lift: when, and by whom ("admin:ops@example.com", "cli")
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- catalogue

provider_categories = Table(
    "provider_categories",
    Base.metadata,
    Column(
        "provider_id",
        ForeignKey("providers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "category_id",
        ForeignKey("categories.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[CategoryKind] = mapped_column(_enum(CategoryKind, "category_kind"))
    description: Mapped[str] = mapped_column(Text, default="")
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)


class Provider(TimestampMixin, Base):
    __tablename__ = "providers"
    __table_args__ = (
        CheckConstraint("radius_km >= 0", name="radius_non_negative"),
        CheckConstraint("rating >= 0 AND rating <= 5", name="rating_range"),
        Index("ix_providers_lat_lon", "lat", "lon"),
        Index("ix_providers_updated_at", "updated_at"),  # the matching index follows it
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str | None] = mapped_column(String(120), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_km: Mapped[float] = mapped_column(Float, default=25.0)
    timezone: Mapped[str] = mapped_column(String(64))
    #: ``{"mon": [["09:00", "17:00"]], ...}`` in the provider's local time.
    weekly_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    rating: Mapped[float] = mapped_column(Float, default=0.0)
    review_count: Mapped[int] = mapped_column(Integer, default=0)
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["en"])
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    verification_state: Mapped[VerificationState] = mapped_column(
        _enum(VerificationState, "verification_state"),
        default=VerificationState.UNVERIFIED,
    )
    verified_at: Mapped[datetime | None]
    verification_notes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Bumped under lock by every booking change: serialises bookings per provider.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0)

    categories: Mapped[list[Category]] = relationship(
        secondary=provider_categories, lazy="selectin"
    )
    services: Mapped[list[Service]] = relationship(
        back_populates="provider", cascade="all, delete-orphan", lazy="selectin"
    )
    exceptions: Mapped[list[WorkingException]] = relationship(
        back_populates="provider", cascade="all, delete-orphan"
    )


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[ServiceMode] = mapped_column(_enum(ServiceMode, "service_mode"))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    price_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    provider: Mapped[Provider] = relationship(back_populates="services")
    category: Mapped[Category | None] = relationship(lazy="joined")


class WorkingException(Base):
    """A day whose hours differ from the weekly pattern (empty intervals: closed)."""

    __tablename__ = "working_exceptions"
    __table_args__ = (UniqueConstraint("provider_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE")
    )
    day: Mapped[date] = mapped_column(Date)
    intervals: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(200), default="")

    provider: Mapped[Provider] = relationship(back_populates="exceptions")


# ---------------------------------------------------------------- jobs and bookings


class Job(TimestampMixin, Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL")
    )
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus, "job_status"), default=JobStatus.OPEN
    )
    channel: Mapped[Channel] = mapped_column(
        _enum(Channel, "channel"), default=Channel.API
    )

    category: Mapped[Category | None] = relationship(lazy="joined")


class Booking(TimestampMixin, Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_bookings_provider_starts", "provider_id", "starts_at"),
        Index("ix_bookings_status_starts", "status", "starts_at"),
        # the console: the list by time (the id breaks ties, in the index so
        # PostgreSQL reads a page without sorting), the dashboard by day
        Index("ix_bookings_starts_id", "starts_at", "id"),
        Index(
            "ix_bookings_dashboard",
            "created_at",
            "channel",
            "status",
            "match_rank",
            "provider_id",
        ),
        # the bookings changed since a time: the dashboard's rollup follows them
        Index("ix_bookings_updated_created", "updated_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[BookingStatus] = mapped_column(
        _enum(BookingStatus, "booking_status"), default=BookingStatus.HELD
    )
    hold_expires_at: Mapped[datetime | None]
    price_cents: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[Channel] = mapped_column(
        _enum(Channel, "channel"), default=Channel.API
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    #: The provider's place (1 = first) in the customer's latest match request
    #: before booking; 0 if that match did not propose them; None: no match.
    match_rank: Mapped[int | None] = mapped_column(Integer)

    provider: Mapped[Provider] = relationship(lazy="joined")
    customer: Mapped[Customer | None] = relationship(back_populates="bookings")
    service: Mapped[Service | None] = relationship(lazy="joined")
    job: Mapped[Job | None] = relationship()
    events: Mapped[list[BookingEvent]] = relationship(
        back_populates="booking",
        cascade="all, delete-orphan",
        order_by="BookingEvent.id",
    )
    review: Mapped[Review | None] = relationship(back_populates="booking")


class BookingEvent(Base):
    """One change of a booking: its history, including every reschedule."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    old_starts_at: Mapped[datetime | None]
    old_ends_at: Mapped[datetime | None]
    new_starts_at: Mapped[datetime | None]
    new_ends_at: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(120), default="system")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="events")


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
        # the list by date, and the dashboard's average from the index alone
        Index(
            "ix_reviews_created_moderation_stars", "created_at", "moderation", "stars"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), unique=True
    )
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    stars: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    moderation: Mapped[ModerationState] = mapped_column(
        _enum(ModerationState, "moderation_state"), default=ModerationState.PUBLISHED
    )
    moderation_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="review")


class MatchLog(Base):
    """One request for a provider and what matching proposed (the funnel's
    first two steps, and the rank a later booking is measured by)."""

    __tablename__ = "match_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(120))
    #: the proposed providers' ids, best first
    provider_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    result_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_match_requests_created_results", "created_at", "result_count"),
    )


# ---------------------------------------------------------------- messaging


#: Why a follow-up was skipped: the customer opted out of the channels that
#: could reach them; nobody could be reached; there was nothing to tell.
SKIP_OPTED_OUT = "opted_out"
SKIP_UNREACHABLE = "unreachable"
SKIP_NOTHING_TO_TELL = "nothing_to_tell"
SKIP_REASONS = (SKIP_OPTED_OUT, SKIP_UNREACHABLE, SKIP_NOTHING_TO_TELL)


class FollowUp(Base):
    """A message due at a time, swept by beat and sent exactly once."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        # the sweep (state, due), and the dashboard's delivery figures from the
        # index alone
        Index("ix_follow_ups_state_due_skip", "state", "due_at", "skip_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(20))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    due_at: Mapped[datetime]
    state: Mapped[FollowUpState] = mapped_column(
        _enum(FollowUpState, "follow_up_state"), default=FollowUpState.PENDING
    )
    send_key: Mapped[str] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Why it was skipped, as a code (:data:`SKIP_REASONS`); None otherwise.
    skip_reason: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: When the current attempt began; a claim older than the lease is retaken.
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    booking: Mapped[Booking | None] = relationship()


class Conversation(Base):
    """Messages in and out with one customer (or one provider) on one channel."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_last_message", "last_message_at"),
        # every console page counts the flagged ones
        Index("ix_conversations_flagged", "flagged"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    status: Mapped[ConversationStatus] = mapped_column(
        _enum(ConversationStatus, "conversation_status"),
        default=ConversationStatus.BOT,
    )
    taken_over_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_users.id", ondelete="SET NULL")
    )
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        order_by="Message.id",
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "direction", "external_id"),
        # beat's sweeps: messages left in flight (received, answering, queued,
        # sending: rare among all) and recent answers whose intent is unnoted
        Index("ix_messages_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    intent: Mapped[str | None] = mapped_column(String(80))
    #: Our work on it (the lease's states): in: received → answering →
    #: answered | held; out: queued → sending → sent | failed.
    status: Mapped[str] = mapped_column(String(20), default="received")
    #: What its channel reports of an outbound message once sent (Twilio's
    #: queued → sent → delivered | undelivered | failed → read; "logged" when
    #: only logged; "delivered" when a web chat fetched it); never backwards.
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(20))
    #: times the message was taken to be answered (in) or sent (out)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: parts of an outbound reply already sent, where a channel splits it
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: why an inbound message waits for a person (``inbound.HOLD_REASONS``)
    held_reason: Mapped[str | None] = mapped_column(String(40))
    #: The follow-up this message delivered: at most one message per follow-up.
    follow_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_at: Mapped[datetime | None]

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


# ---------------------------------------------------------------- access


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[AdminRole] = mapped_column(
        _enum(AdminRole, "admin_role"), default=AdminRole.ADMIN
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None]
    #: Part of the console's session id: a new one on logout ends every
    #: session signed with the old (the cookie alone is not enough).
    session_token: Mapped[str | None] = mapped_column(String(64))
    #: Failed logins since the last good one (or the last lock); at
    #: ``access.FAILED_LOGINS_BEFORE_LOCK`` the account is locked until
    #: ``locked_until`` (or until another admin unlocks it).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiScope(enum.StrEnum):
    """What an API key may do; each route of ``/api/v1`` names the one it needs."""

    #: the catalogue, providers, availability, matches, and any record by id
    READ = "read"
    #: customers' requests: identify, phone links, jobs, bookings and their changes
    BOOK = "book"
    #: the marketplace itself: adding, changing, verifying, removing providers
    ADMIN = "admin"
    #: the assistant's actions: only what they call, each for the one person
    #: whose message they answer (``backend.api.acting``)
    ASSISTANT = "assistant"


class ApiKey(Base):
    """An API key; only a SHA-256 of its secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    #: the :class:`ApiScope` values it has, in that order
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKey(Base):
    """A side-effecting API request named by its caller's ``Idempotency-Key``,
    with the response it got: a repeat is answered with that response, not
    carried out again (``backend.services.idempotency``). Written in the
    request's own transaction, so kept exactly when its work was."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key"),
        # the keys past their time, forgotten by beat
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the caller: keys are theirs, one caller's cannot answer another's
    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255))
    #: a SHA-256 of the request (method, path, query, body)
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: the response: its status, JSON body and kept headers (Location)
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON, nullable=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- dashboard rollup


class RollupDay(Base):
    """A closed UTC day whose bookings are summed in the rollup tables (the
    console's dashboard: ``backend.admin.stats``). A day without a row is
    summed again from the bookings when it is next needed."""

    __tablename__ = "rollup_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime]


class RollupBookings(Base):
    """Bookings made on a day, per channel and status."""

    __tablename__ = "rollup_bookings"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[Channel] = mapped_column(
        _enum(Channel, "channel"), primary_key=True
    )
    status: Mapped[BookingStatus] = mapped_column(
        _enum(BookingStatus, "booking_status"), primary_key=True
    )
    bookings: Mapped[int] = mapped_column(Integer)
    #: of them, made after a match (match_rank known)
    after_match: Mapped[int] = mapped_column(Integer)
    #: of those, of one of the match's top 3
    top3: Mapped[int] = mapped_column(Integer)


class RollupProviderBookings(Base):
    """Bookings made on a day, per provider (for categories and cities)."""

    __tablename__ = "rollup_provider_bookings"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    provider_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bookings: Mapped[int] = mapped_column(Integer)


class RollupWatermark(Base):
    """One row: bookings changed before ``checked_at`` (less a margin for
    late commits) have had their days summed again."""

    __tablename__ = "rollup_watermark"

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime]
