"""The embedded broker: kombu's SQL transport, tuned for a SQLite file.

Two changes to kombu's own transport, both settings it lacks:
- ``polling_interval`` from the transport options reaches the channel and is
  kept out of ``create_engine`` (kombu passes every other option there), so an
  idle worker notices a new task in a tenth of a second, not a whole one;
- the SQLite file runs in WAL mode with ``synchronous=NORMAL`` and a busy
  timeout, as Beckon's own database does, so publishing and fetching do not
  wait on each other's fsyncs.

Celery selects it with ``broker_transport = "backend.broker:Transport"`` and a
plain ``sqlite:///`` broker URL (see :func:`backend.celery_app.celery_settings`).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import sqlalchemy as kombu_sql
from sqlalchemy import create_engine, event

#: Options kombu reads itself; everything else goes to ``create_engine``.
NOT_FOR_THE_ENGINE = frozenset(
    {
        "queue_tablename",
        "message_tablename",
        "callback",
        "errback",
        "max_retries",
        "interval_start",
        "interval_step",
        "interval_max",
        "retry_errors",
        "polling_interval",
    }
)


class Channel(kombu_sql.Channel):
    def _engine_from_config(self) -> Any:
        conninfo = self.connection.client
        options = {
            key: value
            for key, value in conninfo.transport_options.items()
            if key not in NOT_FOR_THE_ENGINE
        }
        engine = create_engine(conninfo.hostname, **options)
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()

        return engine


class Transport(kombu_sql.Transport):
    Channel = Channel
