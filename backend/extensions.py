"""Extensions, created unbound here and bound to an app with ``init_app``."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import IntegerConverter

from backend.db import MAX_INTEGER, make_engine, make_session_factory


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number no row can have is not found
    (404), rather than an overflow in the database driver (500)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_INTEGER)
        super().__init__(map, *args, **kwargs)


def bound_route_numbers(app: Flask) -> None:
    """Make ``<int:...>`` route parts :class:`RowIdConverter`; before any
    blueprint is registered (a rule reads its converter when it is added)."""
    app.url_map.converters["int"] = RowIdConverter


class Database:
    """One engine per app; one session per app context (request, CLI command, task)."""

    def __init__(self) -> None:
        self._engines: dict[int, tuple[Engine, sessionmaker[Session]]] = {}

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        self._engines[id(app)] = (engine, make_session_factory(engine))
        app.extensions["beckon.db"] = self
        app.teardown_appcontext(self._remove_session)

    def _pair(self) -> tuple[Engine, sessionmaker[Session]]:
        from flask import current_app

        return self._engines[id(current_app._get_current_object())]

    @property
    def engine(self) -> Engine:
        return self._pair()[0]

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self._pair()[1]

    @property
    def session(self) -> Session:
        """The session of the current app context, created on first use."""
        if "db_session" not in g:
            g.db_session = self.session_factory()
        return g.db_session

    def _remove_session(self, exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()

    def after_fork(self, app: Flask) -> None:
        """Forget connections inherited from a parent process (keep them open
        for the parent)."""
        pair = self._engines.get(id(app))
        if pair:
            pair[0].dispose(close=False)

    def dispose(self, app: Flask) -> None:
        pair = self._engines.pop(id(app), None)
        if pair:
            pair[0].dispose()


db = Database()


# the admin console's sessions, CSRF tokens and login rate limit (bound in
# backend.admin.init_admin)
from flask_limiter import Limiter  # noqa: E402
from flask_limiter.util import get_remote_address  # noqa: E402
from flask_login import LoginManager  # noqa: E402
from flask_wtf.csrf import CSRFProtect  # noqa: E402

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
