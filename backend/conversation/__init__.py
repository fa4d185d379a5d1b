"""The application layer for conversing: a channel's webhook parses its
request into an :class:`Inbound` and hands it here; workers and beat call
here with ids. Each use case owns its transaction (it commits, its callers
do not); the domain rules stay in ``backend.services`` (``inbound``,
``conversations``, ``leases``), the channels' ways in ``backend.notifiers``.

- :mod:`~backend.conversation.turn`: take a message, claim it, answer it.
- :mod:`~backend.conversation.outbox`: send replies, console replies; the
  web chat's outbox; delivery reports.
- :mod:`~backend.conversation.upkeep`: the sweep of undone work, intents.
- :mod:`~backend.conversation.assistant`: the assistant (Rasa) behind it.
"""

from backend.conversation.turn import Answer, Inbound

__all__ = ["Answer", "Inbound"]
