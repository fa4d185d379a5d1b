"""Celery wired to the Flask app: every task runs in an app context.

The broker is chosen by ``CELERY_BROKER_URL``: kombu's SQL transport on a file
under the data directory by default (no setup), Redis or RabbitMQ in
production. Tasks acknowledge late and are idempotent; follow-ups never wait
in the broker (beat sweeps due rows from the database), so a lost broker
message delays a follow-up by at most the lease, and never loses it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery import Celery, Task
from celery.signals import after_setup_logger, worker_process_init
from flask import Flask

from backend.config import Config

#: Retries of a task after a transient error wait at most this long; a test
#: checks it stays under the broker's visibility timeout.
RETRY_BACKOFF_MAX = 300
#: The soft limit (an exception in the task) comes at this share of the hard one.
SOFT_LIMIT_SHARE = 0.8
#: The modules that define Beckon's tasks.
TASK_MODULES = ["backend.tasks"]
#: The Celery app for ``-A``: the module holds the Flask app too, so name it.
CELERY_APP = "backend.worker:celery"


def celery_argv(*args: str) -> list[str]:
    """The command line of a Celery ``worker`` or ``beat`` of Beckon's."""
    return [sys.executable, "-m", "celery", "-A", CELERY_APP, *args]


#: How often an idle worker looks for tasks in the embedded (SQL) broker.
EMBEDDED_POLLING_SECONDS = 0.1


def celery_settings(config: Config) -> dict[str, Any]:
    """Celery's settings for ``config``."""
    broker, transport = config.CELERY_BROKER_URL, None
    if broker.startswith("sqla+"):
        # the embedded broker: kombu's SQL transport with its settings fixed
        broker, transport = broker.removeprefix("sqla+"), "backend.broker:Transport"
        transport_options: dict[str, Any] = {
            "polling_interval": EMBEDDED_POLLING_SECONDS,
            "connect_args": {"timeout": 30},
        }
    else:
        transport_options = {"visibility_timeout": config.BROKER_VISIBILITY_TIMEOUT}
    return {
        # Celery lets a CELERY_BROKER_URL variable override broker_url, but not
        # the read and write URLs: set them, so the embedded one's rewrite holds
        "broker_url": broker,
        "broker_read_url": broker,
        "broker_write_url": broker,
        "broker_transport": transport,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "result_backend": config.CELERY_RESULT_BACKEND,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": config.TASK_TIME_LIMIT,
        "task_soft_time_limit": max(1, int(config.TASK_TIME_LIMIT * SOFT_LIMIT_SHARE)),
        "task_default_queue": "beckon",
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "worker_concurrency": config.WORKER_CONCURRENCY,
        "worker_hijack_root_logger": False,
        "beat_schedule_filename": str(config.DATA_DIR / "celerybeat-schedule"),
        "beat_schedule": {
            "sweep-follow-ups": {
                "task": "beckon.sweep_follow_ups",
                "schedule": config.SWEEP_SECONDS,
                "options": {"expires": max(config.SWEEP_SECONDS * 5, 10)},
            },
            "plan-agendas": {
                "task": "beckon.plan_agendas",
                "schedule": 15 * 60,
                "options": {"expires": 600},
            },
            "forget-idempotency-keys": {
                "task": "beckon.forget_idempotency_keys",
                "schedule": 60 * 60,
                "options": {"expires": 600},
            },
        },
    }


def make_celery(app: Flask) -> Celery:
    """The Celery app for ``app``: settings from its config, tasks in its context."""

    class AppContextTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    # the worker imports the tasks when it starts (``include``); a process
    # that queues one imports its module to call it, which registers it
    celery = Celery(app.import_name, task_cls=AppContextTask, include=TASK_MODULES)
    celery.conf.update(celery_settings(app.config["BECKON"]))
    celery.set_default()
    app.extensions["celery"] = celery

    @after_setup_logger.connect(weak=False)
    def _quiet_routine(**_: Any) -> None:
        # the sweep runs every few seconds: its "received"/"succeeded" lines
        # would drown what the worker does say (what it sent, what failed)
        for name in ("celery.worker.strategy", "celery.app.trace"):
            logging.getLogger(name).setLevel(logging.WARNING)

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_: Any) -> None:
        # a forked pool process must not share the parent's connections
        from backend.extensions import db

        db.after_fork(app)

    return celery
