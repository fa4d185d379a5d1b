"""The domain's operations. No Flask, Celery, Twilio, ASK or Rasa imports here.

Each public function takes a SQLAlchemy ``Session`` first, changes state inside
the caller's transaction, and raises a :mod:`backend.services.errors` error.
"""
