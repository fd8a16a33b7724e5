"""The attested Arabic words and names that decide clitic stripping (analysis v3).

A leading و ف ب ك ل is a clitic in وفرنسا and a root letter in فرنسا, فترة, بلد; no rule over
letters alone can tell them apart, a lexicon can. The words come from well-kept packages, never
from the archive being indexed, so a word's stem never depends on what else was indexed:

- ``arramooz``: pyarabic's author's Arabic dictionary (nouns, verbs) and its word-frequency list
  of a news corpus, whose proper nouns (``noun_prop``: لبنان، باريس، بوتين …) are the names;
- ``cldr``: Unicode CLDR's Arabic names of countries, regions, languages and time-zone cities,
  through ``babel``.

``Lexicon`` holds them as raw spellings; ``archive.analysis`` normalizes them with its own rules.
``fingerprint`` is part of the analysis version, so another lexicon forces a rebuild.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pyarabic.araby as araby

Source = str  # "arramooz-nouns" | "arramooz-verbs" | "arramooz-freq" | "cldr"
SOURCES: tuple[Source, ...] = ("arramooz-nouns", "arramooz-verbs", "arramooz-freq", "cldr")

_HAMZA_ALEFS = "أإآ"


@dataclass(frozen=True)
class Lexicon:
    """Raw (unvocalized, unnormalized) spellings: ``words`` attested as Arabic words, ``names``
    attested as one-word proper names (a subset of what stripping must leave whole),
    ``feminable`` the masculine nouns and adjectives whose feminine adds ة (كبير -> كبيرة)."""

    words: frozenset[str]
    names: frozenset[str]
    feminable: frozenset[str]
    sources: tuple[Source, ...]

    @property
    def fingerprint(self) -> str:
        """A short digest of the contents: stems change exactly when this does."""
        h = hashlib.sha256()
        for w in sorted(self.words):
            h.update(w.encode() + b"\n")
        for part in (self.names, self.feminable):
            h.update(b"--\n")
            for w in sorted(part):
                h.update(w.encode() + b"\n")
        return h.hexdigest()[:10]


def _arramooz_db(name: str) -> sqlite3.Connection:
    path = resources.files("arramooz") / "data" / name
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _keep(word: str) -> bool:
    """A lexicon entry worth keeping: one Arabic word, and not a definite form (الوزير would make
    the article look like part of the word) unless its alef carries a hamza (ألمانيا، إلهام)."""
    if not word or " " in word or len(word) < 2 or not all("\u0621" <= c <= "\u064a" for c in word):
        return False
    return not word.startswith("ال") or word[0] in _HAMZA_ALEFS


def feminable_nouns() -> set[str]:
    """arramooz's masculine nouns and adjectives marked as taking a feminine ة."""
    with _arramooz_db("arabicdictionary.sqlite") as db:
        return {w for (w,) in db.execute("SELECT unvocalized FROM nouns WHERE feminable = 1")}


def _arramooz(source: Source) -> tuple[set[str], set[str], set[str]]:
    """(words, names, common) of one arramooz source. Only the frequency list tells names: a
    spelling that its news corpus tags more often as a proper noun than as anything else is a
    name (لبنان, بوتين, علي, البحرين's بحرين); one used more often otherwise (مدينة, فيما) is
    ``common``, never a name. The dictionaries only attest words."""
    words: set[str] = set()
    if source == "arramooz-nouns":
        with _arramooz_db("arabicdictionary.sqlite") as db:
            for row in db.execute("SELECT unvocalized, feminin, masculin, single FROM nouns"):
                words.update(w.strip() for w in row if w)
        return words, set(), set()
    if source == "arramooz-verbs":
        with _arramooz_db("arabicdictionary.sqlite") as db:
            words.update(w for (w,) in db.execute("SELECT unvocalized FROM verbs"))
        return words, set(), set()
    as_name: dict[str, int] = {}
    as_other: dict[str, int] = {}
    with _arramooz_db("wordfreq.sqlite") as db:
        for word, kind, freq in db.execute("SELECT unvocalized, word_type, freq FROM wordfreq"):
            counts = as_name if kind == "noun_prop" else as_other
            counts[word] = counts.get(word, 0) + freq
    names = {w for w, n in as_name.items() if n >= as_other.get(w, 0)}
    return set(as_name) | set(as_other), names, set(as_other) - names


def _cldr() -> tuple[set[str], set[str], set[str]]:
    """CLDR's Arabic place and language names: one-word names are names; every word of a longer
    name (كوريا الشمالية) is attested, and a definite name is also attested without ال."""
    from babel import localedata

    data = localedata.load("ar")
    phrases = list(data["territories"].values()) + list(data["languages"].values())
    phrases += [z["city"] for z in data["time_zones"].values() if "city" in z]
    words: set[str] = set()
    names: set[str] = set()
    for phrase in phrases:
        parts = araby.strip_tashkeel(phrase).replace("-", " ").split()
        for part in parts:
            bare = part[2:] if part.startswith("ال") and len(part) > 4 else part
            (names if len(parts) == 1 else words).update((part, bare))
    return words, names, set()


@lru_cache(maxsize=8)
def load(sources: tuple[Source, ...] = SOURCES) -> Lexicon:
    """The lexicon of the given sources (cached: about 80,000 spellings, read once a process)."""
    words: set[str] = set()
    names: set[str] = set()
    common: set[str] = set()
    for source in sources:
        if source not in SOURCES:
            raise ValueError(f"unknown lexicon source {source!r} (known: {', '.join(SOURCES)})")
        w, n, c = _cldr() if source == "cldr" else _arramooz(source)
        words |= w | n
        names |= n
        common |= c
    words = {w for w in words if _keep(w)}
    names = {n for n in names if _keep(n)} - common
    feminable = feminable_nouns() & words if "arramooz-nouns" in sources else set()
    return Lexicon(frozenset(words), frozenset(names), frozenset(feminable), sources)
