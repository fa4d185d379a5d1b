"""What the benchmarks share: a scratch folder, latency figures, and serving
the app over HTTP."""

from __future__ import annotations

import atexit
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests


def scratch_dir(prefix: str) -> Path:
    """A new folder for one run's database, index and logs, removed when the
    benchmark exits (each run's is ~100 MB)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def p50_p99_ms(ms, digits: int = 1) -> dict[str, float]:
    """The median and 99th percentile of latencies in milliseconds."""
    ms = np.asarray(ms)
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), digits),
        "p99_ms": round(float(np.percentile(ms, 99)), digits),
    }


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
