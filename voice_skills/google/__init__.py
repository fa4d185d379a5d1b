"""Google: Dialogflow ES and CX fulfillment on the voice desk.

``POST /webhooks/dialogflow/es`` and ``POST /webhooks/dialogflow/cx`` each
answer only a request carrying the configured header
(``DIALOGFLOW_AUTH_HEADER``, default ``Authorization``, must equal
``DIALOGFLOW_AUTH_VALUE``: a ``Bearer ...`` token or a ``Basic ...``
credential as set in the agent's fulfillment settings). Without that setting
the endpoints answer 503: they are never open.
"""

from flask import Blueprint

from voice_skills.web import close_reader

google_bp = Blueprint("google", __name__, url_prefix="/webhooks/dialogflow")
google_bp.teardown_app_request(close_reader)

from voice_skills.google import webhook  # noqa: E402,F401 - registers the routes
