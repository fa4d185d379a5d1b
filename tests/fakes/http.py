"""What the stand-ins for outside HTTP services share."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


def read_json(request: BaseHTTPRequestHandler) -> Any:
    """The request's JSON body."""
    return json.loads(request.rfile.read(int(request.headers["Content-Length"])))


def send_json(request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    """Answer with a JSON body (a client that gave up waiting is ignored)."""
    data = json.dumps(body).encode()
    try:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client died waiting (a killed worker)
