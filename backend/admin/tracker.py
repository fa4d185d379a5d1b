"""Erasing a customer's conversations from the assistant's tracker store.

Rasa 3.6's ``PUT /conversations/{id}/tracker/events`` replaces a tracker with
the events sent: with an empty list, an in-memory store (the embedded
default) forgets the conversation. Rasa's SQL tracker store only appends on
save (``SQLTrackerStore._additional_events``), so there the rows are deleted
from its ``events`` table directly (``RASA_TRACKER_DB_URL``) before the PUT.
"""

from __future__ import annotations

from urllib.parse import quote

import requests
from sqlalchemy import create_engine, text

from backend.config import Config

TIMEOUT = 5


class TrackerError(RuntimeError):
    """The assistant's record could not be erased; nothing was changed here."""


def erase_trackers(config: Config, senders: list[str]) -> int:
    """Erase the trackers of ``senders``; returns how many SQL events went."""
    deleted = 0
    if config.RASA_TRACKER_DB_URL and senders:
        engine = create_engine(config.RASA_TRACKER_DB_URL)
        try:
            with engine.begin() as conn:
                for sender in senders:
                    deleted += conn.execute(
                        text("DELETE FROM events WHERE sender_id = :sender"),
                        {"sender": sender},
                    ).rowcount
        except Exception as exc:  # noqa: BLE001 - any failure stops the erasure
            raise TrackerError(f"the tracker store refused: {exc}") from exc
        finally:
            engine.dispose()
    params = {"token": config.RASA_TOKEN} if config.RASA_TOKEN else {}
    for sender in senders:
        sender_id = quote(sender, safe="+:@")
        url = f"{config.RASA_URL}/conversations/{sender_id}/tracker/events"
        try:
            response = requests.put(url, json=[], params=params, timeout=TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise TrackerError(
                f"the assistant could not be reached to erase its record: {exc}"
            ) from exc
    return deleted
