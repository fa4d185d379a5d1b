"""Request bodies: how large each may be, and the one way request JSON is read.

Every body has a cap, ``MAX_CONTENT_LENGTH`` (``BECKON_MAX_BODY_BYTES``), and a
smaller one where bodies are small: every channel's webhook
(``MAX_WEBHOOK_CONTENT_LENGTH``, marked with :func:`limit_bodies` on its
blueprint) and the web chat (a cap of its own, :func:`limit_body` on its
views). The cap is the request's before anything reads the body (the rate
limiter's key functions included), so a larger body is refused with 413
unread, in each surface's error shape; a body without a length (chunked,
which gunicorn passes on) is refused as it passes the cap, never cut there.

JSON is parsed by :func:`loads` alone: the app's JSON provider, which every
``request.get_json`` goes through. Python's parser recurses, so a body of
100,000 ``[`` would be a ``RecursionError`` (a 500); nesting deeper than
:data:`MAX_JSON_DEPTH` is refused (:class:`TooDeep`, a 400) before parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app
from flask import Request as FlaskRequest
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

#: The deepest nesting of arrays and objects a request's JSON may have (the
#: channels' own envelopes are about ten deep).
MAX_JSON_DEPTH = 64
#: What a view or blueprint marked with this cap gets: the webhooks' setting.
WEBHOOK = "webhook"
_CAP = "beckon_body_cap"

_BRACKET_OR_QUOTE = re.compile(r'[\[\]{}"]')
#: The rest of a string after its opening quote, up to its closing one; each
#: character can be taken one way only (possessive), so a match is linear.
_REST_OF_STRING = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)

V = TypeVar("V", bound=Callable[..., Any])


class TooDeep(BadRequest):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH`: a 400 on any surface
    (not a ``ValueError``, so ``get_json(silent=True)`` does not hide it)."""

    description = f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep"


def check_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`TooDeep` if ``text`` opens more than ``limit`` arrays or
    objects inside one another (brackets inside strings do not count). One
    pass, no recursion; text that is not JSON is left to the parser."""
    if text.count("[") + text.count("{") <= limit:
        return  # too few brackets to be too deep: nothing to scan
    depth, at = 0, 0
    while (found := _BRACKET_OR_QUOTE.search(text, at)) is not None:
        char, at = found.group(), found.end()
        if char == '"':
            rest = _REST_OF_STRING.match(text, at)
            if rest is None:
                return  # a string that never ends: the parser refuses it
            at = rest.end()
        elif char in "[{":
            depth += 1
            if depth > limit:
                raise TooDeep()
        else:
            depth -= 1


def loads(data: str | bytes, **kwargs: Any) -> Any:
    """JSON text (or bytes, in any encoding JSON allows) as Python values;
    :class:`TooDeep` for nesting past the limit, ``ValueError`` for what is
    not JSON."""
    if isinstance(data, bytes | bytearray):
        data = bytes(data).decode(json.detect_encoding(data), "surrogatepass")
    check_depth(data)
    return json.loads(data, **kwargs)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading through :func:`loads`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)


def limit_body(cap: int | str) -> Callable[[V], V]:
    """Mark a view: its body may have at most ``cap`` bytes (or
    :data:`WEBHOOK`: the webhooks' setting), within the global cap."""

    def mark(view: V) -> V:
        setattr(view, _CAP, cap)
        return view

    return mark


def limit_bodies(blueprint: Blueprint, cap: int | str) -> None:
    """The cap of every view of ``blueprint`` that has none of its own."""
    setattr(blueprint, _CAP, cap)


class _CappedStream(LimitedStream):
    """A body of unknown length that raises 413 once past ``cap`` (werkzeug's
    own stream stops quietly at its limit, leaving the body cut short)."""

    def __init__(self, stream: Any, cap: int) -> None:
        super().__init__(stream, cap + 1, is_max=True)
        self.cap = cap

    def readinto(self, b: Any) -> int | None:  # type: ignore[override]
        size = super().readinto(b)
        if self._pos > self.cap:
            raise RequestEntityTooLarge()
        return size


class Request(FlaskRequest):
    """Flask's request, whose ``max_content_length`` is the matched view's
    cap, else its blueprint's, else the global one."""

    @cached_property
    def stream(self) -> Any:
        cap = self.max_content_length
        if (
            cap is not None
            and self.content_length is None
            and "wsgi.input_terminated" in self.environ
        ):
            return _CappedStream(self.environ["wsgi.input"], cap)
        return super().stream

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None or not current_app:
            return super().max_content_length
        config = current_app.config["BECKON"]
        view = current_app.view_functions.get(self.endpoint or "")
        cap = getattr(view, _CAP, None)
        if cap is None and self.blueprint:
            cap = getattr(current_app.blueprints.get(self.blueprint), _CAP, None)
        if cap == WEBHOOK:
            cap = config.MAX_WEBHOOK_CONTENT_LENGTH
        if isinstance(cap, int):
            return min(cap, config.MAX_CONTENT_LENGTH)
        return config.MAX_CONTENT_LENGTH

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def too_large_message(cap: int | None) -> str:
    """What a 413 says, on every surface."""
    if cap is None:
        return "the body is too large"
    return f"the body may have at most {cap} bytes here"


def init_app(app: Flask) -> None:
    """Read every request through :class:`Request` and :func:`loads`."""
    app.request_class = Request
    app.json = JSONProvider(app)
