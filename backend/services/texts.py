"""Written messages from per-locale templates (``backend/messages/<language>/``).

Templates are plain Jinja2 text files named ``<kind>.<audience>.txt``; a locale
without its own file falls back to English. Times are written in the reader's
time zone and language with Babel.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

MESSAGES = Path(__file__).resolve().parent.parent / "messages"
FALLBACK_LANGUAGE = "en"
#: CLDR puts narrow and no-break spaces in times ("9:00\u202fAM"); one such
#: character makes a whole SMS UCS-2, 70 characters a segment instead of 160.
PLAIN_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " "})


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(MESSAGES)),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=False,  # block-only lines leave empty lines, dropped below
        lstrip_blocks=True,
        autoescape=False,  # plain text for SMS and chat, never HTML
    )
    return env


def locale_of(tag: str | None) -> Locale:
    """A Babel locale for a BCP 47 tag like ``en-US``; English if unknown."""
    try:
        return Locale.parse((tag or "en-US").replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en_US")


def format_when(moment: datetime, zone: str, locale: str | None) -> str:
    """ "Tue, Nov 24, 9:00 AM" in en-US, "mar, 24 nov, 9:00" in es-ES."""
    tz, loc = ZoneInfo(zone), locale_of(locale)
    day = format_skeleton("MMMEd", moment, tzinfo=tz, locale=loc)
    return f"{day}, {format_time(moment, 'short', tzinfo=tz, locale=loc)}"


def format_clock(moment: datetime, zone: str, locale: str | None) -> str:
    """ "9:00 AM" in en-US, "9:00" in es-ES."""
    return format_time(moment, "short", tzinfo=ZoneInfo(zone), locale=locale_of(locale))


def format_day(day: date, locale: str | None) -> str:
    """ "Tuesday, November 24" in en-US."""
    return format_skeleton("EEEEMMMMd", day, locale=locale_of(locale))


def render(kind: str, audience: str, locale: str | None, **context: Any) -> str:
    """The message ``kind`` for ``audience`` in ``locale``'s language."""
    language = locale_of(locale).language
    env = _environment()
    name = f"{kind}.{audience}.txt"
    try:
        template = env.get_template(f"{language}/{name}")
    except TemplateNotFound:
        template = env.get_template(f"{FALLBACK_LANGUAGE}/{name}")
    text = template.render(**context).translate(PLAIN_SPACES)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def available_templates() -> dict[str, set[str]]:
    """Template names per language, for tests and the console."""
    return {
        folder.name: {p.name for p in folder.glob("*.txt")}
        for folder in MESSAGES.iterdir()
        if folder.is_dir()
    }
