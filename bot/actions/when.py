"""When a person wants something, as a window of time on their clock.

"tomorrow morning", "thu at 3pm", "2moro 9", "tonight", "this weekend",
"asap", "dec 3": a few words of everyday English (and SMS spelling) become a
:class:`Window` in a given time zone. Dates are read by ``dateparser``; the
parts of a day, SMS spellings and a bare clock ("at 9") are handled here
because dateparser leaves them out or misreads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

DAY_START, DAY_END = time(8, 0), time(20, 0)
EXACT_SPAN = timedelta(hours=2)  # "at 3pm" also takes a start a little later

PARTS_OF_DAY = {
    "morning": (time(8, 0), time(12, 0)),
    "midday": (time(11, 0), time(14, 0)),
    "lunchtime": (time(11, 30), time(14, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(21, 0)),
    "tonight": (time(18, 0), time(22, 0)),
    "night": (time(18, 0), time(22, 0)),
}
SMS_WORDS = {
    r"tmr?w|tmrw|2mor+o+w?|2morrow|tomoz|tomoro+w?|tommorow|tomorow|tmrrw": "tomorrow",
    r"2nite|2night|tonite": "tonight",
    r"2day|tday": "today",
    r"mon": "monday",
    r"tue|tues": "tuesday",
    r"wed|weds": "wednesday",
    r"thu|thur|thurs": "thursday",
    r"fri": "friday",
    r"sat": "saturday",
    r"sun": "sunday",
    r"wk": "week",
    r"aft|arvo": "afternoon",
    r"eve": "evening",
    r"mornin|morn": "morning",
}
WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
SOON = re.compile(
    r"\b(asap|as soon as possible|right away|right now|now|urgent\w*|soon|emergency)\b"
)
ANY_TIME = re.compile(r"\b(any ?time|whenever|any day|flexible)\b")
WEEKEND = re.compile(r"\b(this |the )?weekend\b")
NEXT_WEEK = re.compile(r"\bnext week\b")
THIS_WEEK = re.compile(r"\b(this|later this) week\b")
CLOCK = re.compile(
    r"\b(?:at\s+|@\s*|around\s+|by\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?(?=\W|$)",
)
ORDINAL_DAY = re.compile(r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b(?!\s+of)")
PAST_WORDS = re.compile(r"\b(last|ago|yesterday|previous|earlier)\b")
NOON = re.compile(r"\b(noon|midday)\b")


class NotUnderstood(ValueError):
    """No date or time could be read in the words."""


class InThePast(ValueError):
    """The words name a time that has already gone."""


@dataclass(frozen=True)
class Window:
    """A stretch of time a person is free, in their own zone."""

    start: datetime
    end: datetime
    exact: bool = False  # "at 3pm", not "tomorrow"

    def describe(self) -> str:
        """ "Thu Nov 26, 8:00-12:00" or "Thu Nov 26 at 15:00"."""
        day = f"{self.start:%a %b} {self.start.day}"
        if self.exact:
            return f"{day} at {self.start:%H:%M}"
        if self.end.date() != self.start.date():
            return f"{day} {self.start:%H:%M} - {self.end:%a %b} {self.end.day} {self.end:%H:%M}"
        return f"{day}, {self.start:%H:%M}-{self.end:%H:%M}"


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    for pattern, word in SMS_WORDS.items():
        text = re.sub(rf"\b(?:{pattern})\b\.?", word, text)
    # "next friday" is the coming Friday for most people; dateparser reads neither
    text = re.sub(rf"\b(?:next|this|on|coming)\s+({'|'.join(WEEKDAYS)})\b", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _clock(text: str) -> tuple[time | None, str]:
    """The clock time in the words, and the words without it."""
    if NOON.search(text):
        return time(12, 0), NOON.sub(" ", text)
    for match in CLOCK.finditer(text):
        hour, minute, meridiem = int(match[1]), int(match[2] or 0), match[3]
        spoken = match[0].lstrip()
        led = spoken[:1].isalpha() or spoken.startswith("@")
        if not (meridiem or match[2] or led):
            continue  # a bare number: a day of the month, a count, a job
        if hour > 23 or minute > 59 or (meridiem and not 1 <= hour <= 12):
            continue
        if meridiem:
            pm = meridiem.startswith("p")
            hour = hour % 12 + (12 if pm else 0)
        elif hour < 7:
            hour += 12  # "at 3" is three in the afternoon for a visit
        return time(hour, minute), text[: match.start()] + " " + text[match.end() :]
    return None, text


def _day(text: str, now: datetime) -> date | None:
    """The calendar day the words name, if any."""
    words = re.sub(
        r"\b(at|on|for|in|the|around|by|please|pls|plz|ok|okay|make it|how about|actually|instead|no|maybe|can we do|lets do|let's do|what about|then)\b",
        " ",
        text,
    )
    words = re.sub(r"[^\w\s/.-]", " ", words)
    words = re.sub(r"\s+", " ", words).strip()
    if not words or re.fullmatch(r"[\d\s.]+", words):
        return None  # "1", "2 3": a choice or a count, not a day
    ordinal = ORDINAL_DAY.search(text)
    if ordinal and not re.search(r"[a-z]{3}", ORDINAL_DAY.sub("", words)):
        day = int(ordinal[1])
        month = now.replace(day=1)
        for _ in range(2):
            try:
                candidate = month.replace(day=day).date()
            except ValueError:
                candidate = None
            if candidate and candidate >= now.date():
                return candidate
            month = (month + timedelta(days=32)).replace(day=1)
        return None
    # "last monday", "2 days ago" name the past on purpose
    towards = "past" if PAST_WORDS.search(words) else "future"
    words = re.sub(rf"\b(?:last|previous)\s+({'|'.join(WEEKDAYS)})\b", r"\1", words)
    parsed = dateparser.parse(
        words,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": towards,
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "DATE_ORDER": "MDY",
            "REQUIRE_PARTS": [],
        },
    )
    if parsed is None:
        from dateparser.search import search_dates

        found = search_dates(
            words,
            languages=["en"],
            settings={
                "PREFER_DATES_FROM": "future",
                "RELATIVE_BASE": now.replace(tzinfo=None),
            },
        )
        # a lone number in free text is not a date ("2 rooms")
        found = [f for f in found or [] if not f[0].strip().isdigit()]
        if not found:
            return None
        parsed = found[0][1]
    return parsed.date()


def parse_window(text: str, zone: str, now: datetime) -> Window:
    """The window of time ``text`` names, on the clock of ``zone``.

    ``now`` is an aware datetime. Raises :class:`NotUnderstood` when no date or
    time is in the words and :class:`InThePast` when they name a time gone by.
    """
    tz = ZoneInfo(zone)
    now = now.astimezone(tz)
    text = _normalise(text)

    def at(day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tz)

    if SOON.search(text):
        return Window(now, now + timedelta(days=1))
    if ANY_TIME.search(text):
        return Window(now, now + timedelta(days=7))
    if WEEKEND.search(text):
        saturday = now.date() + timedelta(days=(5 - now.weekday()) % 7)
        if now.weekday() == 6:
            saturday = now.date() - timedelta(days=1)
        start = max(at(saturday, DAY_START), now)
        return Window(start, at(saturday + timedelta(days=1), DAY_END))
    if NEXT_WEEK.search(text):
        monday = now.date() + timedelta(days=7 - now.weekday())
        return Window(at(monday, DAY_START), at(monday + timedelta(days=6), DAY_END))
    if THIS_WEEK.search(text):
        sunday = now.date() + timedelta(days=6 - now.weekday())
        return _future(Window(now, at(sunday, DAY_END)), now)

    clock, rest = _clock(text)
    part = next((p for p in PARTS_OF_DAY if re.search(rf"\b{p}\b", rest)), None)
    if part:
        rest = re.sub(rf"\b{part}\b", " ", rest)
    day = _day(rest, now)
    if day is None and clock is None and part is None:
        raise NotUnderstood(text)
    if part == "tonight" and day is None:
        day = now.date()
    if day is None:
        # "at 3pm" / "in the morning": the next time it comes round
        day = now.date()
        first = clock or PARTS_OF_DAY[part][1]
        if at(day, first) <= now:
            day += timedelta(days=1)
    if clock is not None:
        start = at(day, clock)
        if start < now - timedelta(minutes=5):
            raise InThePast(text)
        return Window(start, start + EXACT_SPAN, exact=True)
    begin, end = PARTS_OF_DAY[part] if part else (DAY_START, DAY_END)
    return _future(Window(at(day, begin), at(day, end)), now, text)


def _future(window: Window, now: datetime, text: str = "") -> Window:
    """The part of a window that is still to come."""
    if window.end <= now:
        raise InThePast(text)
    if window.start < now:
        return Window(now, window.end, window.exact)
    return window


def names_a_time(text: str) -> bool:
    """Whether the words name a date or time at all (past ones included)."""
    try:
        parse_window(text, "UTC", datetime.now(ZoneInfo("UTC")))
    except NotUnderstood:
        return False
    except InThePast:
        return True
    return True


def time_words(message: str, spans: list[str], answering: bool) -> str | None:
    """The words to read a time from: the whole message when it answers a
    question about time (the spans may have missed a part: "november 24 at
    8:00am"), else the date and time spans, else the message if it names one."""
    spoken = " ".join(spans)
    order = [message, spoken] if answering else [spoken, message]
    return next((words for words in order if words and names_a_time(words)), None)
