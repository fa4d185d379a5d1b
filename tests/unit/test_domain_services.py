"""Domain services that need no server: booking and follow-up rules, the
bookings' state machine, reading stars from a reply, and (on the ``db``
session) a provider's running rating and recording jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.models import Booking, BookingStatus, Provider
from backend.schemas import JobCreate
from backend.services.bookings import TRANSITIONS, guard_transition
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.jobs import create_job, get_job
from backend.services.reviews import _add_to_rating, parse_stars
from backend.services.rules import BookingRules, FollowUpRules

NOW = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)

# ------------------------------------------------------------------------ rules


def test_booking_rules_give_their_minutes_as_durations():
    rules = BookingRules(buffer_minutes=10, minimum_notice_minutes=90)
    assert rules.buffer == timedelta(minutes=10)
    assert rules.minimum_notice == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("start", "end", "quiet", "loud"),
    [
        (21, 8, [21, 23, 0, 7], [8, 12, 20]),  # across midnight (the default)
        (1, 6, [1, 3, 5], [0, 6, 23]),  # inside one day
        (9, 9, [], [0, 9, 23]),  # no quiet hours
    ],
)
def test_quiet_hours(start, end, quiet, loud):
    rules = FollowUpRules(quiet_start_hour=start, quiet_end_hour=end)
    assert [h for h in quiet + loud if rules.is_quiet(h)] == quiet


# ---------------------------------------------------------------- state machine


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
@pytest.mark.parametrize("status", list(BookingStatus))
def test_every_action_is_allowed_only_from_its_states(action, status):
    allowed, target = TRANSITIONS[action]
    booking = Booking(id=7, status=status)
    if status in allowed:
        assert guard_transition(booking, action) == target
        return
    with pytest.raises(Conflict) as refused:
        guard_transition(booking, action)
    assert refused.value.code == "illegal_transition"
    assert refused.value.details == {
        "status": status.value,
        "action": action.replace("_", "-"),
    }
    assert refused.value.message.startswith(
        f"booking 7 is {status.value.replace('_', ' ')}; it cannot be "
    )


def test_the_life_of_a_booking_follows_the_design():
    # held -> confirmed -> in_progress -> completed -> reviewed
    booking = Booking(id=1, status=BookingStatus.HELD)
    for action in ("confirm", "check_in", "complete", "review"):
        booking.status = guard_transition(booking, action)
    assert booking.status == BookingStatus.REVIEWED
    assert guard_transition(Booking(status=BookingStatus.HELD), "reschedule") is None


# ---------------------------------------------------------------------- reviews


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        ("5 great job", (5, "great job")),
        ("4/5 a little late", (4, "a little late")),
        ("four stars, tidy", (4, "tidy")),
        ("Three", (3, "")),
        ("★★★★", (4, "")),
        ("2* had to call twice", (2, "had to call twice")),
        ("6 stars", None),
        ("thanks!", None),
        ("50 dollars was too much", None),
    ],
)
def test_stars_are_read_from_the_start_of_a_reply(reply, parsed):
    assert parse_stars(reply) == parsed


def test_the_rating_is_a_running_average_that_a_hidden_review_leaves(db):
    """Computed by the database, in one UPDATE of the provider's row."""
    provider = Provider(name="A", lat=0, lon=0, timezone="UTC", rating=4.0)
    lone = Provider(name="B", lat=0, lon=0, timezone="UTC", rating=5.0)
    provider.review_count, lone.review_count = 3, 1
    db.add_all([provider, lone])
    db.flush()
    _add_to_rating(db, provider.id, 5, +1)
    assert (provider.rating, provider.review_count) == (4.25, 4)
    _add_to_rating(db, provider.id, 5, -1)
    assert (provider.rating, provider.review_count) == (4.0, 3)
    _add_to_rating(db, lone.id, 5, -1)
    assert (lone.rating, lone.review_count) == (0.0, 0)
    db.rollback()


# ------------------------------------------------------------------------- jobs


def test_a_job_is_recorded_with_its_category(db):
    job = create_job(
        db,
        JobCreate(text="my sink is clogged", category="Plumbing", address="1 Main St"),
        now=NOW,
    )
    assert job.id is not None
    assert job.category.slug == "plumbing"
    assert get_job(db, job.id) is job


def test_a_job_refuses_an_unknown_category_and_a_window_already_over(db):
    with pytest.raises(Invalid) as unknown:
        create_job(
            db, JobCreate(text="fix my rocket", category="astronautics", address="1")
        )
    assert unknown.value.field == "category"
    past = {"from": NOW - timedelta(hours=3), "to": NOW - timedelta(hours=1)}
    with pytest.raises(Invalid) as over:
        create_job(db, JobCreate(text="fix my sink", address="1", when=past), now=NOW)
    assert over.value.field == "when.to"
    with pytest.raises(NotFound):
        get_job(db, 999_999)
