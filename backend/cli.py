"""The ``beckon`` command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask

from backend.config import Config, ConfigError


@contextmanager
def app_context() -> Iterator[Flask]:
    """The app, with a pushed context, for one command."""
    from backend.app import create_app
    from backend.extensions import db

    try:
        app = create_app(Config.from_env())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    with app.app_context():
        yield app
    db.dispose(app)


def _session():
    from backend.extensions import db

    return db.session


def _fail_on_domain_error(func):
    """Show a service's error as a one-line message and exit 1, never a traceback."""
    import functools

    from backend.services.errors import DomainError

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc

    return wrapper


@click.group()
def main() -> None:
    """Beckon: a conversational and voice-first marketplace backend."""


# ---------------------------------------------------------------- db


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from backend.migrate import current, upgrade

    config = Config.from_env()
    config.DATA_DIR.mkdir(parents=True, exist_ok=True)
    upgrade(config.DATABASE_URL, revision)
    click.echo(f"database at revision {current(config.DATABASE_URL)}")
    _ready_places(config)


def _ready_places(config: Config) -> None:
    """Build the gazetteer's store now if this is its first start (it takes
    seconds), rather than in the first server or worker process that needs it."""
    from backend.services import places

    places.use_cache_dir(config.MODEL_CACHE_DIR)
    places.load_gazetteer()


@db.command("current")
def db_current() -> None:
    """Show the database's revision."""
    from backend.migrate import current

    click.echo(
        current(Config.from_env().DATABASE_URL) or "empty (run: beckon db upgrade)"
    )


# ---------------------------------------------------------------- seed


@main.group()
def seed() -> None:
    """Fill the database with example data."""


@seed.command("demo")
@click.option(
    "--providers",
    "provider_count",
    default=360,
    show_default=True,
    type=click.IntRange(1, 100_000),
)
@click.option("--if-empty", is_flag=True, help="Do nothing if providers exist.")
@_fail_on_domain_error
def seed_demo(provider_count: int, if_empty: bool) -> None:
    """A realistic demo marketplace: trades and readers in US cities."""
    from backend.seed import seed_demo as run_seed

    with app_context() as app:
        report = run_seed(
            _session(),
            app.extensions["beckon.rules"],
            provider_count=provider_count,
            if_empty=if_empty,
        )
        _session().commit()
    click.echo(report)


# ---------------------------------------------------------------- providers


@main.group()
def providers() -> None:
    """Providers."""


@providers.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--skip-invalid", is_flag=True, help="Import the good lines even if some are bad."
)
def providers_import(file, skip_invalid: bool) -> None:
    """Import providers from a JSONL FILE (see README); known external_ids update."""
    from backend.services.providers import ensure_default_categories, import_providers

    with app_context() as app:
        session = _session()
        ensure_default_categories(session)
        report = import_providers(
            session,
            file,
            region=app.config["BECKON"].DEFAULT_REGION,
            skip_invalid=skip_invalid,
        )
        if report.applied:
            session.commit()
    for err in report.errors:
        where = f"line {err['line']}"
        if err.get("field"):
            where += f", {err['field']}"
        click.echo(f"{where}: {err['message']}", err=True)
    if not report.applied:
        raise click.ClickException(
            f"{len(report.errors)} bad line(s); nothing was imported "
            "(fix them, or use --skip-invalid)"
        )
    click.echo(
        f"created {report.created}, updated {report.updated}, "
        f"skipped {len(report.errors)}"
    )


# ---------------------------------------------------------------- index


@main.group()
def index() -> None:
    """The matching index (embeddings + FAISS) under the data directory."""


def _matching():
    from flask import current_app

    return current_app.extensions["beckon.matching"]


@index.command("build")
@click.option("--if-missing", is_flag=True, help="Do nothing if a saved index exists.")
def index_build(if_missing: bool) -> None:
    """Build the index from the database (unchanged texts are not re-encoded)."""
    with app_context() as app:
        config = app.config["BECKON"]
        if if_missing and (config.index_dir / "index" / "manifest.json").exists():
            click.echo("index present; nothing done")
            return
        stats = _matching().rebuild(_session())
    click.echo(
        f"indexed {stats.providers} providers ({stats.kind}) in {stats.seconds:.1f} s; "
        f"{stats.encoded} texts encoded, {stats.reused} taken from the cache"
    )


@index.command("status")
def index_status() -> None:
    """What the saved index holds, and how far it is behind the database."""
    with app_context():
        matching_index = _matching()
        loaded = matching_index.matcher.load()
        if not loaded:
            raise click.ClickException("no index yet: run 'beckon index build'")
        status = matching_index.matcher.status()
        status.pop("categories", None)
        for key, value in status.items():
            click.echo(f"{key}: {value}")


@index.command("verify")
def index_verify() -> None:
    """Check the index against the database; exit 1 on any difference."""
    with app_context():
        problems = _matching().verify(_session())
    for problem in problems[:50]:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} difference(s)")
    click.echo("index and database agree")


# ---------------------------------------------------------------- access


@main.group()
def telegram() -> None:
    """The Telegram bot's webhook."""


@telegram.command("set-webhook")
@click.option(
    "--url",
    default=None,
    help="Where Telegram posts updates (default: BECKON_PUBLIC_URL/webhooks/telegram).",
)
def telegram_set_webhook(url: str | None) -> None:
    """Point the bot (TELEGRAM_BOT_TOKEN) at this server, with the secret
    Telegram must send back (TELEGRAM_SECRET_TOKEN)."""
    from backend.notifiers import DeliveryError, TelegramNotifier

    config = Config.from_env()
    if not config.TELEGRAM_BOT_TOKEN or not config.TELEGRAM_SECRET_TOKEN:
        raise click.ClickException(
            "set TELEGRAM_BOT_TOKEN and TELEGRAM_SECRET_TOKEN first"
        )
    url = url or (config.PUBLIC_URL and config.PUBLIC_URL + "/webhooks/telegram")
    if not url or not url.startswith("https://"):
        raise click.ClickException(
            "Telegram needs an https URL: set BECKON_PUBLIC_URL or pass --url"
        )
    bot = TelegramNotifier(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_BASE_URL)
    try:
        bot.call(
            "setWebhook",
            {
                "url": url,
                "secret_token": config.TELEGRAM_SECRET_TOKEN,
                "allowed_updates": ["message", "callback_query"],
            },
        )
    except DeliveryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Telegram will post updates to {url}")


@main.group()
def alexa() -> None:
    """The Alexa skill's package."""


@alexa.command("model")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the ASK CLI skill package (default: the repo's own).",
)
@click.option(
    "--endpoint",
    default=None,
    help="The skill's HTTPS endpoint (default: BECKON_PUBLIC_URL/webhooks/alexa).",
)
def alexa_model(out: Path | None, endpoint: str | None) -> None:
    """Write skill.json and the en-US interaction model from the catalogue."""
    from sqlalchemy import select

    from backend.models import Category
    from voice_skills.alexa.model import (
        EXAMPLE_ENDPOINT,
        SKILL_PACKAGE,
        write_skill_package,
    )

    config = Config.from_env()
    endpoint = endpoint or (
        config.PUBLIC_URL + "/webhooks/alexa" if config.PUBLIC_URL else EXAMPLE_ENDPOINT
    )
    if not endpoint.startswith("https://"):
        raise click.ClickException("Alexa needs an https endpoint")
    from backend.services.providers import ensure_default_categories

    with app_context():
        session = _session()
        ensure_default_categories(session)  # what every marketplace starts with
        session.commit()
        categories = [
            {"slug": c.slug, "name": c.name, "synonyms": c.synonyms or []}
            for c in session.scalars(select(Category))
        ]
    for path in write_skill_package(out or SKILL_PACKAGE, categories, endpoint):
        click.echo(f"wrote {path}")


@main.group("api-key")
def api_key() -> None:
    """API keys for /api/v1."""


@api_key.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    metavar="SCOPE",
    help="what the key may do (repeat it, or separate with commas): read (the "
    "catalogue, providers, availability, matches, records by id), book "
    "(customers' requests and bookings), admin (add, change, verify providers), "
    "assistant (the assistant's actions only, each for the person it answers)",
)
@_fail_on_domain_error
def api_key_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a key called NAME with its scopes and print it (shown only this
    once). The assistant's action server needs `--scope assistant` alone."""
    from backend.services.access import create_api_key

    with app_context():
        key, token = create_api_key(_session(), name, scopes)
        _session().commit()
    click.echo(token)
    click.echo(
        f"key {key.id} '{key.name}' ({', '.join(key.scopes)}) created; "
        "store it now, it is not shown again",
        err=True,
    )


@api_key.command("revoke")
@click.argument("key_id", type=int)
@_fail_on_domain_error
def api_key_revoke(key_id: int) -> None:
    """Revoke key KEY_ID."""
    from backend.services.access import revoke_api_key

    with app_context():
        revoke_api_key(_session(), key_id)
        _session().commit()
    click.echo(f"key {key_id} revoked")


@api_key.command("list")
def api_key_list() -> None:
    """List keys (never their secrets)."""
    from sqlalchemy import select

    from backend.models import ApiKey

    with app_context():
        for key in _session().scalars(select(ApiKey).order_by(ApiKey.id)):
            state = "revoked" if key.revoked_at else "active"
            scopes = ",".join(key.scopes or [])
            click.echo(f"{key.id}\t{key.prefix}\t{state}\t{scopes}\t{key.name}")


@main.group()
def phone() -> None:
    """Phone numbers whose linking is locked after too many wrong codes."""


@phone.command("locks")
def phone_locks() -> None:
    """List the locked numbers (number, wrong codes in a row, since when)."""
    from backend.services.texting import locked_numbers

    with app_context():
        for guard in locked_numbers(_session()):
            click.echo(
                f"{guard.phone}\t{guard.failures}\t{guard.locked_at:%Y-%m-%d %H:%M} UTC"
            )


@phone.command("unlock")
@click.argument("number")
@_fail_on_domain_error
def phone_unlock(number: str) -> None:
    """Let NUMBER be linked again (its count of wrong codes starts over)."""
    from backend.services.phones import to_e164
    from backend.services.texting import lift_lock

    with app_context() as app:
        e164 = to_e164(number, app.config["BECKON"].DEFAULT_REGION)
        lift_lock(_session(), e164, by="cli")
        _session().commit()
    click.echo(f"{e164} may be linked again")


@main.group()
def admin() -> None:
    """Admin console users."""


@admin.command("create")
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option(
    "--role",
    type=click.Choice(["admin", "support"]),
    default="admin",
    show_default=True,
)
@_fail_on_domain_error
def admin_create(email: str, password: str, role: str) -> None:
    """Create an admin console user."""
    from backend.services.access import create_admin

    with app_context():
        user = create_admin(_session(), email, password, role)
        _session().commit()
    click.echo(f"admin {user.email} ({user.role.value}) created")


@admin.command("unlock")
@click.argument("email")
@_fail_on_domain_error
def admin_unlock(email: str) -> None:
    """Unlock a console account locked by failed logins (any admin can, in
    the console's Admins page; this is for when no one can log in)."""
    from sqlalchemy import select

    from backend.models import AdminUser
    from backend.services.access import unlock_admin
    from backend.services.errors import NotFound

    with app_context():
        session = _session()
        admin_id = session.scalar(
            select(AdminUser.id).where(AdminUser.email == email.strip().lower())
        )
        if admin_id is None:
            raise NotFound(f"no admin with email {email}")
        user = unlock_admin(session, admin_id)
        session.commit()
    click.echo(f"admin {user.email} unlocked")


# ---------------------------------------------------------------- google


@main.group()
def google() -> None:
    """Google: the Dialogflow agent that calls Beckon's fulfillment."""


@google.command("agent")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dialogflow-agent"),
    show_default=True,
    help="Directory to write the agent into (its zip goes beside it).",
)
@click.option(
    "--url",
    default=None,
    help="The fulfillment URL (default: BECKON_PUBLIC_URL/webhooks/dialogflow/es).",
)
@click.option(
    "--timezone", default="America/New_York", show_default=True, help="Agent's zone."
)
@click.option(
    "--with-auth",
    is_flag=True,
    help="Put the DIALOGFLOW_AUTH_HEADER value in agent.json (a secret: "
    "keep the files private). Otherwise set it in the console after importing.",
)
@click.option(
    "--from-database",
    is_flag=True,
    help="Take the service entity from the database's categories (imports may "
    "have added some) instead of the catalogue in backend/catalogue.py.",
)
def google_agent(
    out: Path, url: str | None, timezone: str, with_auth: bool, from_database: bool
) -> None:
    """Write the Dialogflow ES agent (intents, training phrases, the service
    entity from the catalogue) as files and a zip to import or restore."""
    from backend.catalogue import DEFAULT_CATEGORIES, CategorySpec
    from voice_skills.google.agent import write_agent

    categories = list(DEFAULT_CATEGORIES)
    if from_database:
        from sqlalchemy import select

        from backend.models import Category

        with app_context():
            categories = [
                CategorySpec(
                    c.slug,
                    c.name,
                    c.kind.value,
                    c.description or "",
                    tuple(c.synonyms or ()),
                )
                for c in _session().scalars(select(Category))
            ]

    config = Config.from_env()
    if url is None:
        url = config.PUBLIC_URL and config.PUBLIC_URL + "/webhooks/dialogflow/es"
    headers = {}
    if with_auth:
        if not config.DIALOGFLOW_AUTH_VALUE:
            raise click.ClickException("set DIALOGFLOW_AUTH_VALUE first")
        headers[config.DIALOGFLOW_AUTH_HEADER] = config.DIALOGFLOW_AUTH_VALUE
    files, archive = write_agent(
        out,
        categories=categories,
        webhook_url=url or "",
        headers=headers,
        timezone=timezone,
    )
    click.echo(f"wrote {len(files)} files under {out} and {archive}")
    if not url:
        click.echo("no webhook URL: set it in the agent's Fulfillment page")


# ---------------------------------------------------------------- run


@main.command()
@click.option("--host", default=None, show_default="127.0.0.1")
@click.option("--port", default=None, type=int, show_default="8000")
@click.option("--workers", default=1, show_default=True, type=int)
@click.option(
    "--web-only",
    is_flag=True,
    help="Serve the web app alone (when worker and beat run elsewhere).",
)
@click.option(
    "--assistant/--no-assistant",
    default=None,
    help="Also run the Rasa assistant and its action server "
    "(default: when bot/.venv is installed; BECKON_ASSISTANT=0 turns it off).",
)
def run(
    host: str | None,
    port: int | None,
    workers: int,
    web_only: bool,
    assistant: bool | None,
) -> None:
    """Serve Beckon with its Celery worker, beat and the Rasa assistant
    (migrating the database first)."""
    from backend import assistant as bot
    from backend.migrate import upgrade

    config = Config.from_env()
    if (banner := development_banner(config)) is not None:
        click.secho(banner, fg="yellow", bold=True, err=True)
    host = host or config.HOST
    port = config.PORT if port is None else port
    config.DATA_DIR.mkdir(parents=True, exist_ok=True)
    upgrade(config.DATABASE_URL)
    _ready_places(config)
    # the environment, not config.SECRET_KEY (generated when unset): the children
    # read it from there, and must all share one key
    if not os.environ.get("SECRET_KEY"):
        # Every process must share one secret; keep a generated one under the data dir.
        secret_file = Path(config.DATA_DIR) / "secret_key"
        if not secret_file.exists():
            secret_file.write_text(config.SECRET_KEY)
            secret_file.chmod(0o600)
        os.environ["SECRET_KEY"] = secret_file.read_text().strip()
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:backend.gunicorn_conf",
    ]
    web = [*gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers)]
    click.echo(f"Beckon on http://{host}:{port}  (API: /api/v1, health: /healthz)")
    if web_only:
        os.execvp(sys.executable, web)
    if assistant is None:
        assistant = config.ASSISTANT and bot.installed()
    extra = {}
    if assistant:
        try:
            model = bot.ensure_model()
        except bot.AssistantUnavailable as exc:
            raise click.ClickException(str(exc)) from exc
        extra = bot.processes(model, gunicorn, bot.assistant_key(config), config)
        click.echo(
            f"Assistant: http://127.0.0.1:{config.RASA_PORT}/webhooks/rest/webhook "
            f"(model {model.name})"
        )
    sys.exit(_supervise(config, web, extra))


def development_banner(config: Config) -> str | None:
    """What ``beckon run`` says first when it serves in development (the
    default ``BECKON_ENV``): what that means, and how to serve for real."""
    if config.ENV != "development":
        return None
    secret = (
        "SECRET_KEY is set"
        if os.environ.get("SECRET_KEY")
        else "SECRET_KEY is not set: a generated one signs sessions and visitor "
        f"tokens (kept in {Path(config.DATA_DIR) / 'secret_key'} for the processes "
        "`beckon run` starts; a process started on its own makes a random one, "
        "and what it signed ends with it)"
    )
    lines = [
        "BECKON_ENV=development: this is not a production setup.",
        "  - the console's session cookie is not Secure: it is sent over plain HTTP",
        f"  - {secret}",
        "  - a channel without credentials only logs what it would send, message "
        f"bodies and phone codes included ({config.NOTIFY_LOG})",
        "  - Alexa's request checks may be turned off",
        "Serve for real with BECKON_ENV=production (it refuses to start without "
        "SECRET_KEY and DATABASE_URL).",
    ]
    rule = "=" * 78
    return "\n".join([rule, *lines, rule])


def _supervise(
    config: Config,
    web: list[str],
    extra: dict[str, tuple[list[str], dict[str, str]]] | None = None,
) -> int:
    """Run web, worker, beat (and the assistant's processes, with their own
    environments) under honcho; all stop when one stops."""
    import shlex

    from honcho.manager import Manager

    from backend.celery_app import celery_argv

    commands = {
        "web": web,
        "worker": celery_argv(
            "worker",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ),
        "beat": celery_argv(
            "beat",
            "--loglevel=WARNING",  # not a line per sweep
            "--schedule",
            str(config.DATA_DIR / "celerybeat-schedule"),
        ),
    }
    manager = Manager()
    for name, argv in commands.items():
        manager.add_process(name, shlex.join(argv), env=dict(os.environ))
    for name, (argv, env) in (extra or {}).items():
        manager.add_process(name, shlex.join(argv), env=env)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    main()
