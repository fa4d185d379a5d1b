"""Gunicorn settings for Beckon: each worker keeps its matching index in step.

Used by ``beckon run`` and docker-compose (``-c python:backend.gunicorn_conf``).
The sync thread starts in server workers only, so CLI commands never load the
model.
"""

import gc

from backend.config import Config

_config = Config.from_env()

wsgi_app = "backend.app:create_app()"
# A channel's webhook waits on the assistant while the assistant's actions call
# back into this same server: each needs a thread of its own, or under load
# the waiting webhooks take every thread and the actions' calls queue behind
# them until the assistant times out (benchmarks/webhooks.py).
threads = _config.THREADS
accesslog = "-"
# a worker loads the matching model before it serves (post_worker_init); the
# first start may also export it to ONNX, which takes longer than gunicorn's 30 s
timeout = _config.WORKER_TIMEOUT


def post_worker_init(worker):
    app = worker.wsgi
    config = app.config["BECKON"]
    # ready before the worker serves: a voice platform allows seconds, and the
    # first request must not load the model inside its transaction
    app.extensions["beckon.matching"].start_background_sync(
        config.DATABASE_URL, config.INDEX_SYNC_SECONDS, ready_first=True
    )
    # the app, the model and the index live as long as the worker: kept out of
    # the collector's full passes, which otherwise walk them all (a pause of
    # about 100 ms every few hundred requests, seen in benchmarks/webhooks.py)
    gc.freeze()


def worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        app.extensions["beckon.matching"].stop()
