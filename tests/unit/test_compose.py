"""The production docker-compose.yml against the official Compose specification.

The schema is vendored in tests/data/compose-spec.json (see tests/data/README.md),
so these tests need no network and no Docker.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec.json"

DESIGN_SERVICES = (
    "postgres",
    "redis",
    "api",
    "worker",
    "beat",
    "rasa",
    "action-server",
)
NEEDS_HEALTHCHECK = (
    "postgres",
    "redis",
    "api",
    "internal-api",
    "worker",
    "beat",
    "rasa",
    "action-server",
)
APP_SERVICES = ("api", "internal-api", "worker", "beat")

# A whole value that is one substitution: `${VAR}`, `${VAR:-default}`, `${VAR:?msg}`.
SUBSTITUTION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?+][^}]*)?\}$")
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|_SID$|API_KEY)", re.I)
URL_USERINFO = re.compile(r"://(?P<user>[^:/@\s]+):(?P<password>[^@\s]+)@")


def _load_compose() -> dict:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    # Use the dialect the schema itself declares in "$schema".
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _errors(document: dict) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in _validator().iter_errors(document)
    ]


def _environment(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=value list form
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


# --------------------------------------------------------------------------- schema


def test_vendored_schema_is_the_compose_spec() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"] == "Compose Specification"
    for key in ("services", "volumes", "networks"):
        assert key in schema["properties"]
    for key in ("service", "healthcheck", "volume"):
        assert key in schema["definitions"]
    assert (
        jsonschema.validators.validator_for(schema) is jsonschema.Draft201909Validator
    )


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    errors = _errors(_load_compose())
    assert errors == [], "docker-compose.yml is not valid Compose:\n" + "\n".join(
        errors
    )


def _ports_as_mapping(doc: dict) -> None:
    doc["services"]["api"]["ports"] = {"8000": 8000}


def _unknown_top_level_key(doc: dict) -> None:
    doc["servicez"] = {}


def _misspelt_service_key(doc: dict) -> None:
    doc["services"]["worker"]["healthchek"] = doc["services"]["worker"].pop(
        "healthcheck"
    )


def _bad_depends_on_condition(doc: dict) -> None:
    doc["services"]["api"]["depends_on"] = {"postgres": {"condition": "service_ready"}}


def _bad_service_name(doc: dict) -> None:
    doc["services"]["action server"] = doc["services"].pop("action-server")


@pytest.mark.parametrize(
    "break_it",
    [
        _ports_as_mapping,
        _unknown_top_level_key,
        _misspelt_service_key,
        _bad_depends_on_condition,
        _bad_service_name,
    ],
)
def test_broken_compose_file_fails_validation(break_it) -> None:
    doc = copy.deepcopy(_load_compose())
    break_it(doc)
    assert _errors(doc), f"{break_it.__name__}: the schema accepted a broken file"


# --------------------------------------------------------------------------- shape


def test_every_design_service_exists_with_a_healthcheck() -> None:
    services = _load_compose()["services"]
    missing = [name for name in DESIGN_SERVICES if name not in services]
    assert not missing, f"services missing from docker-compose.yml: {missing}"
    for name in NEEDS_HEALTHCHECK:
        check = services[name].get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} healthcheck is disabled"
        test = check.get("test")
        assert test and test != ["NONE"], f"{name} healthcheck has no test"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name


def test_app_services_wait_for_migrations_and_healthy_backends() -> None:
    services = _load_compose()["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["beckon", "db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name


def test_app_services_share_one_environment() -> None:
    services = _load_compose()["services"]
    env = _environment(services["api"])
    assert env["BECKON_ENV"] == "production"
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["RASA_URL"] == "http://rasa:5005"
    assert env["BECKON_DATA_DIR"] == "/data"
    for name in ("internal-api", "worker", "beat", "migrate"):
        assert _environment(services[name]) == env, name


def test_build_contexts_point_at_dockerfiles() -> None:
    services = _load_compose()["services"]
    for name, service in services.items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"


# --------------------------------------------------------------------------- secrets


def test_no_literal_secret_in_the_compose_file() -> None:
    doc = _load_compose()
    offenders: list[str] = []
    environments = {
        key: value
        for key, value in doc.items()
        if key.startswith("x-") and key.endswith("env")
    }
    environments.update(
        {f"services.{name}": _environment(s) for name, s in doc["services"].items()}
    )
    for where, env in environments.items():
        for key, value in (env or {}).items():
            text = "" if value is None else str(value)
            if SECRET_NAME.search(key) and text and not SUBSTITUTION.match(text):
                offenders.append(f"{where}.{key} = {text!r}")
            for match in URL_USERINFO.finditer(text):
                if not SUBSTITUTION.match(match["password"]):
                    offenders.append(f"{where}.{key} has a literal password in its URL")
    assert not offenders, "literal secrets in docker-compose.yml:\n" + "\n".join(
        offenders
    )


def test_required_secrets_fail_fast_when_unset() -> None:
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    assert "${SECRET_KEY:?" in raw
    assert "${POSTGRES_PASSWORD:?" in raw
    # nothing that looks like an assigned password/secret outside a substitution
    for line in raw.splitlines():
        stripped = line.split("#", 1)[0]
        m = re.match(
            r"^\s*-?\s*[A-Z_]*(PASSWORD|SECRET|TOKEN)[A-Z_]*\s*[:=]\s*(\S.*)$", stripped
        )
        if m:
            assert m.group(2).strip().startswith("${"), (
                f"literal secret: {line.strip()}"
            )
