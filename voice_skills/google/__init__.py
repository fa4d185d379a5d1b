"""Google: Dialogflow ES and CX fulfillment on the voice desk.

``POST /webhooks/dialogflow/es`` and ``POST /webhooks/dialogflow/cx`` each
answer only a request carrying the configured header
(``DIALOGFLOW_AUTH_HEADER``, default ``Authorization``, must equal
``DIALOGFLOW_AUTH_VALUE``: a ``Bearer ...`` token or a ``Basic ...``
credential as set in the agent's fulfillment settings). Without that setting
the endpoints answer 503: they are never open.
"""

from voice_skills.google import webhook  # noqa: F401 - registers the routes
from voice_skills.google.blueprint import google_bp

__all__ = ["google_bp"]
