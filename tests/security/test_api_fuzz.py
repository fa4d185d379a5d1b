"""Schemathesis over the API's own OpenAPI description (issue 18).

Every operation in ``/api/v1/openapi.json`` gets requests generated from its
description, both inputs that fit it and inputs that break it (Schemathesis'
positive and negative modes), on SQLite and PostgreSQL. Whatever comes in:
never a 5xx or an exception; every refusal is the one JSON error shape and
leaves every table as it was; a key of one scope gets 403 from every
operation whose security requirement does not name it (and writes nothing);
without a key, every operation but the description itself is a 401.

What this found when it was written: a path id or a page number beyond what
a column holds overflowed in the driver (500 on both databases), and a NUL
character in a text was a 500 on PostgreSQL.
"""

from __future__ import annotations

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from backend.extensions import db as database
from backend.services.access import create_api_key
from tests.fuzz import row_counts

#: Examples per operation and mode: enough to reach each field's edges
#: (Schemathesis starts from them), few enough for CI.
EXAMPLES = 12


def _schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _operations(app) -> list:
    return [result.ok() for result in _schema(app).get_all_operations()]


def _fuzz(operation, mode, headers, check, examples: int = EXAMPLES) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,  # no example database written into the tree
        derandomize=True,  # the same cases on every run: CI is not a lottery
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        check(case, case.call(headers=headers))

    run()


def test_no_generated_request_fails_or_writes_on_refusal(app, client, db, api_token):
    error_shape = client.get("/api/v1/openapi.json").get_json()["components"][
        "schemas"
    ]["Error"]
    seen: list[str] = []

    def check(case, response) -> None:
        label = f"{case.operation.label} {case.as_curl_command()[:600]}"
        assert response.status_code < 500, (label, response.text[:300])
        if response.status_code >= 400:
            jsonschema.validate(response.json(), error_shape)
            assert row_counts(db) == before[0], label
        before[0] = row_counts(db)

    before = [row_counts(db)]
    headers = {"Authorization": f"Bearer {api_token}"}
    for operation in _operations(app):
        seen.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, headers, check)
    assert len(seen) >= 25, seen


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer bk_00000000_not-a-key", "Basic dXNlcjpwYXNz", "Bearer "],
    ids=["none", "unknown", "basic", "empty"],
)
def test_without_a_live_key_every_operation_is_401_and_writes_nothing(
    app, db, authorization
):
    before = row_counts(db)

    def check(case, response) -> None:
        if case.operation.path == "/api/v1/openapi.json":
            assert response.status_code == 200
            return
        assert response.status_code == 401, case.operation.label
        assert response.json()["error"]["code"] == "unauthorized"

    headers = {"Authorization": authorization} if authorization else {}
    for operation in _operations(app):
        _fuzz(operation, GenerationMode.POSITIVE, headers, check, examples=3)
    assert row_counts(db) == before


@pytest.mark.parametrize("scope", ["read", "book", "admin", "assistant"])
def test_a_key_of_one_scope_is_refused_wherever_its_scope_is_not_named(app, db, scope):
    with app.app_context():
        _, token = create_api_key(database.session, f"only {scope}", [scope])
        database.session.commit()
    before = [row_counts(db)]
    allowed: dict[str, bool] = {}

    def check(case, response) -> None:
        label = f"{case.operation.label} {case.as_curl_command()[:600]}"
        assert response.status_code < 500, (label, response.text[:300])
        if not allowed[case.operation.label]:
            assert response.status_code in (403, 422, 400), label
            if response.status_code == 403:
                assert response.json()["error"]["code"] == "missing_scope", label
        if response.status_code >= 400:
            assert row_counts(db) == before[0], label
        before[0] = row_counts(db)

    headers = {"Authorization": f"Bearer {token}"}
    for operation in _operations(app):
        named = {
            named_scope
            for requirement in operation.definition.raw.get("security", [{}])
            for named_scope in requirement.get("bearer", [])
        }
        allowed[operation.label] = (
            "security" not in operation.definition.raw or scope in named
        )
        _fuzz(operation, GenerationMode.POSITIVE, headers, check, examples=4)
    assert any(allowed.values()) and not all(allowed.values()), allowed
