"""The OpenAPI document describes exactly the routes the app serves."""

import re

import jsonschema
from openapi_spec_validator import validate

from tests.helpers import provider_payload


def _app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    return routes


def test_document_is_valid_openapi(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_route_is_described_and_nothing_else(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    described = {
        (path, method) for path, ops in spec["paths"].items() for method in ops
    }
    assert described == _app_routes(app)
    assert len(described) >= 20


def test_routes_with_input_document_422_and_auth_documents_401(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if "requestBody" in op or any(
                p["in"] == "query" for p in op.get("parameters", [])
            ):
                assert "422" in op["responses"], (method, path)
            if path != "/api/v1/openapi.json":
                assert "401" in op["responses"], (method, path)


def test_real_responses_match_the_documented_error_shape(api, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    error_schema = spec["components"]["schemas"]["Error"]
    for response in (
        api.get("/api/v1/providers/404"),
        api.post("/api/v1/providers", json=provider_payload(rating=9)),
        api.post("/api/v1/bookings/1/confirm"),
        client.get("/api/v1/providers"),
    ):
        assert response.status_code >= 400
        jsonschema.validate(response.get_json(), error_schema)


def test_request_bodies_are_the_validating_models(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    create = spec["paths"]["/api/v1/bookings"]["post"]["requestBody"]
    ref = create["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schemas[ref]["required"]) == {"provider_id", "customer_id", "start"}
