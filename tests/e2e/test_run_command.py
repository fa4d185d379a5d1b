"""`beckon run` as a new user starts it: a real server on a real port."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import prepare_served_data

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url, token=None, data=None):
    request = urllib.request.Request(url, method="POST" if data is not None else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
        request.data = json.dumps(data).encode()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def server(tmp_path, model_cache):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env["BECKON_DATA_DIR"] = str(tmp_path / "var")
    env["BECKON_MODEL_CACHE_DIR"] = str(model_cache)  # the run's model and places
    env["BECKON_ASSISTANT"] = "0"  # the assistant's own test starts it (test_assistant)
    # no quiet hours: what is sent at once must not depend on the time of day
    env["BECKON_FOLLOWUP_QUIET_START_HOUR"] = env["BECKON_FOLLOWUP_QUIET_END_HOUR"] = (
        "0"
    )
    beckon = str(BIN / "beckon")
    token = prepare_served_data(env, providers=60)
    port = _free_port()
    proc = subprocess.Popen(
        [beckon, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _call(f"{base}/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(proc.stdout.read().decode()[-2000:])
    yield base, token, tmp_path / "var"
    proc.terminate()
    proc.wait(timeout=30)


def test_served_api_books_and_shows_it_in_availability(server):
    base, token, data_dir = server
    status, body = _call(f"{base}/api/v1/providers?category=plumbing&per_page=5", token)
    assert status == 200 and body["total"] > 0
    provider = body["items"][0]
    zone = ZoneInfo(provider["timezone"])
    start = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {
        "from": (start + timedelta(days=1)).isoformat(),
        "to": (start + timedelta(days=8)).isoformat(),
    }
    query = urllib.parse.urlencode(window)
    status, free = _call(
        f"{base}/api/v1/providers/{provider['id']}/availability?{query}", token
    )
    assert status == 200 and free["slots"], free
    slot = free["slots"][0]
    status, customer = _call(
        f"{base}/api/v1/customers/identify",
        token,
        {"channel": "sms", "external_id": "+13125550142"},
    )
    assert status == 201
    status, booking = _call(
        f"{base}/api/v1/bookings",
        token,
        {
            "provider_id": provider["id"],
            "customer_id": customer["id"],
            "start": slot["start"],
            "confirm": True,
        },
    )
    assert status == 201, booking
    status, again = _call(
        f"{base}/api/v1/providers/{provider['id']}/availability?{query}", token
    )
    assert slot["start"] not in [s["start"] for s in again["slots"]]
    status, clash = _call(
        f"{base}/api/v1/bookings",
        token,
        {
            "provider_id": provider["id"],
            "customer_id": customer["id"],
            "start": slot["start"],
        },
    )
    assert status == 409 and clash["error"]["code"] == "slot_taken"
    assert _call(f"{base}/api/v1/providers")[0] == 401

    # the worker and beat that `beckon run` started send the confirmations
    wanted = {
        f"confirmation:customer:b{booking['id']}",
        f"confirmation:provider:b{booking['id']}",
    }
    log = data_dir / "notifications.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sent = (
            [json.loads(line) for line in log.read_text().splitlines()]
            if log.exists()
            else []
        )
        if wanted <= {record["key"] for record in sent}:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"confirmations not sent: {sent[-5:]}")
    to_customer = next(
        r for r in sent if r["key"] == f"confirmation:customer:b{booking['id']}"
    )
    assert to_customer["to"] == "+13125550142"
    assert f"booking number is {booking['id']}" in to_customer["body"]
