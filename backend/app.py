"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask, jsonify

from backend import bodies
from backend.config import Config
from backend.conversation.assistant import assistant_for
from backend.conversation.context import ASSISTANT
from backend.extensions import bound_route_numbers, db
from backend.notifiers import Notifiers
from backend.services import places
from backend.services.matching import MatchingIndex

log = logging.getLogger("beckon.app")


def create_app(config: Config | None = None) -> Flask:
    """Build the Beckon web app; ``config`` defaults to the environment's."""
    config = config or Config.from_env()
    config.DATA_DIR.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.config.from_object(config)
    app.config["DATABASE_URL"] = config.DATABASE_URL
    app.config["SECRET_KEY"] = config.SECRET_KEY
    app.config["BECKON"] = config
    bound_route_numbers(app)
    bodies.init_app(app)  # every body capped, every JSON body depth-checked
    app.json.sort_keys = False  # keep {"error": {code, message, details}} in order
    app.extensions["beckon.rules"] = config.RULES
    app.extensions["beckon.follow_up_rules"] = config.FOLLOW_UPS
    app.extensions["beckon.text_rules"] = config.texts
    notifiers = Notifiers.from_config(config)
    app.extensions["beckon.notifiers"] = notifiers
    app.extensions[ASSISTANT] = assistant_for(config)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if (off := notifiers.describe_unavailable()) is not None:
        log.warning(off)  # each process says it as it starts: web, worker, beat

    db.init_app(app)
    places.use_cache_dir(config.MODEL_CACHE_DIR)
    app.extensions["beckon.matching"] = MatchingIndex.from_config(config)

    from backend.api import api_bp

    app.register_blueprint(api_bp)

    from backend.admin import init_admin

    init_admin(app)

    from webhooks import webhooks_bp
    from webhooks.webchat import chat_page

    app.register_blueprint(webhooks_bp)
    app.add_url_rule("/chat", "chat", chat_page)

    from voice_skills.alexa.skill import alexa_bp

    app.register_blueprint(alexa_bp)

    from voice_skills.google import google_bp

    app.register_blueprint(google_bp)

    # the web process queues tasks too (replies of Messenger and Telegram)
    from backend.celery_app import make_celery

    make_celery(app)

    if config.TRUSTED_PROXIES:
        # the scheme, host and client address as the first proxy saw them: what
        # signed webhooks (Twilio, Meta) were addressed to
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = config.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    @app.get("/healthz")
    def healthz():
        from sqlalchemy import text

        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok")

    return app
