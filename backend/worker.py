"""The Celery entry point: ``celery -A backend.worker:celery worker`` (and ``beat``).

It builds the Flask app, so tasks see the same configuration, database and
services as the web process. Beat also sweeps the inbound messages and
replies a dead process left undone (``beckon.sweep_inbound``), and notes
the intents the assistant read (``beckon.note_intents``).
"""

from backend.app import create_app

app = create_app()
celery = app.extensions["celery"]
#: How often the intents of the messages answered lately are noted.
INTENTS_SECONDS = 10


def inbound_sweep_seconds(lease_seconds: float, sweep_seconds: float) -> float:
    """How often to look for undone messages: a few times a lease (each
    waits a lease before it counts as undone), never more often than the
    follow-ups' sweep."""
    return max(sweep_seconds, min(30.0, lease_seconds / 4))


_config = app.config["BECKON"]
_every = inbound_sweep_seconds(_config.FOLLOW_UPS.lease_seconds, _config.SWEEP_SECONDS)
celery.conf.beat_schedule = {
    **celery.conf.beat_schedule,
    "sweep-inbound": {
        "task": "beckon.sweep_inbound",
        "schedule": _every,
        "options": {"expires": max(_every * 5, 10)},
    },
    "note-intents": {
        "task": "beckon.note_intents",
        "schedule": INTENTS_SECONDS,
        "options": {"expires": INTENTS_SECONDS * 5},
    },
}
