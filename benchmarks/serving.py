"""What the benchmarks that serve the app over HTTP share."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    """A TCP port free on localhost now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float) -> None:
    """Return once ``url`` answers at all; exit if it has not in ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {seconds} s")


def run_in_own_process(script: str, *args: object) -> dict:
    """``script --load args...`` in a process of its own (so the load does not
    share the measuring process's GIL); the JSON it printed last."""
    out = subprocess.run(
        [sys.executable, script, "--load", *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
