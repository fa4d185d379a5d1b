"""Starting the Rasa assistant beside the web app: its model, its key, its processes.

Rasa runs in its own environment (``bot/.venv``, from ``make bot-install``);
nothing here imports it. ``beckon run`` asks this module for the two
commands, Rasa's server (``rasa run --enable-api``) and the action server,
after making sure the model for the current bot files exists (trained only
when ``bot/config.yml``, ``domain.yml``, ``data/``, ``components/`` or the
exported encoder changed) and that the
action server has a live API key of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from backend.config import Config

BOT_DIR = Path(__file__).resolve().parent.parent / "bot"
BOT_PYTHON = BOT_DIR / ".venv" / "bin" / "python"
KEY_NAME = "assistant"


class AssistantUnavailable(RuntimeError):
    """The bot's environment is not installed (``make bot-install``)."""


def installed() -> bool:
    return BOT_PYTHON.exists()


def ensure_model() -> Path:
    """The trained model for the bot's current files (trains if there is none),
    after exporting the sentence encoder its pipeline reads (once: this
    environment has torch and the packaged model, the bot's has neither)."""
    if not installed():
        raise AssistantUnavailable(
            f"{BOT_PYTHON} is missing: run `make bot-install` first"
        )
    subprocess.run(
        [sys.executable, str(BOT_DIR / "tools" / "export_encoder.py")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    out = subprocess.run(
        [str(BOT_PYTHON), str(BOT_DIR / "tools" / "train.py")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def assistant_key(config: Config) -> str:
    """The action server's API key (the ``assistant`` scope alone), kept
    under the data dir (0600) and made again when the database no longer
    knows it as one with that scope."""
    from backend.app import create_app
    from backend.extensions import db
    from backend.models import ApiScope
    from backend.services.access import (
        authenticate_api_key,
        create_api_key,
        has_scope,
        revoke_api_key,
    )
    from backend.services.errors import Unauthorized

    key_file = Path(config.DATA_DIR) / "assistant-api-key"
    app = create_app(config)
    with app.app_context():
        if key_file.exists():
            token = key_file.read_text().strip()
            try:
                key = authenticate_api_key(db.session, token)
                if has_scope(key, ApiScope.ASSISTANT):
                    db.session.commit()
                    return token
                revoke_api_key(db.session, key.id)  # a key to more than it needs
            except Unauthorized:
                pass
        _, token = create_api_key(db.session, KEY_NAME, [ApiScope.ASSISTANT])
        db.session.commit()
    key_file.write_text(token)
    key_file.chmod(0o600)
    return token


def processes(
    model: Path, web: list[str], api_key: str, config: Config
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Rasa's server, the action server and the action server's own API pool
    (``web``'s command on a local port, all ports from ``config``): each argv
    with its environment.

    A channel's webhook holds a web thread while it waits on Rasa, and Rasa's
    actions call back into the API. Were both served by one pool, enough
    waiting webhooks would take every thread and the actions' calls would
    queue behind them until Rasa timed out; a pool of its own for the actions
    cannot be starved by the webhooks.
    """
    bin_dir = BOT_PYTHON.parent
    # the children inherit this process's environment, plus their own settings
    env = dict(os.environ)
    internal_api = [
        *web,
        "--bind",
        f"127.0.0.1:{config.INTERNAL_API_PORT}",
        "--workers",
        "1",
    ]
    actions_env = env | {
        "BECKON_API_URL": f"http://127.0.0.1:{config.INTERNAL_API_PORT}",
        "BECKON_API_KEY": api_key,
        "PYTHONPATH": str(BOT_DIR),
        # rasa_sdk listens on every interface unless told otherwise
        "SANIC_HOST": config.ACTIONS_HOST,
    }
    rasa_env = env | {
        "BECKON_ACTION_ENDPOINT": f"http://127.0.0.1:{config.ACTIONS_PORT}/webhook",
        # the model's pipeline names bot/components' classes
        "PYTHONPATH": str(BOT_DIR),
    }
    endpoints = config.RASA_ENDPOINTS or str(BOT_DIR / "endpoints.yml")
    rasa = [
        str(bin_dir / "rasa"),
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--endpoints",
        endpoints,
        "--credentials",
        str(BOT_DIR / "credentials.yml"),
        "--interface",
        "127.0.0.1",
        "--port",
        str(config.RASA_PORT),
    ]
    if config.RASA_TOKEN:
        rasa += ["--auth-token", config.RASA_TOKEN]
    actions = [
        str(BOT_PYTHON),
        "-m",
        "rasa_sdk",
        "--actions",
        "actions",
        "--port",
        str(config.ACTIONS_PORT),
    ]
    return {
        "rasa": (rasa, rasa_env),
        "actions": (actions, actions_env),
        "internal-api": (internal_api, env),
    }
