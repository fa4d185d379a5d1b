"""The dashboard: the marketplace at a glance over a date range."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

from flask import current_app, render_template, request
from flask_login import login_required

from backend.admin.blueprint import admin_bp
from backend.admin.common import CHANNEL_NAMES
from backend.admin.stats import Dashboard, Range
from backend.admin.stats import dashboard as figures
from backend.db import utcnow
from backend.extensions import db

PRESETS = (7, 30, 90)
MAX_DAYS = 366
#: The figures of a range are reused this long (the whole range is read
#: again after it, or at once with ?fresh=1).
CACHE_SECONDS = 30
_cache_lock = threading.Lock()


def cached_figures(rng: Range, fresh: bool = False) -> Dashboard:
    """The dashboard's figures for ``rng``, at most CACHE_SECONDS old."""
    cache: dict[tuple[date, date], tuple[float, Dashboard]]
    cache = current_app.extensions.setdefault("beckon.dashboard_cache", {})
    key = (rng.start, rng.end)
    now = time.monotonic()
    with _cache_lock:
        hit = cache.get(key)
    if hit and not fresh and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    data = figures(db.session, rng)
    db.session.commit()  # the rollup of the days it summed
    with _cache_lock:
        for old in [k for k, (at, _) in cache.items() if now - at >= CACHE_SECONDS]:
            del cache[old]
        cache[key] = (now, data)
    return data


def chosen_range() -> tuple[Range, str | None]:
    """The range of ``?from=&to=`` or ``?days=`` (default the last 30 days),
    and what was wrong with the input, if anything."""
    today = utcnow().date()
    error = None
    try:
        days = int(request.args.get("days", 30))
    except ValueError:
        days, error = 30, "days must be a number"
    days = min(max(days, 1), MAX_DAYS)
    start, end = today - timedelta(days=days - 1), today
    raw_from, raw_to = request.args.get("from"), request.args.get("to")
    if raw_from or raw_to:
        try:
            start = date.fromisoformat(raw_from) if raw_from else start
            end = date.fromisoformat(raw_to) if raw_to else end
        except ValueError:
            error = "dates are written YYYY-MM-DD"
        else:
            if end < start:
                error, start, end = "the range ends before it starts", end, start
            if (end - start).days >= MAX_DAYS:
                error = f"a range is at most {MAX_DAYS} days"
                start = end - timedelta(days=MAX_DAYS - 1)
    return Range(start, end), error


@admin_bp.get("/")
@login_required
def dashboard():
    rng, error = chosen_range()
    data = cached_figures(rng, fresh=request.args.get("fresh") == "1")
    preset = None
    if not request.args.get("from") and not request.args.get("to"):
        preset = (rng.end - rng.start).days + 1
    return render_template(
        "dashboard.html",
        data=data,
        rng=rng,
        error=error,
        presets=PRESETS,
        channel_names=CHANNEL_NAMES,
        preset=preset,
    )
