"""The migrations build exactly the schema the models describe."""

import json
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from backend.db import Base
from backend.migrate import current


def test_models_and_migrations_agree(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def _head() -> str:
    from alembic.script import ScriptDirectory

    from backend.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_database_is_at_head(database_url):
    assert current(database_url) == _head()


def test_downgrade_and_upgrade_again(tmp_path):
    from alembic import command

    from backend.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    assert current(url) is None
    upgrade(url)
    assert current(url) == _head()


def _backend_url(kind: str, tmp_path) -> tuple[str, callable]:
    """An empty database of ``kind`` and a function that removes it."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'data.sqlite3'}", lambda: None
    from tests.conftest import _drop_postgres_database, _fresh_postgres_database

    name = f"beckon_migration_{os.getpid()}"
    return _fresh_postgres_database(name), lambda: _drop_postgres_database(name)


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_message_work_state_moves_out_of_the_payload_and_back(kind, tmp_path):
    """0007 moves attempts, parts sent and the hold reason from the payload
    into columns, keeping every other key; its downgrade puts them back."""
    from alembic import command

    from backend.migrate import alembic_config

    url, drop = _backend_url(kind, tmp_path)
    try:
        command.upgrade(alembic_config(url), "0006")
        engine = create_engine(url)
        with engine.begin() as conn:
            _one_conversation(conn)
            for id_, payload in (
                (1, {"attempts": 3, "held": "assistant_unreachable", "sender": "+1"}),
                (2, {"parts_sent": 2, "attempts": 1, "reply_to": 1}),
                (3, {"sender": "+2"}),
            ):
                conn.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, direction,"
                        " channel, text, payload, status, created_at) VALUES"
                        " (:id, 1, 'in', 'sms', 'hi', :payload, 'received',"
                        " '2026-12-01 10:00:00')"
                    ),
                    {"id": id_, "payload": json.dumps(payload)},
                )
        command.upgrade(alembic_config(url), "0007")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, attempts, parts_sent, held_reason, payload"
                    " FROM messages ORDER BY id"
                )
            ).all()
        moved = [(r[0], r[1], r[2], r[3], _json(r[4])) for r in rows]
        assert moved == [
            (1, 3, 0, "assistant_unreachable", {"sender": "+1"}),
            (2, 1, 2, None, {"reply_to": 1}),
            (3, 0, 0, None, {"sender": "+2"}),
        ]
        command.downgrade(alembic_config(url), "0006")
        with engine.connect() as conn:
            payloads = [
                _json(p)
                for (p,) in conn.execute(
                    text("SELECT payload FROM messages ORDER BY id")
                )
            ]
        assert payloads == [
            {"attempts": 3, "held": "assistant_unreachable", "sender": "+1"},
            {"parts_sent": 2, "attempts": 1, "reply_to": 1},
            {"sender": "+2"},
        ]
        engine.dispose()
    finally:
        drop()


def _one_conversation(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO conversations (id, channel, status, flagged,"
            " last_message_at, created_at) VALUES (1, 'sms', 'bot',"
            " false, '2026-12-01 10:00:00', '2026-12-01 10:00:00')"
        )
    )


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_delivery_status_moves_apart_from_the_work_state_and_back(kind, tmp_path):
    """0008 moves what a channel said of an outbound message into
    delivery_status (the message itself becomes "sent"); our own states and
    inbound messages stay; its downgrade puts the channel's word back."""
    from alembic import command

    from backend.migrate import alembic_config

    url, drop = _backend_url(kind, tmp_path)
    before = [
        (1, "in", "held"),
        (2, "out", "delivered"),
        (3, "out", "queued"),
        (4, "out", "sending"),
        (5, "out", "failed"),
        (6, "out", "logged"),
        (7, "out", "undelivered"),
    ]
    try:
        command.upgrade(alembic_config(url), "0007")
        engine = create_engine(url)
        with engine.begin() as conn:
            _one_conversation(conn)
            for id_, direction, status in before:
                conn.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, direction,"
                        " channel, text, payload, status, created_at) VALUES"
                        " (:id, 1, :direction, 'sms', 'hi', '{}', :status,"
                        " '2026-12-01 10:00:00')"
                    ),
                    {"id": id_, "direction": direction, "status": status},
                )
        command.upgrade(alembic_config(url), "0008")
        with engine.connect() as conn:
            after = conn.execute(
                text("SELECT id, status, delivery_status FROM messages ORDER BY id")
            ).all()
        assert [tuple(r) for r in after] == [
            (1, "held", None),
            (2, "sent", "delivered"),
            (3, "queued", None),
            (4, "sending", None),
            (5, "failed", None),
            (6, "sent", "logged"),
            (7, "sent", "undelivered"),
        ]
        command.downgrade(alembic_config(url), "0007")
        with engine.connect() as conn:
            back = conn.execute(
                text("SELECT id, direction, status FROM messages ORDER BY id")
            ).all()
        assert [tuple(r) for r in back] == before
        engine.dispose()
    finally:
        drop()


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_api_keys_get_the_scopes_that_keep_them_working(kind, tmp_path):
    """0010 gives the assistant's key (named "assistant") the assistant scope
    and every other key read, book and admin; its downgrade drops them."""
    from alembic import command

    from backend.migrate import alembic_config

    url, drop = _backend_url(kind, tmp_path)
    try:
        command.upgrade(alembic_config(url), "0008")
        engine = create_engine(url)
        with engine.begin() as conn:
            for id_, name in ((1, "assistant"), (2, "partner"), (3, "assistant-old")):
                conn.execute(
                    text(
                        "INSERT INTO api_keys (id, name, prefix, key_hash, created_at)"
                        " VALUES (:id, :name, :prefix, :hash, '2026-12-01 10:00:00')"
                    ),
                    {"id": id_, "name": name, "prefix": f"p{id_}", "hash": "x" * 64},
                )
        command.upgrade(alembic_config(url), "0010")
        with engine.connect() as conn:
            after = conn.execute(text("SELECT id, scopes FROM api_keys ORDER BY id"))
            scopes = {id_: _json(value) for id_, value in after}
        assert scopes == {
            1: ["assistant"],
            2: ["read", "book", "admin"],
            3: ["read", "book", "admin"],
        }
        command.downgrade(alembic_config(url), "0008")
        with engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM api_keys ORDER BY id"))
            assert [n for (n,) in names] == ["assistant", "partner", "assistant-old"]
        engine.dispose()
    finally:
        drop()
