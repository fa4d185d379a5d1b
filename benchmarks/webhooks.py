"""The SMS webhook under load: our own overhead, and with the real assistant.

Starts the web app as ``beckon run --web-only`` does (gunicorn, on a seeded
SQLite in a temporary directory) and drives ``POST /webhooks/twilio/sms``
with requests signed as Twilio signs them, from a separate process
(``--load``), in two setups:

- ``recorded``: Rasa's REST channel replaced by a server that answers every
  message with a recorded reply of the real assistant (a list of three
  options with buttons): what remains is Beckon's own work (signature check,
  customer, dedupe and claim, records, TwiML; what the assistant understood
  is noted later, by beat's ``beckon.note_intents``, not in the request);
- ``rasa``: the real Rasa server and action server (``bot/.venv``, the model
  of bot/), with the same texts ("I need a plumber in Chicago next week").

For each: one sender sending one after another (the overhead per message),
then ``--senders`` concurrent senders (distinct phones) sending
``--messages`` each. Prints requests/s, p50/p99 latency, errors, and
whether every message is in the database exactly once (none lost). Target:
recorded p99 under 20 ms; no errors or lost messages at 50 senders.

    .venv/bin/python benchmarks/webhooks.py [--skip-rasa]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.serving import (  # noqa: E402
    free_port,
    p50_p99_ms,
    run_in_own_process,
    scratch_dir,
    wait_for,
)

TOKEN, PUBLIC = "bench-twilio-token", "https://beckon.example.com"
PATH = "/webhooks/twilio/sms"
TEXT = "I need a plumber in Chicago next week"
RECORDED = [
    {
        "text": "Here's who can do it:\n"
        "1. Tamara Petrov Plumbing (4.9★): licensed and insured plumber; 6 km away; "
        "from $135; free Mon 8:00\n"
        "2. Reyes Plumbing (4.8★): licensed and insured plumber; 9 km away; "
        "from $175; free Mon 9:00\n"
        "3. Lakeview Drains (4.7★): plumber; 4 km away; from $120; free Mon 10:00\n"
        "Which one would you like? Reply 1, 2 or 3.",
        "buttons": [
            {
                "title": "1. Tamara Petrov Plumbing",
                "payload": '/choose_option{"option":"3"}',
            },
            {"title": "2. Reyes Plumbing", "payload": '/choose_option{"option":"8"}'},
            {"title": "3. Lakeview Drains", "payload": '/choose_option{"option":"11"}'},
        ],
    }
]


# ---------------------------------------------------------------- load process


def signed(url_base: str, phone: str, n: int) -> tuple[str, dict, dict]:
    params = {
        "AccountSid": "AC" + "b" * 32,
        "ApiVersion": "2010-04-01",
        "From": phone,
        "To": "+15558675310",
        "Body": TEXT,
        "MessageSid": f"SM{phone[-7:]}{n:025d}",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
    }
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + PATH, params)
    return url_base + PATH, params, {"X-Twilio-Signature": signature}


def load(url_base: str, senders: int, messages: int, first_phone: int) -> dict:
    """Runs in its own process: ``senders`` threads, one session each."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def sender(i: int) -> None:
        session = requests.Session()
        phone = f"+1312{first_phone + i:07d}"
        for n in range(messages):
            url, params, headers = signed(url_base, phone, n)
            started = time.perf_counter()
            try:
                response = session.post(url, data=params, headers=headers, timeout=60)
                ok = response.status_code == 200 and b"<Message" in response.content
                problem = None if ok else f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                problem = exc.__class__.__name__
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                if problem:
                    errors.append(problem)

    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(sender, range(senders)))
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "seconds": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 1),
        **p50_p99_ms(ms),
        "max_ms": round(float(ms.max()), 1),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
    }


def run_load(url_base: str, senders: int, messages: int, first_phone: int) -> dict:
    """The load, from a separate process (so the client does not share our GIL)."""
    return run_in_own_process(__file__, url_base, senders, messages, first_phone)


# ---------------------------------------------------------------- recorded Rasa


def recorded_rasa(port: int) -> subprocess.Popen:
    """A keep-alive HTTP/1.1 server answering Rasa's REST shape at once."""
    code = f"""
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
REPLY = json.loads({json.dumps(json.dumps(RECORDED))})
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes
    def log_message(self, *args):
        pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = [dict(r, recipient_id=body["sender"]) for r in REPLY]
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
ThreadingHTTPServer(("127.0.0.1", {port}), Handler).serve_forever()
"""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------- the server


def serve(home: Path, env: dict, port: int, workers: int) -> subprocess.Popen:
    beckon = str(Path(sys.executable).parent / "beckon")
    return subprocess.Popen(
        [beckon, "run", "--web-only", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=(home / "web.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def count_inbound(home: Path) -> tuple[int, int]:
    engine = create_engine(f"sqlite:///{home / 'var' / 'beckon.sqlite3'}")
    with engine.connect() as conn:
        total, distinct = conn.execute(
            text(
                "SELECT COUNT(*), COUNT(DISTINCT external_id) FROM messages "
                "WHERE direction = 'in' AND channel = 'sms'"
            )
        ).one()
    engine.dispose()
    return total, distinct


def measure(name: str, url: str, home: Path, args, phone_base: int) -> dict:
    before, _ = count_inbound(home)
    single = run_load(url, 1, args.single, phone_base)
    loaded = run_load(url, args.senders, args.messages, phone_base + 100)
    total, distinct = count_inbound(home)
    sent = single["requests"] + loaded["requests"]
    result = {
        "setup": name,
        "one_sender": single,
        f"{args.senders}_senders": loaded,
        "recorded_in_db": total - before,
        "lost": sent - (total - before),
        "duplicates": total - distinct,
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--single", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-rasa", action="store_true")
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds to let the workers warm up"
    )
    parser.add_argument("--load", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        url, senders, messages, first = args.load
        print(json.dumps(load(url, int(senders), int(messages), int(first))))
        return

    home = scratch_dir("beckon-webhooks-")
    rasa_port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env |= {
        "BECKON_DATA_DIR": str(home / "var"),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "BECKON_PUBLIC_URL": PUBLIC,
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "BECKON_RASA_TIMEOUT": "30",
    }
    beckon = str(Path(sys.executable).parent / "beckon")
    for argv in (["db", "upgrade"], ["seed", "demo", "--providers", "120"]):
        subprocess.run([beckon, *argv], env=env, check=True, capture_output=True)

    results = []
    fake = recorded_rasa(rasa_port)
    port = free_port()
    web = serve(home, env, port, args.workers)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/healthz", 120)
        wait_for(f"http://127.0.0.1:{rasa_port}/", 30)
        run_load(url, 4, 10, 9_000_000)  # warm up
        time.sleep(args.settle)  # each web worker loads the matching model as it starts
        results.append(measure("recorded", url, home, args, 1_000_000))
    finally:
        web.terminate()
        web.wait(timeout=30)
        fake.terminate()

    if not args.skip_rasa:
        from backend import assistant

        api_port = free_port()
        env["BECKON_RASA_PORT"] = str(rasa_port)
        env["BECKON_ACTIONS_PORT"] = str(free_port())
        env["BECKON_INTERNAL_API_PORT"] = str(free_port())
        env.pop("RASA_URL")
        run = subprocess.Popen(
            [beckon, "run", "--port", str(api_port), "--workers", str(args.workers)],
            env=env,
            stdout=(home / "run.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{api_port}"
        try:
            wait_for(f"{url}/healthz", 600)
            wait_for(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", 600)
            assert assistant.installed()
            run_load(url, 4, 3, 9_100_000)  # warm up
            smaller = argparse.Namespace(**{**vars(args), "messages": 4, "single": 40})
            results.append(measure("rasa", url, home, smaller, 2_000_000))
        finally:
            run.terminate()
            run.wait(timeout=60)

    recorded = results[0]
    loaded = recorded[f"{args.senders}_senders"]
    print(
        f"# recorded reply: one sender p50 {recorded['one_sender']['p50_ms']} ms, "
        f"p99 {recorded['one_sender']['p99_ms']} ms (target p99 < 20 ms: "
        f"{'met' if recorded['one_sender']['p99_ms'] < 20 else 'missed'}); "
        f"{args.senders} senders {loaded['requests_per_s']} req/s, "
        f"p50 {loaded['p50_ms']} ms, p99 {loaded['p99_ms']} ms, "
        f"errors {loaded['errors']}, lost {recorded['lost']}, "
        f"duplicates {recorded['duplicates']}"
    )
    if len(results) > 1:
        real = results[1]
        many = real[f"{args.senders}_senders"]
        print(
            f"# real Rasa: one sender p50 {real['one_sender']['p50_ms']} ms, "
            f"p99 {real['one_sender']['p99_ms']} ms; {args.senders} senders "
            f"{many['requests_per_s']} req/s, p50 {many['p50_ms']} ms, "
            f"p99 {many['p99_ms']} ms, errors {many['errors']}, lost {real['lost']}"
        )


if __name__ == "__main__":
    main()
