"""The Celery entry point: ``celery -A backend.worker:celery worker`` (and ``beat``).

It builds the Flask app, so tasks see the same configuration, database and
services as the web process.
"""

from backend.app import create_app

app = create_app()
celery = app.extensions["celery"]
