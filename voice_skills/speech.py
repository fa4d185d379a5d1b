"""What Beckon says by voice, from per-locale catalogues (``speech/<language>.toml``).

Each entry is a Jinja template giving plain text; a locale without its own
catalogue, or without an entry, falls back to English. ``ssml`` wraps a text
for Alexa: a ``<speak>`` root with the text escaped, so a provider named
"Smith & Sons" cannot break the markup.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time
from jinja2 import Environment, StrictUndefined, Template

from backend.services.errors import DomainError
from backend.services.texts import PLAIN_SPACES, locale_of

CATALOGUES = Path(__file__).resolve().parent / "speech"
FALLBACK_LANGUAGE = "en"
ORDINALS = ("first", "second", "third")
#: Voice reads out at most this many options or bookings at a time.
MAX_READ_OUT = 3

_jinja = Environment(undefined=StrictUndefined, autoescape=False)


@lru_cache(maxsize=8)
def _catalogue(language: str) -> dict[str, Template]:
    path = CATALOGUES / f"{language}.toml"
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8"))
    return {key: _jinja.from_string(text) for key, text in entries.items()}


def entries() -> set[str]:
    """Every entry of the English catalogue (the complete one)."""
    return set(_catalogue(FALLBACK_LANGUAGE))


def say(key: str, locale: str | None = None, **context: Any) -> str:
    """The text of ``key`` in ``locale``'s language, filled from ``context``."""
    language = locale_of(locale).language
    template = _catalogue(language).get(key) or _catalogue(FALLBACK_LANGUAGE)[key]
    return " ".join(template.render(**context).split())


def refusal(error: DomainError, locale: str | None = None) -> str:
    """What is said when a service refuses: the catalogue's sentence for the
    error's code (``refused_<code>``), else for its kind (``refused_invalid``,
    ``refused_conflict``, ``refused_not_found``), never the service's own
    message (written for developers, not heard)."""
    known = entries()
    for key in (f"refused_{error.code}", f"refused_{type(error).code}"):
        if key in known:
            return say(key, locale)
    return say("refused", locale)


def ssml(*texts: str) -> str:
    """Texts as one SSML document with a ``<speak>`` root."""
    return "<speak>" + " ".join(escape(t) for t in texts if t) + "</speak>"


def spoken_time(moment: datetime, zone: str, now: datetime, locale: str | None) -> str:
    """ "today at 3:30 PM", "tomorrow at 9:00 AM", "on Thursday at 9:00 AM",
    "on December 3 at 9:00 AM": ``moment`` on ``zone``'s clock."""
    tz, loc = ZoneInfo(zone), locale_of(locale)
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    clock = format_time(local, "short", locale=loc).translate(PLAIN_SPACES)
    days = (local.date() - today).days
    if days == 0:
        day = say("today", locale)
    elif days == 1:
        day = say("tomorrow", locale)
    elif 1 < days < 7:
        day = say("on_day", locale, day=format_date(local, "EEEE", locale=loc))
    else:
        day = say("on_day", locale, day=format_skeleton("MMMMd", local, locale=loc))
    return say("day_at_time", locale, day=day, clock=clock)


def offers_read_out(
    offers: list, place: str | None, now: datetime, locale: str | None
) -> tuple[str, str]:
    """What is said of the offers found (``desk.Offer``), each on its clock, and
    the question that follows them."""
    count = len(offers)
    lines = [say("offers_intro", locale, count=count, place=place)]
    for ordinal, offer in zip(ORDINALS, offers, strict=False):
        lines.append(
            say(
                "offer_line",
                locale,
                ordinal=ordinal.capitalize(),
                name=offer.name,
                when=spoken_time(offer.starts_at, offer.zone, now, locale),
                reasons=offer.reasons,
            )
        )
    question = say("offers_question", locale, count=count, ordinals=ORDINALS[:count])
    return " ".join(lines), question
