"""All configuration, read from the environment in one place.

Embedded defaults need no setup: a SQLite file and an embedded Celery transport
under the data directory. Production (``BECKON_ENV=production``) refuses to start
without its secrets.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from backend.services.rules import BookingRules

PRODUCTION_SECRETS = ("SECRET_KEY", "DATABASE_URL")


class ConfigError(RuntimeError):
    """Raised when the configuration cannot run the app."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass
class Config:
    """Settings of one Beckon process. Build with :meth:`from_env`."""

    ENV: str = "development"
    DATA_DIR: Path = field(default_factory=lambda: Path("var").resolve())
    DATABASE_URL: str = ""
    SECRET_KEY: str = ""
    CELERY_BROKER_URL: str = ""
    CELERY_RESULT_BACKEND: str = ""
    #: Booking rules; each field reads ``BECKON_<FIELD NAME IN CAPITALS>``.
    RULES: BookingRules = field(default_factory=BookingRules)
    TESTING: bool = False

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        """Read every setting from the environment, then apply ``overrides``."""
        data_dir = Path(os.environ.get("BECKON_DATA_DIR", "var")).resolve()
        cfg = cls(
            ENV=os.environ.get("BECKON_ENV", "development"),
            DATA_DIR=data_dir,
            DATABASE_URL=os.environ.get("DATABASE_URL", ""),
            SECRET_KEY=os.environ.get("SECRET_KEY", ""),
            CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", ""),
            CELERY_RESULT_BACKEND=os.environ.get("CELERY_RESULT_BACKEND", ""),
            RULES=BookingRules(
                **{
                    rule.name: _env_int(f"BECKON_{rule.name.upper()}", rule.default)
                    for rule in fields(BookingRules)
                }
            ),
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
        if not self.DATABASE_URL:
            self.DATABASE_URL = f"sqlite:///{self.DATA_DIR / 'beckon.sqlite3'}"
        if not self.SECRET_KEY:
            self.SECRET_KEY = secrets.token_hex(32)
        if not self.CELERY_BROKER_URL:
            self.CELERY_BROKER_URL = (
                f"sqla+sqlite:///{self.DATA_DIR / 'broker.sqlite3'}"
            )
        if not self.CELERY_RESULT_BACKEND:
            self.CELERY_RESULT_BACKEND = (
                f"db+sqlite:///{self.DATA_DIR / 'results.sqlite3'}"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")
