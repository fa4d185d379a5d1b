"""Kinds of provider, the words that name them, and how a sentence names one.

Two sources of kinds:

- Beckon's catalogue (``backend/catalogue.py`` ``DEFAULT_CATEGORIES``: slug,
  name and synonyms of trades and readings), read from its file so that this
  module needs nothing of the backend's environment;
- the kinds of the Schema-Guided Dialogue data (``SGD_KINDS``: hair stylists,
  dentists, doctors and their specialities), which its dialogues name.

``bot/tools/build_data.py`` marks the kind named in SGD's turns as the
``need`` entity (``need_spans``), varies the kind in request examples with the
words of every kind (``vocabulary``, ``varied``) and, to measure how the
assistant reads a kind it never saw, leaves every example that names one
kind out of training (``names``). ``benchmarks/nlu_quality.py`` uses the same
functions for its test requests. Runs under the bot's Python and the backend's.
"""

from __future__ import annotations

import importlib.util
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "backend" / "catalogue.py"


@dataclass(frozen=True)
class Kind:
    slug: str
    name: str
    source: str  # "catalogue" | "sgd"
    words: tuple[str, ...]  # what people call it: "plumber", "tarot reading"
    # other words that name it, only to leave it out: "teeth" for dentists
    related: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        """Every word that names the kind: name, slug, words, related."""
        found = [self.name, self.slug.replace("-", " "), *self.words, *self.related]
        return tuple(dict.fromkeys(t.lower() for t in found))


# The kinds SGD's Services_1-3 dialogues ask for (the `type` slot's values
# and the nouns people use), with the typos seen in them.
SGD_KINDS: tuple[Kind, ...] = (
    Kind(
        "hair-stylist",
        "Hair stylist",
        "sgd",
        (
            "hair stylist",
            "stylist",
            "hairstylist",
            "hairdresser",
            "barber",
            "salon",
            "hair salon",
            "beauty salon",
            "unisex salon",
        ),
        ("saloon", "slon", "haircut", "hair cut", "hairstyle", "hair"),
    ),
    Kind(
        "dentist",
        "Dentist",
        "sgd",
        ("dentist", "cosmetic dentist"),
        ("dental", "dentistry", "teeth", "tooth", "toothache"),
    ),
    Kind(
        "doctor",
        "Doctor",
        "sgd",
        (
            "doctor",
            "general practitioner",
            "physician",
            "gynecologist",
            "dermatologist",
            "ophthalmologist",
            "ENT specialist",
            "specialist",
        ),
        ("gp", "ent", "eye doctor"),
    ),
)


@cache
def catalogue_kinds() -> tuple[Kind, ...]:
    """The catalogue's categories as kinds (name and synonyms are its words)."""
    spec = importlib.util.spec_from_file_location("beckon_catalogue", CATALOGUE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(
        Kind(c.slug, c.name, "catalogue", (c.name.lower(), *c.synonyms))
        for c in module.DEFAULT_CATEGORIES
    )


def all_kinds() -> tuple[Kind, ...]:
    return catalogue_kinds() + SGD_KINDS


def kind(slug: str) -> Kind:
    for found in all_kinds():
        if found.slug == slug:
            return found
    raise KeyError(f"no kind {slug!r} in the catalogue or SGD_KINDS")


# ------------------------------------------------------------------ grammar

# words that take no "a": "electrical", "tarot", "a zodiac" are not said
UNCOUNTED = frozenset(
    {"electrical", "hvac", "drywall", "paint", "tarot", "zodiac", "mindset"}
)


def countable(term: str) -> bool:
    """A term said with "a"/"an": "a plumber", "a tarot reading", not
    "a plumbing", "a gutters", "an astrology"."""
    last = term.lower().split()[-1]
    if term.lower() in UNCOUNTED or last in UNCOUNTED or " and " in term:
        return False
    if last.endswith("ing") and last != "reading":
        return False
    if last.endswith("ology") or last == "mice":
        return False
    return not (last.endswith("s") and not last.endswith("ss"))


def article(term: str) -> str:
    word = term.lower()
    if word.startswith(("uni", "use", "eu", "one")):
        return "a"
    if word.startswith(("hvac", "hour", "honest", "ent ")) or word == "ent":
        return "an"
    return "an" if word[:1] in "aeiou" else "a"


def plural(term: str) -> str:
    if re.search(r"(s|x|ch|sh)$", term):
        return term + "es"
    if re.search(r"[^aeiou]y$", term):
        return term[:-1] + "ies"
    return term + "s"


def vocabulary() -> list[str]:
    """Words for the kind in a request: every kind's countable words
    (``countable``: "a plumber", "a tarot reading", "a dentist")."""
    terms = [t for each in all_kinds() for t in each.words if countable(t)]
    return sorted(dict.fromkeys(terms))


# ------------------------------------------------------------- naming a kind

WORD = re.compile(r"[a-z]+")
SUFFIXES = ("ings", "ing", "ers", "er", "ies", "es", "ed", "s", "y", "e")


def stem(word: str) -> str:
    """A crude stem: "plumbers", "plumbing" and "plumber" are all "plumb"."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


@cache
def _same(word: str, term_word: str) -> bool:
    """The same word, in another form or with a typo ("plumbr", "electricain")."""
    if word == term_word or stem(word) == stem(term_word):
        return True
    shorter = min(len(word), len(term_word))
    allowed = 2 if shorter >= 8 else 1 if shorter >= 5 else 0
    if abs(len(word) - len(term_word)) > allowed:
        return False
    return allowed > 0 and _distance(word, term_word) <= allowed


def names(text: str, kind_: Kind) -> bool:
    """Whether the text names the kind: any of its terms, in any form, with
    typos. Errs on the side of yes (leaving out is then stricter)."""
    words = WORD.findall(text.lower())
    for term in kind_.terms:
        parts = WORD.findall(term)
        for start in range(len(words) - len(parts) + 1):
            if all(_same(words[start + k], p) for k, p in enumerate(parts)):
                return True
    return False


# ------------------------------------------------------------ SGD's kind spans

MODIFIERS = ("unisex", "cosmetic")


@cache
def _sgd_pattern() -> re.Pattern:
    words = sorted(
        {w for k in SGD_KINDS for w in (*k.words, "saloon", "slon")},
        key=len,
        reverse=True,
    )
    forms = "|".join(re.escape(w) + "(?:e?s)?" for w in words)
    modifier = "|".join(MODIFIERS)
    return re.compile(rf"\b(?:(?:{modifier})\s+)?(?:{forms})\b", re.I)


def need_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the kinds of provider an SGD turn names ("a
    [unisex salon]", "an [ENT Specialist]"); words inside a provider's name
    ("Atelier Salon Willow Glen") are not a kind."""
    spans = []
    for match in _sgd_pattern().finditer(text):
        before = text[: match.start()].rstrip().split()
        previous = before[-1] if before else ""
        named = previous[:1].isupper() and len(before) > 1 and previous != "ENT"
        if named and previous.lower() not in ("a", "an", "the", "i"):
            continue  # "Supercuts Salon": part of a name
        spans.append((match.start(), match.end()))
    return spans


# ------------------------------------------------------------ varying the kind

ARTICLE_BEFORE = re.compile(r"\b([Aa]n?)(\s+)$")


def substitute(text: str, span: tuple[int, int], term: str) -> tuple[str, int, int]:
    """The text with the words at ``span`` replaced by ``term`` (plural if
    they were, capitalised as they were, "a"/"an" before it made to fit):
    the new text and the term's span in it."""
    start, end = span
    said = text[start:end]
    last = said.split()[-1].lower()
    was_plural = last.endswith("s") and not last.endswith("ss")
    new = plural(term) if was_plural else term
    if said[:1].isupper():
        new = " ".join(w[:1].upper() + w[1:] for w in new.split())
    if said.isupper() and len(said) > 1:
        new = new.upper()
    head = text[:start]
    found = ARTICLE_BEFORE.search(head)
    if found and not was_plural:
        a = article(new)
        a = a.capitalize() if found[1][0].isupper() else a
        head = head[: found.start(1)] + a + found[2]
    out = head + new + text[end:]
    return out, len(head), len(head) + len(new)


def varied(
    text: str, entities: list[dict], words: list[str], rng: random.Random
) -> tuple[str, list[dict]]:
    """The text with the kind of each ``need`` entity replaced by a word
    drawn from ``words`` (never the same word); every entity's span moved to
    match. Entities are ``{"start", "end", "entity"}``."""
    out = text
    moved = [dict(e) for e in sorted(entities, key=lambda e: e["start"])]
    for i, entity in enumerate(moved):
        if entity["entity"] != "need":
            continue
        said = out[entity["start"] : entity["end"]].lower()
        term = rng.choice([w for w in words if w.lower() != said] or words)
        before = len(out)
        out, a, b = substitute(out, (entity["start"], entity["end"]), term)
        entity["start"], entity["end"] = a, b
        for later in moved[i + 1 :]:  # every change is before the later spans
            later["start"] += len(out) - before
            later["end"] += len(out) - before
    for entity in moved:
        entity["value"] = out[entity["start"] : entity["end"]]
    return out, moved
