"""Follow-ups through real Celery workers and beat, as separate processes.

On SQLite the broker is the embedded one (kombu's SQL transport on a file); on
PostgreSQL it is Redis when it answers (else the embedded one again). Nothing
is eager: tasks cross the broker to worker processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.celery_app import celery_argv
from backend.models import Direction, FollowUp, FollowUpState, Message
from backend.schemas import BookingCreate
from backend.services import bookings
from backend.services.rules import BookingRules, FollowUpRules
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import days_ahead, local, make_customer, make_provider

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("BECKON_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LEASE, TIME_LIMIT = 8, 5


def _redis_problem() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"Redis not reachable at {REDIS_URL}: {exc.__class__.__name__}"


@pytest.fixture
def broker_url(database_url, tmp_path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    problem = _redis_problem()
    if problem:
        if IN_CI:
            pytest.fail(problem + " (CI needs it: .ci/run starts it)")
        return f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


class Processes:
    """Worker and beat processes for one test; all killed at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: list[subprocess.Popen] = []

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            celery_argv(*args),
            cwd=REPO,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: kill -9 takes its children too
        )
        self.running.append(proc)
        return proc

    def worker(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        return self._start(
            name,
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
        )

    def beat(self, name: str) -> subprocess.Popen:
        schedule = self.logs / f"{name}-schedule"
        return self._start(name, "beat", "--loglevel=INFO", "-s", str(schedule))

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        """SIGKILL the process and its pool children, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                self.kill(proc)


@pytest.fixture
def processes(database_url, broker_url, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "BECKON_DATA_DIR": str(tmp_path / "var"),
        "BECKON_NOTIFY_LOG": str(tmp_path / "notifications.jsonl"),
        "BECKON_SWEEP_SECONDS": "0.5",
        "BECKON_TASK_TIME_LIMIT": str(TIME_LIMIT),
        "BECKON_FOLLOWUP_LEASE_SECONDS": str(LEASE),
        # no quiet hours: the test must not depend on the time of day
        "BECKON_FOLLOWUP_QUIET_START_HOUR": "0",
        "BECKON_FOLLOWUP_QUIET_END_HOUR": "0",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SECRET_KEY"):
        env.pop(name, None)
    procs = Processes(env, tmp_path)
    yield procs
    procs.stop_all()


def _confirmed_bookings(db, providers: int, per_provider: int) -> list[int]:
    ids = []
    customer = make_customer(db)
    for p in range(providers):
        provider = make_provider(
            db, external_id=f"p-{p}", name=f"Provider {p}", phone=f"+1312555{p:04d}"
        )
        for day in range(per_provider):
            booking = bookings.create_booking(
                db,
                BookingCreate(
                    provider_id=provider.id,
                    customer_id=customer.id,
                    start=local(days_ahead(3 + day), 10),
                    confirm=True,
                ),
                BookingRules(),
                follow_ups=FollowUpRules(),
            )
            ids.append(booking.id)
    db.commit()
    return ids


def _wait_until_settled(db, expected: int, timeout: float, logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.expire_all()
        counts = dict(
            db.execute(
                select(FollowUp.state, func.count())
                .where(FollowUp.kind == "confirmation")
                .group_by(FollowUp.state)
            ).all()
        )
        db.commit()
        if counts.get(FollowUpState.SENT, 0) == expected:
            return
        time.sleep(0.25)
    tails = "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("*.log"))
    )
    pytest.fail(f"not all sent in {timeout} s: {counts}\n{tails}")


def test_two_workers_and_two_sweeps_send_each_message_once(
    db, processes, tmp_path, broker_url
):
    booking_ids = _confirmed_bookings(db, providers=5, per_provider=5)
    expected = 2 * len(booking_ids)  # a confirmation to each side
    processes.worker("w1")
    processes.worker("w2")
    processes.beat("beat1")
    processes.beat("beat2")  # two beats: every sweep races another
    _wait_until_settled(db, expected, 90, tmp_path)
    time.sleep(2)  # let any duplicate that would happen, happen

    log_lines = (tmp_path / "notifications.jsonl").read_text().splitlines()
    keys = Counter(json.loads(line)["key"] for line in log_lines)
    confirmations = {k: n for k, n in keys.items() if k.startswith("confirmation:")}
    assert len(confirmations) == expected
    assert set(confirmations.values()) == {1}, "a message went out twice"
    outbound = db.scalar(
        select(func.count(Message.id)).where(Message.direction == Direction.OUT)
    )
    assert outbound == expected


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio("AC" + "2" * 32, "worker-test-token", delay_seconds=2.0).start()
    yield fake
    fake.stop()


def test_a_worker_killed_mid_send_loses_and_duplicates_nothing(
    db, processes, tmp_path, fake_twilio
):
    processes.env.update(
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_SMS_FROM="+13125550000",
        TWILIO_API_BASE_URL=fake_twilio.url,
    )
    booking_ids = _confirmed_bookings(db, providers=3, per_provider=2)
    expected = 2 * len(booking_ids)
    worker = processes.worker("w1")
    processes.beat("beat1")
    deadline = time.monotonic() + 60
    while len(fake_twilio.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake_twilio.messages) >= 2, "the worker never sent"
    processes.kill(worker)  # Twilio has them; the worker never heard back
    in_flight = len(fake_twilio.messages)
    recorded = db.scalar(select(func.count(Message.id)))
    db.commit()
    assert recorded < in_flight, "the kill came too late to test anything"

    processes.worker("w2")
    _wait_until_settled(db, expected, 90, tmp_path)
    time.sleep(1)
    sent = Counter((m["to"], m["body"]) for m in fake_twilio.messages)
    assert len(sent) == expected
    assert set(sent.values()) == {1}, "a message went out twice"
    stored = set(
        db.scalars(
            select(Message.external_id).where(Message.direction == Direction.OUT)
        )
    )
    assert stored == {m["sid"] for m in fake_twilio.messages}


def test_messages_a_dead_worker_or_a_failed_queueing_left_are_answered_by_the_sweep(
    db, processes, tmp_path
):
    """Two Telegram messages nobody will answer: one whose task was never
    queued (the broker refused it after the commit), one a worker claimed and
    then died with. Beat's sweep finds both a lease later and the workers
    answer each once through the Bot API."""
    from datetime import timedelta

    from backend.db import utcnow
    from backend.models import Channel
    from backend.services import inbound
    from tests.fakes.rasa_rest import FakeRasa
    from tests.fakes.telegram_api import FakeTelegram

    rasa, bot_api = FakeRasa().start(), FakeTelegram("123:worker-test")
    try:
        processes.env.update(
            RASA_URL=rasa.url,
            TELEGRAM_BOT_TOKEN=bot_api.token,
            TELEGRAM_API_BASE_URL=bot_api.url,
        )
        long_ago = utcnow() - timedelta(seconds=LEASE + 1)
        left = []
        for chat, update_id in (("5550101", "864300001"), ("5550102", "864300002")):
            received = inbound.receive(
                db, Channel.TELEGRAM, chat, "hello", message_id=update_id, now=long_ago
            )
            left.append(received.message.id)
        db.commit()
        assert inbound.claim(db, left[1], lease_seconds=LEASE, now=long_ago)
        db.commit()
        processes.worker("w1")
        processes.beat("beat1")
        deadline = time.monotonic() + 60
        while len(bot_api.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(LEASE / 2)  # a sweep or two more: nothing is sent twice
        sent = Counter(body["chat_id"] for method, body in bot_api.calls)
        assert sent == {"5550101": 1, "5550102": 1}, bot_api.calls
        assert len(rasa.received) == 2
        db.expire_all()
        statuses = db.scalars(select(Message.status).where(Message.id.in_(left)))
        assert set(statuses) == {"answered"}
        db.commit()
    finally:
        rasa.stop()
        bot_api.stop()
