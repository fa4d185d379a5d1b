"""Celery settings that keep "exactly once" true."""

from __future__ import annotations

import pytest

from backend import tasks
from backend.celery_app import celery_settings
from backend.config import Config, ConfigError


def _config(**overrides) -> Config:
    return Config.from_env(DATA_DIR="/tmp/beckon-config-test", **overrides)


def test_tasks_acknowledge_late_and_are_time_limited():
    settings = celery_settings(_config())
    assert settings["task_acks_late"] is True
    assert settings["task_reject_on_worker_lost"] is True
    assert settings["worker_prefetch_multiplier"] == 1
    assert 0 < settings["task_soft_time_limit"] < settings["task_time_limit"]


@pytest.mark.parametrize(
    "broker", ["redis://127.0.0.1:6379/0", "amqp://guest:guest@127.0.0.1:5672//"]
)
def test_no_countdown_outlives_the_visibility_timeout(broker):
    """Redis (and SQS) hand an unacknowledged task to another worker after the
    visibility timeout: a retry countdown longer than it would run twice."""
    settings = celery_settings(_config(CELERY_BROKER_URL=broker))
    visibility = settings["broker_transport_options"]["visibility_timeout"]
    longest_countdown = tasks.TASK_RETRY["retry_backoff_max"]
    assert longest_countdown < visibility
    for task in (tasks.send_follow_ups, tasks.sweep_follow_ups, tasks.plan_agendas):
        assert task.retry_backoff_max <= longest_countdown
        assert task.retry_jitter is True
    # the time limit ends an attempt before its claim may be taken again
    config = _config(CELERY_BROKER_URL=broker)
    assert settings["task_time_limit"] < config.FOLLOW_UPS.lease_seconds


def test_embedded_broker_is_a_file_under_the_data_dir():
    settings = celery_settings(_config())
    assert settings["broker_url"].startswith("sqlite:////tmp/beckon-config-test/")
    assert settings["broker_transport"] == "backend.broker:Transport"
    assert settings["broker_transport_options"]["polling_interval"] < 1
    assert "visibility_timeout" not in settings["broker_transport_options"]


def test_a_lease_shorter_than_a_task_is_refused(monkeypatch):
    monkeypatch.setenv("BECKON_TASK_TIME_LIMIT", "120")
    monkeypatch.setenv("BECKON_FOLLOWUP_LEASE_SECONDS", "60")
    with pytest.raises(ConfigError, match="LEASE_SECONDS must exceed"):
        Config.from_env(DATA_DIR="/tmp/beckon-config-test")
