"""Shared fixtures: ``app``, ``client``, ``api`` (authenticated) and ``db``.

Database tests run on SQLite, and on PostgreSQL too when it is reachable
(``BECKON_TEST_POSTGRES_URL``, default the local server). Under CI
(``CI=true``) an unreachable PostgreSQL is an error, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.app import create_app
from backend.config import Config
from backend.db import Base, make_engine, make_session_factory
from backend.extensions import db as database
from backend.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "BECKON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_reachable() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


_PG_PROBLEM = _postgres_reachable()


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    marks = [pytest.mark.postgres]
    if _PG_PROBLEM and not IN_CI:
        marks.append(pytest.mark.skip(reason=_PG_PROBLEM))
    params.append(pytest.param("postgresql", id="postgresql", marks=marks))
    return params


def _fresh_postgres_database(name: str) -> str:
    if _PG_PROBLEM:
        pytest.fail(_PG_PROBLEM + " (CI needs it: .ci/run starts it)")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return (
        make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    )


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=_backends())
def database_url(request, tmp_path_factory) -> str:
    """A migrated, empty database of each backend, once per test session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "beckon.sqlite3"
        url = f"sqlite:///{path}"
    else:
        # One database per test run, so two runs on one server never collide.
        name = f"beckon_test_{os.getpid()}"
        url = _fresh_postgres_database(name)
        request.addfinalizer(lambda: _drop_postgres_database(name))
    upgrade(url)
    return url


def _empty_all_tables(url: str) -> None:
    engine = create_engine(url)
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))
    engine.dispose()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One ONNX export of the model and one gazetteer store for the whole run
    (each takes seconds to make)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def places_store(model_cache: Path) -> None:
    """Places resolve from the run's one gazetteer store, with an app or not
    (an app made with another model cache points them there)."""
    from backend.services import places

    places.use_cache_dir(model_cache)


@pytest.fixture
def config(database_url: str, tmp_path: Path, model_cache: Path) -> Config:
    return Config.from_env(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path / "var",
        MODEL_CACHE_DIR=model_cache,
        TESTING=True,
    )


@pytest.fixture
def app(config: Config, database_url: str):
    """The app on an empty database that has the default categories."""
    _empty_all_tables(database_url)
    application = create_app(config)
    with application.app_context():
        from backend.services.providers import ensure_default_categories

        ensure_default_categories(database.session)
        database.session.commit()
    yield application
    database.dispose(application)


@pytest.fixture
def db(app, database_url) -> Iterator:
    """A session of the test's own, like another user of the database.

    No app context stays pushed (Flask would reuse it for test-client requests,
    which would then share this session), and on SQLite its transactions begin
    DEFERRED, so a test that only looks never holds the write lock.
    """
    engine = make_engine(database_url, sqlite_begin="DEFERRED")
    session = make_session_factory(engine)()
    yield session
    session.close()
    engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api_token(app) -> str:
    from backend.services.access import create_api_key

    with app.app_context():
        _, token = create_api_key(database.session, "tests", ["read,book,admin"])
        database.session.commit()
    return token


class ApiClient:
    """The test client with a Bearer key on every request."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self._call("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self._call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self._call("PATCH", path, **kwargs)


@pytest.fixture
def api(client, api_token) -> ApiClient:
    return ApiClient(client, api_token)
