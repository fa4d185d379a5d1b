"""Replies in each channel's own form."""

from __future__ import annotations

import re

from backend.notifiers import SMS_LIMIT, split
from backend.services.inbound import Reply


def button_titles(reply: Reply) -> list[str]:
    return [b.get("title", "") for b in reply.buttons if b.get("title")]


def as_plain_text(reply: Reply) -> str:
    """A reply for a channel without buttons (SMS, WhatsApp, voice): the
    options are written out unless the text already names them."""
    titles = button_titles(reply)
    text = reply.text
    missing = [t for t in titles if _bare(t).lower() not in text.lower()]
    if titles and missing:
        text = f"{text}\n" + "\n".join(titles) if text else "\n".join(titles)
    return text.strip()


def _bare(title: str) -> str:
    """ "2. Ana Plumbing" -> "Ana Plumbing"."""
    return re.sub(r"^\d+\.\s*", "", title)


def sms_bodies(replies: list[Reply]) -> list[str]:
    """The message bodies of an SMS or WhatsApp answer."""
    return [part for r in replies for part in split(as_plain_text(r), SMS_LIMIT)]


SPOKEN = [
    (re.compile(r"\s*\((\d(?:\.\d)?)★\)"), r", rated \1 stars"),
    (re.compile(r"\bReply (\d)"), r"Say \1"),
    (re.compile(r"\(yes/no\)"), "Yes or no?"),
    (re.compile(r"\bkm\b"), "kilometers"),
    (re.compile(r"[\"“”]"), ""),
]


def as_speech(reply: Reply) -> str:
    """A reply as words to be read out on a call."""
    text = as_plain_text(reply)
    for pattern, spoken in SPOKEN:
        text = pattern.sub(spoken, text)
    return text
