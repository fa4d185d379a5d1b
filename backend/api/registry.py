"""Each route declared once with its input models; Flask and OpenAPI read one list."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, g, request
from pydantic import BaseModel, ValidationError

from backend.api import idempotency
from backend.api.acting import IDENTITY_HEADER, Rule, anyone
from backend.api.errors import ERROR_SCHEMA, BadRequest, validation_details
from backend.db import MAX_INTEGER
from backend.models import ApiScope
from backend.schemas import reading
from backend.services.errors import Invalid
from backend.shapes import map_strings


@dataclass
class Route:
    rule: str
    method: str
    summary: str
    view: Callable[..., Any]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    tag: str = "general"
    responses: dict[int, str] = field(default_factory=dict)
    scope: ApiScope | None = None
    assistant: Rule | None = None

    @property
    def idempotent(self) -> bool:
        """Whether it takes an ``Idempotency-Key``: every authenticated
        route but a GET (``backend.api.idempotency``)."""
        return self.auth and self.method != "GET"


ROUTES: list[Route] = []


def _reading() -> dict[str, str]:
    return reading(current_app.config["BECKON"].DEFAULT_REGION)


def parse_body(model: type[BaseModel]) -> BaseModel:
    raw = request.get_data(cache=True)
    if not raw:
        payload: Any = {}
    else:
        payload = request.get_json(silent=True)
        if payload is None:
            raise BadRequest("the body must be JSON (Content-Type: application/json)")
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    return model.model_validate(
        map_strings(payload, _storable_text), context=_reading()
    )


def _storable_text(text: str) -> str:
    """``text`` if a database can store it: NUL characters it cannot (a
    webhook's message drops them, ``inbound.clean``; the API refuses them)."""
    if "\x00" in text:
        raise Invalid(
            "text may not contain NUL characters (\\u0000)", code="validation_error"
        )
    return text


def parse_query(model: type[BaseModel]) -> BaseModel:
    args = {
        _storable_text(key): _storable_text(value)
        for key, value in request.args.items()
    }
    try:
        return model.model_validate(args, context=_reading())
    except ValidationError as exc:
        details = validation_details(exc)
        first = details[0]
        raise Invalid(
            f"{first['field']}: {first['message']}",
            details=details,
            code="validation_error",
        ) from exc


def endpoint(
    bp: Blueprint,
    rule: str,
    method: str,
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    tag: str = "general",
    responses: dict[int, str] | None = None,
    scope: ApiScope | None = None,
    assistant: Rule | None = None,
):
    """Register a view on ``bp`` and describe it for the OpenAPI document.

    The view receives ``body=`` and/or ``query=`` as validated models.
    A route with ``auth`` needs a key with ``scope``; with an ``assistant``
    rule (``backend.api.acting``) a key with the assistant scope may call it
    too, for the person it names, when the rule lets it. A request with an
    ``Idempotency-Key`` to an idempotent route (:attr:`Route.idempotent`) is
    carried out once.
    """
    if auth and scope is None:
        raise TypeError(f"{method} {rule} needs a key: declare its scope")

    idempotent = auth and method != "GET"  # as Route.idempotent says

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            key = idempotency.key_of_request() if idempotent else None
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            acting = g.get("beckon_acting")
            if acting is not None and assistant is not None:
                assistant(acting, kwargs)  # the key is here by its assistant scope
            if key is not None:
                return idempotency.carry_out(key, view, kwargs)
            return view(**kwargs)

        wrapper.beckon_auth = auth  # type: ignore[attr-defined]
        wrapper.beckon_scope = scope  # type: ignore[attr-defined]
        wrapper.beckon_assistant = assistant  # type: ignore[attr-defined]
        bp.add_url_rule(rule, view.__name__, wrapper, methods=[method])
        ROUTES.append(
            Route(
                rule,
                method,
                summary,
                wrapper,
                body,
                query,
                status,
                auth,
                tag,
                responses or {},
                scope,
                assistant,
            )
        )
        return wrapper

    return decorate


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Carry the request out once: a repeat with the same key and request "
        "gets the first response again (with Idempotent-Replayed: true); the "
        "same key with another request is 422. Keys are the caller's own and "
        "kept for a day at least."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
IDEMPOTENCY_ERRORS = {
    400: "a malformed Idempotency-Key",
    422: "the Idempotency-Key was used for another request",
}

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(prefix: str, rule: str) -> str:
    return prefix + _CONVERTER.sub(r"{\2}", rule)


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def openapi_document(prefix: str, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every registered route."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for route in ROUTES:
        path = openapi_path(prefix, route.rule)
        operation: dict[str, Any] = {
            "summary": route.summary,
            "operationId": route.view.__name__,
            "tags": [route.tag],
            "responses": {
                str(route.status): {
                    "description": "success",
                    "content": {"application/json": {"schema": {}}},
                },
            },
        }
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": (
                    {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER}
                    if conv == "int"
                    else {"type": "string"}
                ),
            }
            for conv, name in _CONVERTER.findall(route.rule)
        ]
        if route.query is not None:
            params += _query_parameters(route.query)
        if route.idempotent:
            params.append(IDEMPOTENCY_KEY_PARAMETER)
        if route.assistant is not None and route.assistant is not anyone:
            params.append(
                {
                    "name": IDENTITY_HEADER,
                    "in": "header",
                    "required": False,
                    "description": "with a key of the assistant scope (and only "
                    "then), the person it acts for: '<channel>:<sender id>'",
                    "schema": {"type": "string", "maxLength": 300},
                }
            )
        if params:
            operation["parameters"] = params
        if route.body is not None:
            name = route.body.__name__
            schema = route.body.model_json_schema(
                by_alias=True, ref_template="#/components/schemas/{model}"
            )
            for def_name, definition in schema.pop("$defs", {}).items():
                schemas[def_name] = definition
            schemas[name] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{name}"}
                    }
                },
            }
        error_codes = (
            {
                401: "missing or bad API key",
                403: "the key lacks the scope",
                429: "the key's rate limit is spent",
            }
            if route.auth
            else {}
        )
        if route.body is not None:
            error_codes[400] = "the body is not a JSON object (or is nested too deep)"
            error_codes[413] = "the body is larger than the API takes"
        if route.body is not None or route.query is not None:
            error_codes[422] = "a field is invalid"
        if route.idempotent:
            for code, why in IDEMPOTENCY_ERRORS.items():
                error_codes[code] = (
                    f"{error_codes[code]}; {why}" if code in error_codes else why
                )
        error_codes.update(route.responses)
        for code, description in error_codes.items():
            operation["responses"][str(code)] = {
                "description": description,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}
                    }
                },
            }
        if route.auth and route.scope is not None:
            # a key with any one of these scopes may call it
            operation["security"] = [{"bearer": [route.scope.value]}]
            if route.assistant is not None:
                operation["security"].append({"bearer": [ApiScope.ASSISTANT.value]})
                doc = (route.assistant.__doc__ or "").strip().splitlines()[0]
                operation["description"] = f"The assistant's key: {doc}"
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API key; each operation names the scopes "
                    "that may call it: " + ", ".join(scope.value for scope in ApiScope),
                }
            },
        },
    }
